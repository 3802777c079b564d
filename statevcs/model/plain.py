"""Children that are plain JSON values: their kind and contents, identity, copy and equality.

A child in a tree is a Ref to a stored node or an inline JSON value (model.objects.Child).
These functions are the inline half; model.tree and algo.diff extend them to Refs. The
merge of plain values (``merge3``, git's merge driver) needs only this half, so it runs
without loading the modules for stored nodes and chunks (start-up of ``statevcs merge-file``).
"""

from __future__ import annotations

from typing import Any

from .canonical import canonical_str, loads, strict_equal

OBJECT, ARRAY, SCALAR = "object", "array", "scalar"


def view(value: Any) -> tuple[str, Any]:
    """(kind, contents): an object's dict, an array's list, or the scalar itself."""
    if isinstance(value, dict):
        return OBJECT, value
    if isinstance(value, list):
        return ARRAY, value
    return SCALAR, value


def token(value: Any) -> str:
    """An identity: equal tokens iff equal JSON values, types included (never a node id)."""
    return "=" + canonical_str(value)


def copy(value: Any) -> Any:
    """A fresh copy sharing nothing (inline values may live in cached nodes)."""
    if isinstance(value, (dict, list)):
        return loads(canonical_str(value))
    return value


def same(a: Any, b: Any) -> bool:
    """Equal values with types (``1 != True != 1.0``)."""
    if type(a) is not type(b) or a != b:  # C-speed; Python's == is looser, never stricter
        return False
    if isinstance(a, (dict, list)):  # == said equal: confirm with types (1 vs True vs 1.0)
        return canonical_str(a) == canonical_str(b)
    return strict_equal(a, b)
