"""A state as a Merkle tree of nodes, and back.

Containers whose canonical JSON is longer than ``INLINE_LIMIT`` characters are stored
as their own node and referenced by id; smaller values are inlined in their parent.
A container node whose entries do not fit in one chunk (chunks/build.py's boundary rule) is
written as a tree of chunks (format 2), else as one flat ``obj1``/``arr1`` node.
The choice depends only on the value, so one value always gets the same place and
ids; unchanged subtrees keep their ids across commits and are stored once. Readers
follow chunked containers through lazy views (chunks/views.py) that read only the chunks
on the paths they use.

The root of a state is always a node (``val1`` for a scalar), so a commit always
points at exactly one node id.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # the C implementation when available
from typing import Any, Iterator, Protocol

from ..errors import (
    InvalidStateError,
    LimitExceededError,
    NonCanonicalObjectError,
    ObjectNotFoundError,
    PathNotFoundError,
)
from ..gcpause import gc_paused
from ..limits import ENV_MAX_DEPTH, ENV_MAX_OBJECT_BYTES, max_depth, max_object_bytes
from .canonical import canonical_str, fast_canonical_str, loads, parse_canonical, surrogate_error
from .chunks.build import build_tokens
from .chunks.format import ARRAY as CHUNKED_ARRAY
from .chunks.format import OBJECT as CHUNKED_OBJECT
from .chunks.format import ChunkNode, chunk_of, decode_chunk
from .chunks.read import ChunkReader, array_get, object_get
from .chunks.views import chunk_params, chunked_view, plain_children
from .missing import MISSING
from .nodes import decode_node
from . import plain
from .objects import (
    ARRAY_NODE,
    CHUNK_KINDS,
    OBJECT_NODE,
    VALUE_NODE,
    ArrayNode,
    Child,
    Node,
    ObjectNode,
    Ref,
    ValueNode,
    check_node_payload,
    encode,
    nesting_bound,
    node_kind,
    object_id,
    split_kind,
)
from .pointer import array_index, format_pointer, parse_pointer

#: Containers whose canonical JSON is longer than this many characters get their own node.
INLINE_LIMIT = 512


class NodeSource(Protocol):
    """Where tree readers get nodes: decoded (may be cached) and raw (verified)."""

    def node(self, oid: str) -> Node: ...

    def raw(self, oid: str) -> bytes: ...


def write_tree(value: Any) -> tuple[str, dict[str, bytes]]:
    """Encode a validated JSON value as nodes; returns (root id, {id: raw} of every node).

    ``value`` may hold Refs to nodes already stored (a merged or grafted state): those
    subtrees are reused as they are, and only the containers above them are written.

    Bottom-up: a container with a child node is a node itself; otherwise its canonical
    text is measured once and kept, so each node's payload (flat, or its chunks) is
    assembled from the texts of its children instead of encoding every byte again.
    """
    writer = _Writer(value)
    if type(value) is Ref:
        return value.id, writer.objects
    if isinstance(value, dict):
        return writer.dict_node({k: writer.child(x) for k, x in value.items()}), writer.objects
    if isinstance(value, list):
        return writer.list_node([writer.child(x) for x in value]), writer.objects
    oid, raw = encode(VALUE_NODE, {"v": value})
    writer.check_size(raw, "the value")
    writer.objects[oid] = raw
    return oid, writer.objects


def write_child(value: Any) -> tuple[Child, dict[str, bytes]]:
    """Encode a validated value for a place inside a container: (Ref to its node, new nodes),
    or (the value itself, {}) when it is inlined in its parent (the write_tree rule)."""
    writer = _Writer(value)
    is_ref, text = writer.child(value)
    return (Ref(text) if is_ref else value), writer.objects


class _Writer:
    """One write_tree: the nodes written so far, and the rule choosing inline, flat or chunked."""

    __slots__ = ("objects", "params", "size_limit", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.objects: dict[str, bytes] = {}
        self.size_limit = max_object_bytes()
        self.params = chunk_params()

    def child(self, v: Any) -> tuple[bool, str]:
        """(is_ref, text): a child node's id, or the canonical text of an inline value."""
        t = type(v)
        if t is str:
            return False, encode_basestring(v)
        if t is int:
            return False, int.__repr__(v)
        if t is float:
            return False, float.__repr__(v)
        if t is Ref:  # an already stored subtree (merges and grafts reuse them)
            return True, v.id
        if isinstance(v, (dict, list)) and len(v) <= _TRY_WHOLE:
            # Few entries: one C-speed encoding usually shows it is small enough to inline.
            try:
                text = fast_canonical_str(v)
            except TypeError:  # holds a Ref: it is a node
                text = None
            if text is not None and len(text) <= INLINE_LIMIT:
                return False, text
        child = self.child
        # An object's text is at least 5n+1 characters ("":0 and a comma per entry), an
        # array's 2n+1: past INLINE_LIMIT the container is a node without assembling its text.
        if isinstance(v, dict):
            parts = {k: child(x) for k, x in v.items()}
            if 5 * len(parts) + 1 > INLINE_LIMIT or any(is_ref for is_ref, _ in parts.values()):
                return True, self.dict_node(parts)
            text = "{" + ",".join(_key(k) + ":" + parts[k][1] for k in sorted(parts)) + "}"
        elif isinstance(v, list):
            items = [child(x) for x in v]
            if 2 * len(items) + 1 > INLINE_LIMIT or any(is_ref for is_ref, _ in items):
                return True, self.list_node(items)
            text = "[" + ",".join(t for _, t in items) + "]"
        else:
            return False, _scalar(v)
        if len(text) > INLINE_LIMIT:
            return True, self.dict_node(parts) if isinstance(v, dict) else self.list_node(items)
        return False, text

    def dict_node(self, parts: dict[str, tuple[bool, str]]) -> str:
        keys = sorted(parts)
        chunked = self.chunk(CHUNKED_OBJECT, [(k, None) for k in keys],
                             [parts[k][1] if parts[k][0] else "=" + parts[k][1] for k in keys])
        if chunked is not None:
            return self.keep(*chunked)
        inline = ",".join(_key(k) + ":" + parts[k][1] for k in keys if not parts[k][0])
        refs = ",".join(_key(k) + ':"' + parts[k][1] + '"' for k in keys if parts[k][0])
        return self.store(OBJECT_NODE, '{"i":{' + inline + '},"r":{' + refs + "}}")

    def list_node(self, items: list[tuple[bool, str]]) -> str:
        tokens = [t if is_ref else "=" + t for is_ref, t in items]
        chunked = self.chunk(CHUNKED_ARRAY, tokens, tokens)
        if chunked is not None:
            return self.keep(*chunked)
        texts = ",".join('"' + t + '"' if is_ref else t for is_ref, t in items)
        refs = ",".join(str(i) for i, (is_ref, _) in enumerate(items) if is_ref)
        return self.store(ARRAY_NODE, '{"i":[' + texts + '],"r":[' + refs + "]}")

    def chunk(self, container: str, entries: list, tokens: list[str]) -> tuple[str, dict[str, bytes]] | None:
        try:
            return build_tokens(container, entries, tokens, self.params)
        except UnicodeEncodeError:
            raise surrogate_error(self.value) from None

    def keep(self, root: str, chunks: dict[str, bytes]) -> str:
        for raw in chunks.values():
            self.check_size(raw, "a chunk")
        self.objects.update(chunks)
        return root

    def store(self, kind: bytes, payload: str) -> str:
        try:
            raw = kind + b" " + payload.encode("utf-8")
        except UnicodeEncodeError:
            raise surrogate_error(self.value) from None
        self.check_size(raw, "a container")
        oid = object_id(raw)
        self.objects[oid] = raw
        return oid

    def check_size(self, raw: bytes, what: str) -> None:
        if len(raw) > self.size_limit:
            raise InvalidStateError(
                f"{what} encodes to {len(raw)} bytes, more than the {self.size_limit}-byte object size "
                f"limit ({ENV_MAX_OBJECT_BYTES} raises it, see docs/security.md)")


#: Containers with at most this many entries are first encoded whole, in one C call.
_TRY_WHOLE = 32

_key = encode_basestring  # canonical text of an object key (ensure_ascii=False, as canonical_str)


def _scalar(v: Any) -> str:
    t = type(v)
    if t is str:
        return encode_basestring(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    return canonical_str(v)


def read_tree(source: NodeSource, oid: str) -> Any:
    """The full JSON value of a node, as fresh Python objects the caller may mutate.

    Every node is checked as it is read (canonical bytes, structure), and a tree nesting
    deeper than the depth limit raises LimitExceededError instead of exhausting the stack.
    The cyclic collector is paused meanwhile (gcpause.py: none of the containers made can
    be garbage, and walking them again and again cost more than the read itself)."""
    with gc_paused():
        return _read(source, oid, 1, max_depth())


def _read(source: NodeSource, oid: str, depth: int, limit: int) -> Any:
    """``read_tree`` of the node at container depth ``depth`` (the root is 1)."""
    kind, body = node_kind(oid, source.raw(oid))
    if depth > limit:
        raise _too_deep(oid, limit)
    if kind in CHUNK_KINDS:
        return _read_chunked(source, oid, depth, limit)
    fresh = getattr(source, "fresh_payload", None)  # fresh objects every time: callers can never touch a cache
    if fresh is not None:
        payload, bound = fresh(oid, body)
    else:
        try:
            payload = parse_canonical(body)
        except ValueError as exc:
            raise NonCanonicalObjectError(f"object {oid} is not valid: {exc}") from None
        bound = nesting_bound(body)
    try:
        check_node_payload(oid, kind, payload, depth, bound)
    except LimitExceededError:
        raise _too_deep(oid, limit) from None
    if kind == OBJECT_NODE:
        result = payload["i"]
        for key, child_id in payload["r"].items():
            result[key] = _read(source, child_id, depth + 1, limit)
        # Keep the canonical (sorted) key order, whatever order the refs were filled in.
        return {k: result[k] for k in sorted(result)} if payload["r"] else result
    if kind == ARRAY_NODE:
        items = payload["i"]
        for index in payload["r"]:
            items[index] = _read(source, items[index], depth + 1, limit)
        return items
    return payload["v"]


class _RawOnly:
    """A source seen through its raw bytes only: chunks decode afresh (values the caller may mutate)."""

    __slots__ = ("raw",)

    def __init__(self, source: NodeSource) -> None:
        self.raw = source.raw


class _FreshChunks:
    """A source whose chunk nodes decode afresh (values the caller may mutate) through an
    ObjectReader's ``fresh_payload``: each id's bytes are checked canonical once."""

    __slots__ = ("raw", "_fresh")

    def __init__(self, source: NodeSource, fresh: Any) -> None:
        self.raw = source.raw
        self._fresh = fresh

    def node(self, oid: str) -> ChunkNode:
        raw = self.raw(oid)
        kind, body = split_kind(raw)
        if kind not in CHUNK_KINDS:  # reported as decode_chunk reports it, before any parse
            return decode_chunk(oid, raw)
        payload, bound = self._fresh(oid, body)
        return chunk_of(oid, kind, payload, bound)


def _read_chunked(source: NodeSource, oid: str, depth: int, limit: int) -> Any:
    """``read_tree`` of a chunked container: its leaves in order, child nodes one level deeper."""
    fresh = getattr(source, "fresh_payload", None)
    reader = ChunkReader(_RawOnly(source) if fresh is None else _FreshChunks(source, fresh), depth=depth)
    try:
        root = reader.root(oid)
        stack = [root]
        leaves = []
        while stack:
            node = stack.pop()
            if node.height:
                stack.extend(reader.child(node, ref) for ref in reversed(node.entries))
            else:
                leaves.append(node)
    except LimitExceededError:
        raise _too_deep(oid, limit) from None
    if root.container == CHUNKED_OBJECT:
        result: dict[str, Any] = {}
        for leaf in leaves:
            for key, child in leaf.entries:
                result[key] = _read(source, child.id, depth + 1, limit) if type(child) is Ref else child
        return result
    items: list[Any] = []
    for leaf in leaves:
        for child in leaf.entries:
            items.append(_read(source, child.id, depth + 1, limit) if type(child) is Ref else child)
    return items


def _too_deep(oid: str, limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"the tree at node {oid} nests deeper than the limit of {limit} levels "
        f"({ENV_MAX_DEPTH} raises it, see docs/security.md)")


def materialize(source: NodeSource, child: Child) -> Any:
    """A child as a fresh plain value."""
    if type(child) is Ref:
        return read_tree(source, child.id)
    return plain.copy(child)  # a copy: inline values live in cached nodes


def lookup(source: NodeSource, root: str, pointer: str) -> Any:
    """The value at ``pointer`` in the state rooted at ``root``, reading only that path."""
    tokens = parse_pointer(pointer)
    current: Child = Ref(root)
    for depth, token in enumerate(tokens):
        if type(current) is Ref:
            node = source.node(current.id)
            if type(node) is ChunkNode:  # reads only the chunks on the path
                if node.container == CHUNKED_OBJECT:
                    current = object_get(source, current.id, token)
                    if current is MISSING:
                        raise PathNotFoundError(
                            f"{pointer}: no key {token!r} at {format_pointer(tokens[:depth]) or '/'}")
                else:
                    current = array_get(source, current.id, array_index(token, node.count, pointer))
            elif isinstance(node, ObjectNode):
                if token not in node.children:
                    raise PathNotFoundError(f"{pointer}: no key {token!r} at {format_pointer(tokens[:depth]) or '/'}")
                current = node.children[token]
            elif isinstance(node, ArrayNode):
                current = node.items[array_index(token, len(node.items), pointer)]
            else:
                current = node.value
                return _resolve_plain(current, tokens, depth, pointer)
        else:
            return _resolve_plain(current, tokens, depth, pointer)
    if type(current) is Ref:
        node = source.node(current.id)
        if isinstance(node, ValueNode):
            return materialize(source, node.value)
    return materialize(source, current)


def _resolve_plain(value: Any, tokens: tuple[str, ...], start: int, pointer: str) -> Any:
    from .pointer import resolve

    try:
        found = resolve(value, tokens[start:])
    except PathNotFoundError:
        # Re-raise with the full pointer the caller asked for.
        raise PathNotFoundError(f"{pointer}: not found") from None
    return loads(canonical_str(found)) if isinstance(found, (dict, list)) else found


def child_token(child: Child) -> str:
    """An identity for a child: equal tokens iff equal JSON values (types included)."""
    if type(child) is Ref:
        return child.id
    return plain.token(child)


def node_children(node: Node) -> dict[str, Child] | list[Child] | None:
    """The children of a container node, or None for a value node; for a chunk node, the
    entries of a leaf, or Refs to the chunks below an interior chunk."""
    if type(node) is ChunkNode:
        if node.height:
            return [Ref(ref.id) for ref in node.entries]
        return dict(node.entries) if node.container == CHUNKED_OBJECT else list(node.entries)
    if isinstance(node, ObjectNode):
        return node.children
    if isinstance(node, ArrayNode):
        return node.items
    return None


def walk_ids(source: NodeSource, root: str, seen: set[str]) -> Iterator[str]:
    """Every node id reachable from ``root`` not already in ``seen`` (which it fills)."""
    stack = [root]
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        yield oid
        node = source.node(oid)
        kids = node_children(node)
        if kids is None:
            continue
        values = kids.values() if isinstance(kids, dict) else kids
        stack.extend(c.id for c in values if type(c) is Ref)




class ObjectsSource:
    """A NodeSource over a plain mapping of raw objects (e.g. fresh from write_tree)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self._nodes: dict[str, Node] = {}

    def raw(self, oid: str) -> bytes:
        try:
            return self.objects[oid]
        except KeyError:  # a node naming a child that is not here: as a store says it
            raise ObjectNotFoundError(f"object {oid} not found") from None

    def node(self, oid: str) -> Node:
        node = self._nodes.get(oid)
        if node is None:
            node = self._nodes[oid] = decode_node(oid, self.raw(oid))
        return node


# ---------------------------------------------------------------- walking and editing trees

OBJECT, ARRAY, SCALAR = plain.OBJECT, plain.ARRAY, plain.SCALAR


def view(source: NodeSource, child: Child) -> tuple[str, Any]:
    """(kind, contents) of a child: an object's dict, an array's list, or a scalar.

    A chunked container comes as a lazy ChunkedObject (a Mapping) or ChunkedArray (a
    Sequence) that reads only the chunks a lookup needs (chunks/views.py)."""
    if type(child) is Ref:
        node = source.node(child.id)
        if type(node) is ChunkNode:
            return (OBJECT if node.container == CHUNKED_OBJECT else ARRAY), chunked_view(source, child.id, node)
        if isinstance(node, ObjectNode):
            return OBJECT, node.children
        if isinstance(node, ArrayNode):
            return ARRAY, node.items
        child = node.value
    return plain.view(child)


class LayeredSource:
    """A NodeSource that also sees freshly written nodes."""

    def __init__(self, below: NodeSource, objects: dict[str, bytes]) -> None:
        self.below = below
        self.extra = ObjectsSource(objects)

    def raw(self, oid: str) -> bytes:
        return self.extra.raw(oid) if oid in self.extra.objects else self.below.raw(oid)

    def node(self, oid: str) -> Any:
        return self.extra.node(oid) if oid in self.extra.objects else self.below.node(oid)


def child_at(source: NodeSource, child: Any, tokens: list[str]) -> Any:
    """The child at ``tokens`` below ``child``, or MISSING."""
    current = child
    for token in tokens:
        if current is MISSING:
            return MISSING
        kind, contents = view(source, current)
        if kind == "object":
            current = contents.get(token, MISSING)
        elif kind == "array" and token.isdigit() and (token == "0" or token[0] != "0") and int(token) < len(contents):
            current = contents[int(token)]
        else:
            return MISSING
    return current


def shallow(source: NodeSource, child: Any) -> Any:
    """A container child as a fresh dict/list of children (Refs stay Refs); scalars as they are."""
    kind, contents = view(source, child)
    contents = plain_children(contents)
    if kind == "object":
        return dict(contents)
    if kind == "array":
        return list(contents)
    return contents
