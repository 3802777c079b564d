"""Three-way merge of state trees in a store (Merkle trees of nodes, chunked containers).

The merge itself is algo.merge.Merger's; TreeMerger tells it what a child is here: a Ref
to a stored node (compared by id, taken whole where the sides that matter agree, so the
cost follows the change) or an inline value. Chunked containers on all three sides merge
through their chunk ids (algo.chunkmerge). ``merge_trees`` returns the merged tree's root
and the new nodes, conflicts settled as ours in the tree; ``apply_resolutions`` settles
reported conflicts by values or Sides afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..model.chunks.views import ChunkedArray, ChunkedObject, plain_children
from ..model.missing import MISSING
from ..model.objects import Ref
from ..model.pointer import parse_pointer
from ..model.tree import LayeredSource, NodeSource, child_at, child_token, materialize, view, write_tree
from .conflicts import Conflict, Side
from .diff import same_or_missing
from .merge import Merger, check_strategy, resolve_conflict
from .policies import PolicyRule, parse_policies


@dataclass(frozen=True)
class TreeMerge:
    """A merge on trees: the merged tree (possibly with conflicts settled as ours)."""

    root: str
    objects: dict[str, bytes]
    conflicts: list[Conflict]


class TreeMerger(Merger):
    """A Merger over children read from ``source``: Refs to stored nodes, or inline values."""

    def __init__(self, source: NodeSource, strategy: str, rules: list[PolicyRule]) -> None:
        super().__init__(strategy, rules)
        #: Nodes written while merging (edited chunked containers), seen by ``source``.
        self.objects: dict[str, bytes] = {}
        self.source = LayeredSource(source, self.objects)

    def _view(self, child: Any) -> tuple[str, Any]:
        return view(self.source, child)

    def _token(self, child: Any) -> str:
        return child_token(child)

    def _same(self, a: Any, b: Any) -> bool:
        return same_or_missing(a, b)

    def _plain(self, child: Any) -> Any:
        if child is MISSING:
            return MISSING
        if isinstance(child, list):  # a list of children
            return [materialize(self.source, c) for c in child]
        return materialize(self.source, child)

    def _children(self, contents: Any) -> Any:
        return plain_children(contents)

    def _merge_object_views(self, vb: Any, vo: Any, vt: Any, path: list, conflicts: list[Conflict]) -> Any:
        if type(vb) is type(vo) is type(vt) is ChunkedObject:
            from .chunkmerge import merge_chunked_objects

            return merge_chunked_objects(self, vb, vo, vt, path, conflicts)
        return self._merge_objects(plain_children(vb), plain_children(vo), plain_children(vt), path, conflicts)

    def _merge_array_views(self, vb: Any, vo: Any, vt: Any, path: list, conflicts: list[Conflict]) -> Any:
        if type(vb) is type(vo) is type(vt) is ChunkedArray:
            from .chunkmerge import merge_chunked_arrays

            return merge_chunked_arrays(self, vb, vo, vt, path, conflicts)
        return self._merge_arrays(plain_children(vb), plain_children(vo), plain_children(vt), path, conflicts)


def merge_trees(
    source: NodeSource,
    base: str | None,
    ours: str,
    theirs: str,
    strategy: str = "merge",
    policies: Mapping[str, str] | None = None,
    paths: list[str] | None = None,
) -> TreeMerge:
    """Merge three state trees readable from ``source``; conflicts are settled as ours in the tree.

    With ``paths``, only those subtrees are merged; everything else stays as in ``ours``.
    """
    check_strategy(strategy)
    merger = TreeMerger(source, strategy, parse_policies(policies))
    b = Ref(base) if base else MISSING
    if paths is None:
        merged, conflicts = merger.merge(b, Ref(ours), Ref(theirs), [])
        root, objects = write_tree(merged)
        return TreeMerge(root, _reachable_new(root, {**merger.objects, **objects}), conflicts)
    conflicts: list[Conflict] = []
    objects: dict[str, bytes] = {}
    root = ours
    for pointer in paths:
        tokens = list(parse_pointer(pointer))
        sub_b = child_at(merger.source, b, tokens)
        sub_o = child_at(merger.source, Ref(root), tokens)
        sub_t = child_at(merger.source, Ref(theirs), tokens)
        merged, found = merger.merge(sub_b, sub_o, sub_t, tokens)
        conflicts += found
        from ..model.treegraft import graft

        root, objs = graft(merger.source, root, tokens, merged)
        objects.update(objs)
        if objs:
            merger.source = LayeredSource(merger.source, objs)
    return TreeMerge(root, _reachable_new(root, {**merger.objects, **objects}), conflicts)


def apply_resolutions(source: NodeSource, root: str, conflicts: list[Conflict],
                      resolutions: Mapping[str, Any], policies: Mapping[str, str] | None = None,
                      ) -> tuple[str, dict[str, bytes], list[Conflict]]:
    """Settle conflicts whose pointer is in ``resolutions``: a value, MISSING (delete) or a
    Side (see resolve_conflict; ``policies`` are the merge's). Returns the new root, new
    objects and the conflicts left."""
    from ..model.canonical import validate
    from ..model.treegraft import graft

    objects: dict[str, bytes] = {}
    left = []
    known = {c.path for c in conflicts}
    for pointer in resolutions:
        if pointer not in known:
            raise ValueError(f"no conflict at {pointer or '/'} to resolve")
    settled = [p for p in resolutions]
    for conflict in conflicts:
        if conflict.path not in resolutions:
            # A conflict inside a resolved value is settled with it.
            if not any(conflict.path.startswith(p + "/") or p == "" for p in settled):
                left.append(conflict)
            continue
        value = resolutions[conflict.path]
        if isinstance(value, Side):
            value = resolve_conflict(conflict, value, policies)
        elif value is not MISSING:
            validate(value)
        root, objs = graft(source, root, list(parse_pointer(conflict.path)), value)
        objects.update(objs)
        source = LayeredSource(source, objs)
    return root, objects, left


def _reachable_new(root: str, objects: dict[str, bytes]) -> dict[str, bytes]:
    from ..model.treegraft import reachable_new

    return reachable_new(root, objects)


__all__ = ["TreeMerge", "TreeMerger", "merge_trees", "apply_resolutions"]
