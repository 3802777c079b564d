"""Edits of a stored state tree that read and rewrite only the nodes on the edited paths.

A :class:`TreeEditor` starts from a root node id and applies RFC 6902-style operations
(add, replace, remove, set, append) one at a time. Each one reads the containers on its
path (``tree.view``-style for flat ``obj1``/``arr1`` nodes, ``chunks.read`` for chunked
ones), rewrites the container holding the target (a shallow copy of a flat node, or a
``chunks.edit`` splice of a chunked one) and then each ancestor, up to a new root. Nothing
else is read or encoded, so an edit costs the size of the nodes on its path, not the size
of the state. New nodes go to ``fresh``; :meth:`TreeEditor.objects` keeps those the final
root reaches.

The result is the tree ``write_tree`` would make of the edited value (same ids): a
container goes inline or becomes a node by the same rule, and a chunked container that
shrinks to a single leaf chunk is written flat again.

Nothing read from the source is ever mutated (cached nodes are shared): every changed
container is a fresh shallow copy, and values handed out are fresh copies.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import InvalidStateError, PathNotFoundError
from ..limits import max_depth
from . import tree as _tree
from .canonical import canonical_bytes, canonical_str, loads, nesting, validate
from .chunks.build import DEFAULT_PARAMS, ChunkParams
from .chunks.edit import array_append, array_insert, array_remove, array_set, object_remove, object_set
from .chunks.format import ARRAY as CHUNK_ARRAY
from .chunks.format import CHUNK_KINDS, chunk_links
from .chunks.read import ChunkReader, array_get, iter_entries, object_get
from .missing import MISSING
from .nodes import child_ids
from .objects import ArrayNode, Child, ObjectNode, Ref
from .pointer import format_pointer
from .tree import LayeredSource, NodeSource, write_tree

try:  # the chunk parameters the tree writer uses (chunks/views.py, with the chunked-tree wiring)
    from .chunks.views import chunk_params as _writer_params
except ImportError:  # pragma: no cover - before the wiring lands the writer makes no chunks
    def _writer_params() -> ChunkParams:
        return DEFAULT_PARAMS

OBJECT, ARRAY = "object", "array"

_SCALARS = frozenset((str, int, float, bool, type(None)))


class _Frame:
    """A container on an edited path: flat (its children, never mutated) or chunked (its root id)."""

    __slots__ = ("kind", "children", "chunk", "count")

    def __init__(self, kind: str, children: Any = None, chunk: str | None = None, count: int = 0) -> None:
        self.kind = kind
        self.children = children
        self.chunk = chunk
        self.count = len(children) if chunk is None else count


class TreeEditor:
    """Applies edits to the state tree rooted at ``root``; ``root`` always names the result so far.

    ``source`` reads stored nodes; ``fresh`` (optional) holds nodes not stored yet that
    ``root`` may need (an unborn branch's ``{}``). ``params`` are the chunking parameters
    of chunked containers met on the way (default: the tree writer's)."""

    def __init__(self, source: NodeSource, root: str, fresh: dict[str, bytes] | None = None,
                 params: ChunkParams | None = None) -> None:
        self.fresh: dict[str, bytes] = dict(fresh or {})
        # What each write made: its root -> (the ids it wrote, ids of older nodes it links to),
        # so the nodes a root reaches are found without decoding anything again.
        self._made: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.source = LayeredSource(source, self.fresh)
        self.root = root
        self.params = params if params is not None else _writer_params()

    # ---------------------------------------------------------------- reading
    def child(self, tokens: tuple[str, ...]) -> Child:
        """The child at ``tokens`` (a Ref or an inline value); PathNotFoundError if absent."""
        current: Child = Ref(self.root)
        for depth, token in enumerate(tokens):
            frame = self._frame(current)
            if frame is None:
                raise _into_scalar(tokens, depth)
            current = self._get(frame, token, tokens, depth)
        return current

    def value(self, child: Child) -> Any:
        """A child as a fresh plain JSON value (reads its whole subtree)."""
        if type(child) is not Ref:
            return loads(canonical_str(child)) if isinstance(child, (dict, list)) else child
        raw = self.source.raw(child.id)
        if raw[: raw.find(b" ")] in CHUNK_KINDS:
            if ChunkReader(self.source).root(child.id).container == CHUNK_ARRAY:
                return [self.value(c) for c in iter_entries(self.source, child.id)]
            return {k: self.value(c) for k, c in iter_entries(self.source, child.id)}
        node = self.source.node(child.id)
        if isinstance(node, ObjectNode):
            return {k: self.value(node.children[k]) for k in sorted(node.children)}
        if isinstance(node, ArrayNode):
            return [self.value(c) for c in node.items]
        return self.value(node.value)

    def get(self, tokens: tuple[str, ...]) -> Any:
        """The value at ``tokens`` as a fresh plain value; PathNotFoundError if absent."""
        return self.value(self.child(tokens))

    # ---------------------------------------------------------------- values to children
    def to_child(self, value: Any, tokens: tuple[str, ...] = ()) -> Child:
        """A JSON value as it sits in a parent at ``tokens``: inline if small, else a Ref to new nodes.

        Validates it (InvalidStateError naming the pointer), including the depth it lands at."""
        _check_value(value, tokens)
        if type(value) in _SCALARS:
            return value
        text = canonical_str(value)
        if not isinstance(value, (dict, list)):
            return loads(text)  # a str/int/float subclass: its plain value
        if len(text) <= _tree.INLINE_LIMIT:
            canonical_bytes(value)  # refuses lone surrogates, naming where
            return loads(text)  # a fresh copy the caller cannot mutate under us
        oid, objects = write_tree(value)
        self._record(oid, objects)
        return Ref(oid)

    def as_child(self, child: Child) -> Child:
        """``child`` fit to sit inside a parent: a small node (a root) becomes its inline value."""
        if type(child) is not Ref:
            return child
        frame = self._frame(child)
        if frame is None:  # a scalar root node
            return self.source.node(child.id).value  # type: ignore[union-attr]
        if frame.chunk is not None:
            return child
        return self._pack(frame.children, False)

    # ---------------------------------------------------------------- edits
    def set_root(self, child: Child) -> None:
        """Replace the whole state by ``child``."""
        if type(child) is Ref:
            self.root = child.id
            return
        oid, objects = write_tree(child)
        self._record(oid, objects)
        self.root = oid

    def add(self, tokens: tuple[str, ...], child: Child) -> None:
        """RFC 6902 ``add``: set an object key, or insert into an array (``-`` appends)."""
        if not tokens:
            return self.set_root(child)

        def change(frame: _Frame, token: str, at_root: bool) -> Child:
            if frame.kind == OBJECT:
                return self._put_key(frame, token, child, at_root)
            if token == "-":
                return self._insert(frame, frame.count, child, at_root)
            return self._insert(frame, _index(token, frame.count + 1, tokens), child, at_root)

        self._modify(tokens, change)

    def replace(self, tokens: tuple[str, ...], child: Child) -> None:
        """RFC 6902 ``replace``: the target must exist."""
        if not tokens:
            return self.set_root(child)

        def change(frame: _Frame, token: str, at_root: bool) -> Child:
            self._get(frame, token, tokens, len(tokens) - 1)  # must exist
            if frame.kind == OBJECT:
                return self._put_key(frame, token, child, at_root)
            return self._put_index(frame, _index(token, frame.count, tokens), child, at_root)

        self._modify(tokens, change)

    def set(self, tokens: tuple[str, ...], child: Child) -> None:
        """Set the value at ``tokens``: an object key is added or replaced; an array item is
        replaced, or appended when the index is the length or ``-``."""
        if tokens and tokens[-1] != "-":
            try:
                parent = self._frame(self.child(tokens[:-1]))
            except PathNotFoundError:
                parent = None
            if parent is not None and parent.kind == ARRAY and tokens[-1] != str(parent.count):
                return self.replace(tokens, child)
        self.add(tokens, child)

    def append(self, tokens: tuple[str, ...], child: Child) -> None:
        """Append ``child`` to the array at ``tokens``."""
        frame = self._frame(self.child(tokens))
        if frame is None or frame.kind != ARRAY:
            raise PathNotFoundError(f"{format_pointer(tokens) or '/'}: append needs an array, "
                                    f"this is {'an object' if frame else 'a scalar'}")
        self.add(tokens + ("-",), child)

    def remove(self, tokens: tuple[str, ...]) -> Child:
        """RFC 6902 ``remove``; returns the removed child."""
        if not tokens:
            raise PathNotFoundError("cannot remove the whole state (replace it instead)")
        removed: list[Child] = []

        def change(frame: _Frame, token: str, at_root: bool) -> Child:
            removed.append(self._get(frame, token, tokens, len(tokens) - 1))
            return self._delete(frame, token, at_root)

        self._modify(tokens, change)
        return removed[0]

    # ---------------------------------------------------------------- the result
    def objects(self) -> dict[str, bytes]:
        """The new nodes the current root reaches (those to store with a commit)."""
        keep: dict[str, bytes] = {}
        stack = [self.root]
        while stack:
            oid = stack.pop()
            if oid in keep or oid not in self.fresh:
                continue
            made = self._made.get(oid)
            if made is None:  # given at the start (fresh=): read its links
                raw = keep[oid] = self.fresh[oid]
                stack.extend(chunk_links(oid, raw) if raw[: raw.find(b" ")] in CHUNK_KINDS else child_ids(raw, oid))
                continue
            written, links = made
            for written_id in written:
                keep[written_id] = self.fresh[written_id]
            stack.extend(links)
        return keep

    def _record(self, root: str, objects: dict[str, bytes], links: Any = ()) -> None:
        """Keep the nodes one write made (all reachable from ``root``) and the older nodes it links to."""
        self.fresh.update(objects)
        if objects:
            self._made[root] = (tuple(objects), tuple(c.id for c in links if type(c) is Ref))

    # ---------------------------------------------------------------- internals
    def _frame(self, child: Child) -> _Frame | None:
        """The container a child is (None for a scalar)."""
        if type(child) is Ref:
            raw = self.source.raw(child.id)
            if raw[: raw.find(b" ")] in CHUNK_KINDS:
                node = ChunkReader(self.source).root(child.id)
                return _Frame(ARRAY if node.container == CHUNK_ARRAY else OBJECT, chunk=child.id, count=node.count)
            node = self.source.node(child.id)
            if isinstance(node, ObjectNode):
                return _Frame(OBJECT, node.children)
            if isinstance(node, ArrayNode):
                return _Frame(ARRAY, node.items)
            child = node.value
        if isinstance(child, dict):
            return _Frame(OBJECT, child)
        if isinstance(child, list):
            return _Frame(ARRAY, child)
        return None

    def _get(self, frame: _Frame, token: str, tokens: tuple[str, ...], depth: int) -> Child:
        """The child of ``frame`` at ``token`` (``tokens[depth]``); PathNotFoundError if absent."""
        if frame.kind == OBJECT:
            if frame.chunk is None:
                found = frame.children.get(token, MISSING)
            else:
                found = object_get(self.source, frame.chunk, token)
            if found is MISSING:
                raise PathNotFoundError(f"{format_pointer(tokens[: depth + 1])}: no key {token!r} "
                                        f"at {format_pointer(tokens[:depth]) or '/'}")
            return found
        index = _index(token, frame.count, tokens[: depth + 1])
        return frame.children[index] if frame.chunk is None else array_get(self.source, frame.chunk, index)

    def _modify(self, tokens: tuple[str, ...], change: Callable[[_Frame, str, bool], Child]) -> None:
        """Rewrite the path to ``tokens``: ``change`` gives the new parent, then each ancestor follows."""
        frames: list[_Frame] = []
        current: Child = Ref(self.root)
        for depth, token in enumerate(tokens):
            frame = self._frame(current)
            if frame is None:
                raise _into_scalar(tokens, depth)
            frames.append(frame)
            if depth < len(tokens) - 1:
                current = self._get(frame, token, tokens, depth)
        new = change(frames[-1], tokens[-1], len(frames) == 1)
        for depth in range(len(frames) - 2, -1, -1):
            frame, token = frames[depth], tokens[depth]
            if frame.kind == OBJECT:
                new = self._put_key(frame, token, new, depth == 0)
            else:
                new = self._put_index(frame, int(token), new, depth == 0)
        self.root = new.id  # the root is always packed as a node

    def _put_key(self, frame: _Frame, key: str, child: Child, at_root: bool) -> Child:
        if frame.chunk is not None:
            return self._chunked(object_set(self.source, frame.chunk, key, child, self.params), at_root)
        children = dict(frame.children)
        children[key] = child
        return self._pack(children, at_root)

    def _put_index(self, frame: _Frame, index: int, child: Child, at_root: bool) -> Child:
        if frame.chunk is not None:
            return self._chunked(array_set(self.source, frame.chunk, index, child, self.params), at_root)
        items = list(frame.children)
        items[index] = child
        return self._pack(items, at_root)

    def _insert(self, frame: _Frame, index: int, child: Child, at_root: bool) -> Child:
        if frame.chunk is not None:
            if index == frame.count:
                result = array_append(self.source, frame.chunk, child, params=self.params)
            else:
                result = array_insert(self.source, frame.chunk, index, child, self.params)
            return self._chunked(result, at_root)
        items = list(frame.children)
        items.insert(index, child)
        return self._pack(items, at_root)

    def _delete(self, frame: _Frame, token: str, at_root: bool) -> Child:
        if frame.kind == OBJECT:
            if frame.chunk is not None:
                return self._chunked(object_remove(self.source, frame.chunk, token, self.params), at_root)
            children = dict(frame.children)
            del children[token]
            return self._pack(children, at_root)
        index = int(token)
        if frame.chunk is not None:
            return self._chunked(array_remove(self.source, frame.chunk, index, self.params), at_root)
        items = list(frame.children)
        del items[index]
        return self._pack(items, at_root)

    def _pack(self, container: dict[str, Child] | list[Child], at_root: bool) -> Child:
        """A container of children as its parent holds it: inline when small and free of
        nodes (write_tree's rule), else a Ref to its node. The root is always a node."""
        if not at_root and len(container) <= _tree.INLINE_LIMIT // 2:  # longer ones cannot fit the limit
            values = container.values() if isinstance(container, dict) else container
            if not any(type(c) is Ref for c in values):
                if len(canonical_str(container)) <= _tree.INLINE_LIMIT:
                    return container
        oid, objects = write_tree(container)
        self._record(oid, objects, container.values() if isinstance(container, dict) else container)
        return Ref(oid)

    def _chunked(self, result: tuple[str, dict[str, bytes]], at_root: bool) -> Child:
        """A chunk edit's new root as a child; a tree that shrank to one leaf chunk is written flat,
        and one small enough is inlined (write_tree's rules)."""
        root, objects = result
        self.fresh.update(objects)  # objects() reads chunk links (small nodes): a splice may reuse earlier new chunks
        node = ChunkReader(self.source).root(root)
        if node.height and (node.count > _tree.INLINE_LIMIT // 2 or self.params.min_weight > _tree.INLINE_LIMIT):
            # Two leaves or more (write_tree's rule too), and too big to be inlined: the first
            # leaf alone weighs min_weight, about its text's length (a child id makes it a node
            # anyway), or it has too many entries. A chat's message list takes this path from
            # its second leaf on, without reading its entries back.
            return Ref(root)
        # Few entries: maybe small enough to inline, or to fit one flat node (write_tree decides).
        entries = node.entries if node.height == 0 else list(iter_entries(self.source, root))
        if node.container == CHUNK_ARRAY:
            return self._pack(list(entries), at_root)
        return self._pack(dict(entries), at_root)


def _index(token: str, length: int, tokens: tuple[str, ...]) -> int:
    """An array token as an index below ``length``; PathNotFoundError otherwise."""
    where = format_pointer(tokens)
    if token == "-":
        raise PathNotFoundError(f"{where}: '-' names no element (only add can append with it)")
    if not (token.isascii() and token.isdigit()) or (len(token) > 1 and token[0] == "0"):
        raise PathNotFoundError(f"{where}: {token!r} is not an array index")
    index = int(token)
    if index >= length:
        raise PathNotFoundError(f"{where}: index {index} is past the end of the array")
    return index


def _into_scalar(tokens: tuple[str, ...], depth: int) -> PathNotFoundError:
    return PathNotFoundError(f"{format_pointer(tokens)}: {format_pointer(tokens[:depth]) or 'the root'} "
                             "is a scalar, not an object or array")


def _check_value(value: Any, tokens: tuple[str, ...]) -> None:
    """validate(), naming the full pointer, plus the depth the value lands at."""
    try:
        validate(value)
    except InvalidStateError as exc:
        raise InvalidStateError(str(exc).rsplit(" at ", 1)[0], format_pointer(tokens) + exc.pointer) from None
    limit = max_depth()
    if isinstance(value, (dict, list)) and len(tokens) + nesting(value) > limit:
        raise InvalidStateError(f"nesting deeper than {limit} levels", format_pointer(tokens))
