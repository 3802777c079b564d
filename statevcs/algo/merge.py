"""Three-way merge of JSON values, on Merkle trees.

``merge3(base, ours, theirs)`` merges objects key by key, arrays with a diff3 over
element identities (as git merges lines), scalars by value with types. Where both
sides changed the same thing differently, per-path policies decide first (union,
keyed:FIELD, atomic, ours, theirs, counter); what still overlaps is a Conflict, settled
by the strategy: ``merge`` reports it, ``source_wins`` takes theirs, ``target_wins``
takes ours. Conflicts are data, never exceptions. Subtrees whose ids are equal on the
sides that matter are taken whole without being read, so the cost follows the change.
Chunked containers (format 2) on all three sides merge through chunk ids: objects take
the key changes base->each side (model.chunks.diff) and apply them to ours' chunks;
arrays run diff3 only inside the windows where a side differs from the base.
``resolve_conflict`` settles a reported conflict by a Side afterwards; for an array it
merges again so that the side applies to the overlapping regions only.

This module merges plain JSON values (``merge3``, git's merge driver) and loads nothing
for stored trees; algo.treemerge extends the same Merger to trees in a store (Refs,
chunked containers) for ``merge_trees``.

"ours" is the target (the branch merged into), "theirs" the source being merged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConflictResolutionError
from ..model import plain
from ..model.canonical import JSONValue, validate
from ..model.missing import MISSING
from ..model.pointer import format_pointer, parse_pointer
from .conflicts import (
    ADD_ADD,
    ARRAY,
    BASE,
    BOTH,
    DELETE_MODIFY,
    MODIFY_MODIFY,
    OURS,
    STRATEGIES,
    THEIRS,
    TYPE,
    Conflict,
    Side,
)
from .diff3 import combine_region, diff3
from .policies import POLICIES, PolicyRule, parse_attributes, parse_policies

#: The strategy a side resolution re-merges an array conflict with ("base_wins" and "both"
#: are internal: they exist only to settle conflicts already reported).
_SIDE_STRATEGY = {OURS: "target_wins", THEIRS: "source_wins", BASE: "base_wins", BOTH: "both"}


@dataclass(frozen=True)
class MergeResult:
    """The merged value, what still conflicts, and the patch from ours to the result."""

    value: Any
    conflicts: list[Conflict]
    patch: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.conflicts


# ---------------------------------------------------------------- public API


def merge3(
    base: JSONValue,
    ours: JSONValue,
    theirs: JSONValue,
    strategy: str = "merge",
    policies: Mapping[str, str] | None = None,
) -> MergeResult:
    """Three-way merge of plain JSON values (``base`` may be MISSING for unrelated sides)."""
    value, conflicts = merge_values(base, ours, theirs, strategy, policies)
    from .diff import diff_values

    return MergeResult(value, conflicts, [c.as_patch_op() for c in diff_values(ours, value)])


def merge_values(
    base: JSONValue,
    ours: JSONValue,
    theirs: JSONValue,
    strategy: str = "merge",
    policies: Mapping[str, str] | None = None,
) -> tuple[JSONValue, list[Conflict]]:
    """``merge3`` without the patch: the merged value (a fresh copy; None where nothing is
    left) and the conflicts. What git's merge driver runs."""
    check_strategy(strategy)
    for value in (base, ours, theirs):
        if value is not MISSING:
            validate(value)
    merged, conflicts = Merger(strategy, parse_policies(policies)).merge(base, ours, theirs, [])
    return (None if merged is MISSING else plain.copy(merged)), conflicts


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown merge strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


# ---------------------------------------------------------------- the merge


class Merger:
    """One merge of plain JSON values: the strategy and the policies.

    The children it merges are what ``_view`` and the other child methods below say they
    are; here plain values. algo.treemerge.TreeMerger overrides them for stored trees, so
    the merge itself is written once."""

    def __init__(self, strategy: str, rules: list[PolicyRule]) -> None:
        self.strategy = strategy
        self.rules = rules

    # ------------------------------------------------------------ children (plain values here)

    def _view(self, child: Any) -> tuple[str, Any]:
        return plain.view(child)

    def _token(self, child: Any) -> str:
        return plain.token(child)

    def _same(self, a: Any, b: Any) -> bool:
        """Equal children (MISSING equals only MISSING)."""
        if a is MISSING or b is MISSING:
            return a is b
        return plain.same(a, b)

    def _plain(self, child: Any) -> Any:
        """A child (or a list of children) as a fresh plain value, for a Conflict."""
        return plain.copy(child)

    def _children(self, contents: Any) -> Any:
        """A view's contents as a plain dict or list of children."""
        return contents

    def _merge_object_views(self, vb: Any, vo: Any, vt: Any, path: list, conflicts: list[Conflict]) -> Any:
        return self._merge_objects(vb, vo, vt, path, conflicts)

    def _merge_array_views(self, vb: Any, vo: Any, vt: Any, path: list, conflicts: list[Conflict]) -> Any:
        return self._merge_arrays(vb, vo, vt, path, conflicts)

    # ------------------------------------------------------------ the merge

    def merge(self, b: Any, o: Any, t: Any, path: list) -> tuple[Any, list[Conflict]]:
        """Merge three children (Ref, inline value or MISSING); returns (merged child, conflicts)."""
        conflicts: list[Conflict] = []
        return self._merge(b, o, t, path, conflicts), conflicts

    def _policy(self, path: list) -> str | None:
        if not self.rules:
            return None
        pointer = format_pointer(path)
        for rule in self.rules:
            if rule.matches(pointer):
                return rule.policy
        return None

    def _merge(self, b: Any, o: Any, t: Any, path: list, conflicts: list[Conflict]) -> Any:
        if self._same(b, o):
            return t
        if self._same(b, t):
            return o
        policy = self._policy(path)
        if policy != "counter" and self._same(o, t):  # the same change on both sides (a counter adds both)
            return o
        if policy is not None:
            settled = self._apply_policy(policy, b, o, t, path, conflicts)
            if settled is not _UNSETTLED:
                return settled
            if policy == "atomic":
                return self._conflict(b, o, t, path, conflicts)
        if o is MISSING or t is MISSING:
            return self._conflict(b, o, t, path, conflicts)
        ko, vo = self._view(o)
        kt, vt = self._view(t)
        kb, vb = self._view(b) if b is not MISSING else (None, None)
        if ko == kt == "object" and kb == "object":
            return self._merge_object_views(vb, vo, vt, path, conflicts)
        if ko == kt == "array" and kb == "array":
            return self._merge_array_views(vb, vo, vt, path, conflicts)
        return self._conflict(b, o, t, path, conflicts)

    def _merge_objects(self, vb: dict, vo: dict, vt: dict, path: list, conflicts: list[Conflict]) -> dict:
        out: dict[str, Any] = {}
        for key in sorted(vb.keys() | vo.keys() | vt.keys()):
            merged = self._merge(vb.get(key, MISSING), vo.get(key, MISSING), vt.get(key, MISSING), path + [key],
                                 conflicts)
            if merged is not MISSING:
                out[key] = merged
        return out

    # ------------------------------------------------------------ arrays

    def _merge_arrays(self, vb: list, vo: list, vt: list, path: list, conflicts: list[Conflict],
                      union: bool = False, at: int = 0, offsets: tuple[int, int] = (0, 0),
                      regions_out: list | None = None) -> list:
        """diff3 of three item lists; ``at`` is the merged array's index of the first item out
        (for paths), ``offsets`` ours' and theirs' indices of vo[0], vt[0] (for conflict
        ranges); with ``regions_out`` overlapping regions go there instead of a Conflict."""
        tb = [self._token(c) for c in vb]
        to = [self._token(c) for c in vo]
        tt = [self._token(c) for c in vt]
        out: list[Any] = []
        regions: list[tuple[int, int, int, int]] = []
        for kind, (b0, b1), (o0, o1), (t0, t1) in diff3(tb, to, tt):
            if kind == "stable":
                out.extend(vo[o0:o1])
                continue
            bs, os_, ts = tb[b0:b1], to[o0:o1], tt[t0:t1]
            if os_ == bs:
                out.extend(vt[t0:t1])
            elif ts == bs or os_ == ts:
                out.extend(vo[o0:o1])
            elif union:
                out.extend(_pick(combine_region(bs, os_, ts, dedupe=True), vo[o0:o1], vt[t0:t1]))
            elif b1 - b0 == o1 - o0 == t1 - t0 == 1:
                # One element replaced on both sides: merge the element itself.
                if self.strategy != "both":
                    out.append(self._merge(vb[b0], vo[o0], vt[t0], path + [at + len(out)], conflicts))
                    continue
                inner: list[Conflict] = []
                merged = self._merge(vb[b0], vo[o0], vt[t0], path + [at + len(out)], inner)
                # What BOTH cannot settle inside the element makes it an overlapping region.
                out.extend([vo[o0], vt[t0]] if inner else [merged])
            elif self.strategy == "source_wins":
                out.extend(vt[t0:t1])
            elif self.strategy == "target_wins":
                out.extend(vo[o0:o1])
            elif self.strategy == "base_wins":
                out.extend(vb[b0:b1])
            elif self.strategy == "both":
                out.extend(_pick(combine_region(bs, os_, ts, dedupe=False), vo[o0:o1], vt[t0:t1]))
            else:
                regions.append((o0 + offsets[0], o1 + offsets[0], t0 + offsets[1], t1 + offsets[1]))
                out.extend(vo[o0:o1])
        if regions_out is not None:
            regions_out += regions
        elif regions:
            conflicts.append(Conflict(format_pointer(path), self._plain(vb), self._plain(vo), self._plain(vt), ARRAY,
                                      tuple(regions)))
        return out

    def _merge_keyed(self, field_name: str, b: Any, o: Any, t: Any, path: list, conflicts: list[Conflict]) -> Any:
        kinds = [self._view(x) if x is not MISSING else ("array", []) for x in (b, o, t)]
        if any(k != "array" for k, _ in kinds):
            return _UNSETTLED
        sides = []
        for _, items in kinds:
            keyed: dict[Any, Any] = {}
            order = []
            for item in items:
                key_child = self._identity(item, field_name)
                if key_child is MISSING:
                    return _UNSETTLED
                key = self._token(key_child)
                if key in keyed:
                    return _UNSETTLED  # duplicate identities: not a keyed list
                keyed[key] = item
                order.append(key)
            sides.append((keyed, order))
        (kb, ob), (ko, oo), (kt, ot) = sides
        # Order: a three-way merge of the identity sequences (reorders on one side win);
        # overlapping reorders keep ours, with theirs' new items after.
        order: list[str] = []
        seen: set[str] = set()
        for kind, (b0, b1), (o0, o1), (t0, t1) in diff3(ob, oo, ot):
            if kind == "stable":
                chunk = oo[o0:o1]
            elif oo[o0:o1] == ob[b0:b1]:
                chunk = ot[t0:t1]
            elif ot[t0:t1] == ob[b0:b1] or oo[o0:o1] == ot[t0:t1]:
                chunk = oo[o0:o1]
            else:
                chunk = oo[o0:o1] + [k for k in ot[t0:t1] if k not in oo[o0:o1]]
            for key in chunk:
                if key not in seen:
                    seen.add(key)
                    order.append(key)
        # Items deleted on one side but kept (or edited) on the other come back where they were.
        for key in oo + ot:
            if key not in seen and key in kb and (key in ko) != (key in kt):
                seen.add(key)
                order.append(key)
        out: list[Any] = []
        for key in order:
            merged = self._merge(kb.get(key, MISSING), ko.get(key, MISSING), kt.get(key, MISSING),
                                 path + [len(out)], conflicts)
            if merged is not MISSING:
                out.append(merged)
        return out

    def _identity(self, item: Any, field_name: str) -> Any:
        """An item's identity for ``keyed:FIELD``: its key FIELD, or the value at FIELD when
        FIELD is a JSON Pointer into the item (``keyed:/kwargs/id``); MISSING if it has none."""
        tokens = parse_pointer(field_name) if field_name.startswith("/") else (field_name,)
        child = item
        for token in tokens:
            kind, contents = self._view(child)
            if kind == "object" and token in contents:
                child = contents[token]
            elif kind == "array" and token.isdigit() and int(token) < len(contents):
                child = contents[int(token)]
            else:
                return MISSING
        return child

    # ------------------------------------------------------------ policies and conflicts

    def _apply_policy(self, policy: str, b: Any, o: Any, t: Any, path: list, conflicts: list[Conflict]) -> Any:
        if policy == "ours":
            return o
        if policy == "theirs":
            return t
        if policy == "atomic":
            return _UNSETTLED
        if policy == "counter":
            values = [self._plain(x) for x in (b, o, t)]
            nb = 0 if values[0] is MISSING else values[0]
            if all(type(v) in (int, float) for v in (nb, values[1], values[2])):
                return nb + (values[1] - nb) + (values[2] - nb)
            return _UNSETTLED
        if policy == "union":
            if o is MISSING or t is MISSING:
                return _UNSETTLED
            kinds = [self._view(x) if x is not MISSING else ("array", []) for x in (b, o, t)]
            if all(k == "array" for k, _ in kinds):
                return self._merge_arrays(*(self._children(c) for _, c in kinds), path, conflicts, union=True)
            return _UNSETTLED
        if policy.startswith("keyed:"):
            if o is MISSING or t is MISSING:
                return _UNSETTLED
            return self._merge_keyed(policy[len("keyed:"):], b, o, t, path, conflicts)
        return _UNSETTLED

    def _conflict(self, b: Any, o: Any, t: Any, path: list, conflicts: list[Conflict]) -> Any:
        if self.strategy == "source_wins":
            return t
        if self.strategy == "target_wins":
            return o
        if self.strategy == "base_wins":
            return b
        conflicts.append(Conflict(format_pointer(path), self._plain(b), self._plain(o), self._plain(t),
                                  self._conflict_kind(b, o, t)))
        return o

    def _conflict_kind(self, b: Any, o: Any, t: Any) -> str:
        if b is MISSING and o is not MISSING and t is not MISSING:
            return ADD_ADD
        if o is MISSING or t is MISSING:
            return DELETE_MODIFY
        kinds = {self._view(x)[0] for x in (o, t)} | ({self._view(b)[0]} if b is not MISSING else set())
        return TYPE if len(kinds) > 1 else MODIFY_MODIFY


_UNSETTLED = object()


def _pick(picks: list[tuple[int, int]], ours: list, theirs: list) -> list:
    return [(ours, theirs)[side][i] for side, i in picks]


def resolve_conflict(conflict: Conflict, side: Side, policies: Mapping[str, str] | None = None) -> Any:
    """The value that settles ``conflict`` by ``side`` (MISSING: remove the value).

    For an ``array`` conflict the array is merged again with the side settling only the
    overlapping regions (OURS as ``target_wins``, THEIRS as ``source_wins``), so clean
    changes from both sides stay; ``policies`` must be the merge's, as paths are absolute.
    Other conflicts take that side's value; BOTH is refused for them.
    """
    if not isinstance(side, Side):
        raise TypeError(f"side must be OURS, THEIRS, BASE or BOTH, not {side!r}")
    where = conflict.path or "/"
    if conflict.kind != ARRAY:
        if side is BOTH:
            raise ConflictResolutionError(
                f"cannot keep both sides of the {conflict.kind} conflict at {where}: only array conflicts "
                "combine; take ours, theirs, base or a value")
        return getattr(conflict, side.value)
    sides = (conflict.base, conflict.ours, conflict.theirs)
    if not all(isinstance(x, list) for x in sides):
        raise ConflictResolutionError(f"the array conflict at {where} does not hold three arrays")
    for value in sides:
        validate(value)
    merger = Merger(_SIDE_STRATEGY[side], parse_policies(policies))
    merged, left = merger.merge(*sides, list(parse_pointer(conflict.path)))
    if left:  # cannot happen: each side strategy settles every overlap
        raise ConflictResolutionError(f"{side.value} left {len(left)} conflict(s) under {where}")
    return plain.copy(merged)


__all__ = [
    "Conflict", "MergeResult", "merge3", "merge_values", "diff3", "STRATEGIES", "POLICIES", "parse_attributes",
    "parse_policies", "resolve_conflict", "combine_region", "Side", "OURS", "THEIRS", "BASE", "BOTH",
]
