"""Structural diff of two JSON values as RFC 6902 JSON Patch.

Works on Merkle trees and skips every subtree whose id is the same on both sides,
so the cost follows the size of the change. Objects diff key by key (keys in sorted
order), arrays element-wise over element identities (a longest-matching-blocks
alignment, as git aligns lines), scalars by value with types (``true`` != ``1``).
Output is deterministic: the same pair gives the same ops in every process.

Chunked containers (format 2) compare chunk ids first (model.chunks.diff): two chunked
objects give only the keys under differing chunks, two chunked arrays only the windows
where they differ, each aligned element-wise; a flat container against a chunked one is
compared as one window. A 10-change diff of a huge state reads O(changes x depth) nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model.canonical import JSONValue, strict_equal, validate
from ..model.chunks.diff import array_windows, object_changes
from ..model.chunks.views import ChunkedArray, ChunkedObject, plain_children
from ..model.missing import MISSING
from ..model.objects import Child, Ref
from ..model.plain import same as same_value
from ..model.pointer import format_pointer
from ..model.tree import (
    ARRAY,
    OBJECT,
    SCALAR,
    NodeSource,
    ObjectsSource,
    child_token,
    materialize,
    view,
)
from .align import align

_OBJECT, _ARRAY, _SCALAR = OBJECT, ARRAY, SCALAR


@dataclass(frozen=True)
class Change:
    """One patch operation with the value it replaces: ``old``/``new`` are MISSING where absent.

    ``path`` is in patch coordinates: it names the location at the moment the op applies.
    """

    op: str  # "add" | "remove" | "replace"
    path: str
    old: Any = MISSING
    new: Any = MISSING

    def as_patch_op(self) -> dict[str, Any]:
        if self.op == "remove":
            return {"op": "remove", "path": self.path}
        return {"op": self.op, "path": self.path, "value": self.new}


def diff(a: JSONValue, b: JSONValue) -> list[dict[str, Any]]:
    """RFC 6902 JSON Patch turning ``a`` into ``b``; applying it with any conforming tool gives ``b``."""
    return [c.as_patch_op() for c in diff_changes(a, b)]


def diff_changes(a: JSONValue, b: JSONValue) -> list[Change]:
    """Like :func:`diff`, with the old value of every change (for people to read)."""
    validate(a)
    validate(b)
    return diff_values(a, b)


def diff_values(a: JSONValue, b: JSONValue) -> list[Change]:
    """``diff_changes`` of two values already validated (what ``merge3`` reports as its patch)."""
    # Plain values are diffed as they are (as inline children): no tree needs building.
    return diff_children(_NO_NODES, a, b)


def diff_trees(source: NodeSource, root_a: str, root_b: str, prefix: tuple = ()) -> list[Change]:
    """Changes turning the tree ``root_a`` into ``root_b`` (both readable from ``source``)."""
    out: list[Change] = []
    _diff(source, Ref(root_a), Ref(root_b), list(prefix), out)
    return out


def diff_children(source: NodeSource, a: Child, b: Child, prefix: tuple = ()) -> list[Change]:
    """Changes between two children (inline values or Refs), under ``prefix``."""
    out: list[Change] = []
    _diff(source, a, b, list(prefix), out)
    return out


def same_child(a: Child, b: Child) -> bool:
    """Equal children: subtrees by id, inline values by value with types (1 != True != 1.0)."""
    ta, tb = type(a) is Ref, type(b) is Ref
    if ta and tb:
        return a.id == b.id
    if ta or tb:
        return False
    return same_value(a, b)


_NO_NODES = ObjectsSource({})


def _diff(source: NodeSource, a: Child, b: Child, path: list, out: list[Change]) -> None:
    if same_child(a, b):
        return
    kind_a, va = view(source, a)
    kind_b, vb = view(source, b)
    if kind_a == _OBJECT and kind_b == _OBJECT:
        if type(va) is ChunkedObject and type(vb) is ChunkedObject:
            for change in object_changes(source, va.id, vb.id):
                where = path + [change.key]
                if change.new is MISSING:
                    out.append(Change("remove", format_pointer(where), materialize(source, change.old)))
                elif change.old is MISSING:
                    out.append(Change("add", format_pointer(where), MISSING, materialize(source, change.new)))
                else:
                    _diff(source, change.old, change.new, where, out)
            return
        va, vb = plain_children(va), plain_children(vb)
        for key in sorted(va.keys() | vb.keys()):
            if key not in vb:
                out.append(Change("remove", format_pointer(path + [key]), materialize(source, va[key])))
            elif key not in va:
                out.append(Change("add", format_pointer(path + [key]), MISSING, materialize(source, vb[key])))
            else:
                _diff(source, va[key], vb[key], path + [key], out)
    elif kind_a == _ARRAY and kind_b == _ARRAY:
        if type(va) is ChunkedArray and type(vb) is ChunkedArray:
            for window in array_windows(source, va.id, vb.id):
                # Before a window both arrays hold the same items: b's positions apply there.
                _diff_arrays(source, list(window.a_items), list(window.b_items), path, out, window.b_start)
            return
        _diff_arrays(source, plain_children(va), plain_children(vb), path, out)
    elif kind_a == _SCALAR and kind_b == _SCALAR and strict_equal(va, vb):
        return
    else:
        out.append(Change("replace", format_pointer(path), materialize(source, a), materialize(source, b)))


def _diff_arrays(source: NodeSource, items_a: list, items_b: list, path: list, out: list[Change],
                 offset: int = 0) -> None:
    """Element-wise changes between two item lists that start at index ``offset`` of the patched array."""
    tokens_a = [child_token(c) for c in items_a]
    tokens_b = [child_token(c) for c in items_b]
    for tag, i1, i2, j1, j2 in align(tokens_a, tokens_b):
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for t in range(paired):  # a replaced run: edit element by element
            _diff(source, items_a[i1 + t], items_b[j1 + t], path + [offset + j1 + t], out)
        # Removals from the highest index down, so each path names the element removed.
        for t in range(i2 - i1 - 1, paired - 1, -1):
            out.append(Change("remove", format_pointer(path + [offset + j1 + t]), materialize(source, items_a[i1 + t])))
        for t in range(paired, j2 - j1):
            out.append(Change("add", format_pointer(path + [offset + j1 + t]), MISSING,
                              materialize(source, items_b[j1 + t])))


def same_or_missing(a: Any, b: Any) -> bool:
    """Equal children (MISSING equals only MISSING); subtrees compare by id, values with types."""
    if a is MISSING or b is MISSING:
        return a is b
    return same_child(a, b)
