"""Replacing the value at one path of a stored tree, rewriting only the nodes on that path.

Flat containers on the path are copied shallowly and written again; inside a chunked
container only the chunk holding the entry and its spine are rewritten (chunks/edit.py),
and a container an edit leaves small enough to be flat or inline is written so again,
so the result has exactly the ids a write of the whole value from scratch gives it.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidStateError
from ..limits import max_depth
from . import tree as _tree
from .canonical import nesting
from .chunks.edit import array_insert, array_remove, array_set, object_remove, object_set
from .chunks.format import OBJECT as CHUNKED_OBJECT
from .chunks.format import ChunkNode
from .chunks.views import chunk_params, is_chunked, plain_children
from .missing import MISSING
from .objects import Ref
from .pointer import format_pointer
from .tree import (
    OBJECT,
    SCALAR,
    LayeredSource,
    NodeSource,
    ObjectsSource,
    node_children,
    view,
    write_child,
    write_tree,
)


def graft(source: NodeSource, root: str, tokens: list[str], new: Any) -> tuple[str, dict[str, bytes]]:
    """The tree ``root`` with the value at ``tokens`` replaced by ``new`` (MISSING removes it).

    Missing parents are created as objects. Only the nodes on the path are rewritten; in a
    chunked container, only the chunk holding the entry and its spine (chunks/edit.py).
    InvalidStateError if the result would nest past the depth limit (it could not be read back).
    """
    limit = max_depth()
    if new is not MISSING and len(tokens) + nesting(new) > limit:
        raise InvalidStateError(f"nesting deeper than {limit} levels", format_pointer(tuple(tokens)))
    if not tokens:
        if new is MISSING:
            new = None
        return write_tree(new)
    objects: dict[str, bytes] = {}
    layered = LayeredSource(source, objects)
    value = _edit(layered, Ref(root), list(tokens), new, objects)
    top, written = write_tree(value)
    objects.update(written)
    return top, reachable_new(top, objects)


def _edit(source: NodeSource, child: Any, tokens: list[str], new: Any, objects: dict[str, bytes]) -> Any:
    """``child`` with the value at ``tokens`` replaced by ``new`` (MISSING removes it), as a
    value for write_tree (plain containers may hold Refs); new chunks go to ``objects``."""
    if not tokens:
        return new
    token, rest = tokens[0], tokens[1:]
    kind, contents = view(source, child) if child is not MISSING else (SCALAR, None)
    if kind == SCALAR:  # a missing or scalar parent becomes an object
        kind, contents = OBJECT, {}
    if is_chunked(contents):
        return _edit_chunked(source, contents, token, rest, new, objects)
    if kind == OBJECT:
        result: Any = dict(contents)
        if rest or new is not MISSING:
            result[token] = _edit(source, result.get(token, MISSING), rest, new, objects)
        else:
            result.pop(token, None)
        return result
    result = list(contents)
    index = int(token)
    if rest:
        result[index] = _edit(source, result[index], rest, new, objects)
    elif new is MISSING:
        del result[index]
    elif index == len(result):
        result.append(new)
    else:
        result[index] = new
    return result


def _edit_chunked(source: NodeSource, contents: Any, token: str, rest: list[str], new: Any,
                  objects: dict[str, bytes]) -> Any:
    """One entry of a chunked container edited in place: the leaf chunk and its spine are new."""
    params = chunk_params()
    oid = contents.id
    if contents.node.container == CHUNKED_OBJECT:
        if not rest and new is MISSING:
            if token not in contents:
                return Ref(oid)
            root, chunks = object_remove(source, oid, token, params)
        else:
            placed, written = write_child(_edit(source, contents.get(token, MISSING), rest, new, objects))
            objects.update(written)
            root, chunks = object_set(source, oid, token, placed, params)
    else:
        index = int(token)
        if not rest and new is MISSING:
            root, chunks = array_remove(source, oid, index, params)
        elif not rest and index == len(contents):
            placed, written = write_child(new)
            objects.update(written)
            root, chunks = array_insert(source, oid, index, placed, params)
        else:
            placed, written = write_child(_edit(source, contents[index] if rest else MISSING, rest, new, objects))
            objects.update(written)
            root, chunks = array_set(source, oid, index, placed, params)
    objects.update(chunks)
    return settle_chunked(source, root)


#: A chunked container with at most INLINE_LIMIT // this many entries may encode within
#: INLINE_LIMIT (each entry takes at least this many characters with its separator):
#: after an edit it is rebuilt by the writer's rule (a bounded cost).
_SETTLE_SHARE = 2


def settle_chunked(source: NodeSource, root: str) -> Any:
    """The child for a chunked container an edit produced: Ref(root), or, when it may now be
    small enough to be flat or inline (one leaf chunk, or few entries), its children as a
    plain dict/list for write_tree to place by the usual rule (same ids as a fresh write)."""
    node = source.node(root)
    if type(node) is not ChunkNode or (node.height and node.count > _tree.INLINE_LIMIT // _SETTLE_SHARE):
        return Ref(root)
    return plain_children(view(source, Ref(root))[1])


def reachable_new(root: str, objects: dict[str, bytes]) -> dict[str, bytes]:
    """The nodes of ``objects`` reachable from ``root`` through nodes of ``objects`` only:
    what to store of a write (edits leave behind chunks that a later edit replaced)."""
    keep: dict[str, bytes] = {}
    nodes = ObjectsSource(objects)
    stack = [root]
    while stack:
        oid = stack.pop()
        raw = objects.get(oid)
        if raw is None or oid in keep:
            continue
        keep[oid] = raw
        kids = node_children(nodes.node(oid))
        if kids is not None:
            stack.extend(c.id for c in (kids.values() if isinstance(kids, dict) else kids) if type(c) is Ref)
    return keep
