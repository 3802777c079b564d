"""Chunked large containers: a big array or object as a tree of content-defined chunks.

A flat ``arr1``/``obj1`` node lists every child, so a one-child change rewrites (and a
diff walks) all of them. Here the entries of a big container are cut into chunks at
places chosen by the content alone (a prolly tree, the idea of Dolt and Noms): a chunk
ends after an entry whose keyed blake3 hash falls under a threshold proportional to the
entry's weight (its size), once the chunk weighs a minimum, and always once it weighs a
maximum; a chunk never ends before its second entry. The ids of the chunks are cut again
by the same rule (with the interior levels' own weights, see ChunkParams), with another
hash key per level, until one node remains.
The same entries always give the same nodes (history independence), and an edit
rewrites only the chunks around it and their spine (see chunkedit.py).

Node kinds (docs/storage-format.md, "Chunked containers"):
  arrl1  ``{"i": [item or child id], "r": [indices of child ids]}``            array leaf
  arrn1  ``{"c": [chunk id], "h": height, "n": [entries under each]}``         array interior
  objl1  ``{"i": {key: inline value}, "r": {key: child id}}``                   object leaf
  objn1  ``{"c": [chunk id], "h": height, "k": [last key], "n": [entries]}``   object interior

This module holds the format, the boundary rule and building; chunkread.py reads and
looks up, chunkedit.py edits a tree, chunkdiff.py compares two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from json.encoder import encode_basestring  # the C implementation when available
from typing import Any, NamedTuple, Protocol

import blake3

from ..errors import CorruptObjectError, InvalidStateError, NonCanonicalObjectError, UnsupportedObjectError
from .canonical import fast_canonical_str, parse_canonical
from .objects import KNOWN_KINDS, Child, Ref, check_nesting, nesting_bound, object_id, split_kind

ARRAY_LEAF = b"arrl1"
ARRAY_INTERIOR = b"arrn1"
OBJECT_LEAF = b"objl1"
OBJECT_INTERIOR = b"objn1"
CHUNK_KINDS = (ARRAY_LEAF, ARRAY_INTERIOR, OBJECT_LEAF, OBJECT_INTERIOR)

ARRAY = "array"
OBJECT = "object"

#: Chunks hold at least two entries, so no tree of fewer than 2**64 entries is higher.
MAX_HEIGHT = 64

#: Weight of a chunk id in an interior entry (its 64 hex characters).
ID_WEIGHT = 64


@dataclass(frozen=True)
class ChunkParams:
    """Where chunks end, in weight units (characters of an entry's identity, see the boundary
    rule in docs/storage-format.md), for leaves and, separately, for interior levels.

    Past ``min_weight`` each entry ends its chunk with probability ``weight / span``, so a
    chunk weighs about ``min_weight + span`` on average; ``max_weight`` bounds it. Leaves
    are big (about 3 KB: fewer leaves, so trees stay shallow, and zstd compresses them
    well); interior nodes are small and even (8 to 24 children: an edit rewrites one node
    per level, and its ids barely compress). A leaf entry that is a child node's id weighs
    ``ref_weight``, not its 64 characters, so leaves of ids stay about a dozen entries.
    Tests lower these so that small values make trees of several levels.
    """

    min_weight: int = 1024
    span: int = 2048
    max_weight: int = 16384
    interior_min: int = 512
    interior_span: int = 512
    interior_max: int = 4096
    ref_weight: int = 256

    def __post_init__(self) -> None:
        if not (0 <= self.min_weight < self.max_weight and self.span >= 1):
            raise ValueError("ChunkParams needs 0 <= min_weight < max_weight and span >= 1")
        if not (0 <= self.interior_min < self.interior_max and self.interior_span >= 1):
            raise ValueError("ChunkParams needs 0 <= interior_min < interior_max and interior_span >= 1")
        if self.ref_weight < 1:
            raise ValueError("ChunkParams needs ref_weight >= 1")

    def bounds(self, height: int) -> tuple[int, int, int]:
        """(min weight, span, max weight) of the chunks at ``height``."""
        if height:
            return self.interior_min, self.interior_span, self.interior_max
        return self.min_weight, self.span, self.max_weight

    def token_weight(self, token: str) -> int:
        """Weight of a leaf entry's token: a child id weighs ``ref_weight``, inline JSON its length."""
        return len(token) if token[0] == "=" else self.ref_weight


DEFAULT_PARAMS = ChunkParams()


class RawSource(Protocol):
    """Where chunk readers get the raw bytes of objects (the NodeSource of tree.py fits)."""

    def raw(self, oid: str) -> bytes: ...


class ChunkRef(NamedTuple):
    """An interior entry: a child chunk, how many leaf entries it holds, and (objects) its last key.

    A named tuple, not a dataclass: decoding an interior node makes one per child, and a
    diff or lookup decodes dozens of nodes of ~20 children each."""

    id: str
    count: int
    last: str | None = None


@dataclass(frozen=True, slots=True)
class ChunkNode:
    """A decoded chunk node.

    ``entries``: for a leaf (height 0) the items (arrays: Child) or ``(key, Child)`` pairs
    in key order (objects); for an interior node, ChunkRefs. ``count`` is the number of
    leaf entries below; ``last`` the last key below (objects; None for arrays or when empty).
    """

    container: str  # ARRAY | OBJECT
    height: int
    entries: tuple
    count: int
    last: str | None


# ---------------------------------------------------------------- the boundary rule

_LEVEL_KEYS: list[bytes] = []


def level_key(height: int) -> bytes:
    """The 32-byte blake3 key hashing the entries of nodes at ``height`` (one per level)."""
    while len(_LEVEL_KEYS) <= height:
        _LEVEL_KEYS.append(blake3.blake3(b"statevcs chunk boundary level %d" % len(_LEVEL_KEYS)).digest())
    return _LEVEL_KEYS[height]


def boundary_hash(height: int, identity: str) -> int:
    """The 64-bit boundary hash of an entry: keyed blake3 of its identity, first 8 bytes big-endian."""
    key = _LEVEL_KEYS[height] if height < len(_LEVEL_KEYS) else level_key(height)
    return int.from_bytes(blake3.blake3(identity.encode("utf-8"), key=key).digest(8), "big")


def entry_token(child: Child) -> str:
    """Identity of an item or value: a child node id, or ``=`` + canonical text (as tree.child_token).

    For validated values (canonical.validate) and decoded nodes: the text comes from orjson
    where it is the canonical text, and orjson also writes some types validation refuses
    (UUID, Enum), so unvalidated input must not rely on this to refuse them."""
    if type(child) is Ref:
        return child.id
    try:
        return "=" + fast_canonical_str(child)
    except (TypeError, ValueError):
        raise InvalidStateError(f"{type(child).__name__} inside a chunk entry is not plain JSON") from None


def ends_chunk(params: ChunkParams, height: int, entries: int, weight: int, identity: str, w: int) -> bool:
    """Whether the entry just added (identity, weight ``w``) ends a chunk of ``entries`` entries
    weighing ``weight`` in all: the whole boundary rule, in one place."""
    if entries < 2:
        return False
    low, span, high = params.bounds(height)
    if weight >= high:
        return True
    return weight >= low and boundary_hash(height, identity) * span < w << 64


# ---------------------------------------------------------------- building


class ChunkLevel:
    """The chunker of one level: entries in, chunks out (mutable; private to a ChunkBuilder)."""

    __slots__ = ("builder", "emitted", "height", "last", "pending", "tokens", "weight")

    def __init__(self, builder: ChunkBuilder, height: int) -> None:
        self.builder = builder
        self.height = height
        self.pending: list = []
        self.tokens: list[str | None] = []
        self.weight = 0
        self.emitted = 0
        self.last: ChunkRef | None = None

    def add(self, entry: Any) -> None:
        """Append one entry (a leaf entry at height 0, else a ChunkRef); may end a chunk."""
        array = self.builder.container == ARRAY
        token: str | None = None
        if self.height == 0:
            if array:
                token = identity = entry_token(entry)
                w = self.builder.params.token_weight(token)
            else:
                identity, child = entry
                token = entry_token(child)
                w = len(identity) + self.builder.params.token_weight(token)
        elif array:
            identity, w = entry.id, ID_WEIGHT
        else:
            identity = entry.last
            w = ID_WEIGHT + len(identity)
        self.pending.append(entry)
        self.tokens.append(token)
        self.weight += w
        if ends_chunk(self.builder.params, self.height, len(self.pending), self.weight, identity, w):
            self.cut()

    def add_leaf(self, entry: Any, token: str) -> None:
        """``add`` for a leaf entry whose token (entry_token of its child) is already known;
        for objects ``entry`` is ``(key, anything)``: only the key is read."""
        if self.builder.container == ARRAY:
            identity, w = token, self.builder.params.token_weight(token)
        else:
            identity = entry[0]
            w = len(identity) + self.builder.params.token_weight(token)
        self.pending.append(entry)
        self.tokens.append(token)
        self.weight += w
        if ends_chunk(self.builder.params, 0, len(self.pending), self.weight, identity, w):
            self.cut()

    def cut(self) -> None:
        self.last = self.builder.emit(self.height, self.pending, self.tokens)
        self.emitted += 1
        self.pending, self.tokens, self.weight = [], [], 0

    def flush(self) -> None:
        """End the level's sequence: its last chunk ends here whatever its weight."""
        if self.pending:
            self.cut()


class ChunkBuilder:
    """Chunkers for every level of one container; collects the nodes they emit."""

    def __init__(self, container: str, params: ChunkParams = DEFAULT_PARAMS) -> None:
        self.container = container
        self.params = params
        self.levels: list[ChunkLevel] = []
        self.objects: dict[str, bytes] = {}
        self.children: dict[str, list[str]] = {}

    def level(self, height: int) -> ChunkLevel:
        while len(self.levels) <= height:
            self.levels.append(ChunkLevel(self, len(self.levels)))
        return self.levels[height]

    def emit(self, height: int, entries: list, tokens: list) -> ChunkRef:
        """Encode one chunk, keep it, and pass its ref to the level above."""
        oid, raw = _encode(self.container, height, entries, tokens)
        self.objects[oid] = raw
        if height:
            self.children[oid] = [e.id for e in entries]
            count = sum(e.count for e in entries)
            last = entries[-1].last
        else:
            count = len(entries)
            last = entries[-1][0] if self.container == OBJECT and entries else None
        ref = ChunkRef(oid, count, last)
        self.level(height + 1).add(ref)
        return ref

    def top(self, height: int) -> ChunkRef:
        """The root, once every level up to ``height`` is flushed and all its nodes are new:
        the first level that made exactly one chunk (or an empty leaf if none made any)."""
        h = height
        self.level(h)
        while True:
            made = self.levels[h].emitted
            if made == 0:
                oid, raw = _encode(self.container, 0, [], [])
                self.objects[oid] = raw
                return ChunkRef(oid, 0, None)
            if made == 1:
                return self.levels[h].last  # type: ignore[return-value]
            self.level(h + 1).flush()
            h += 1

    def reachable(self, root: str) -> dict[str, bytes]:
        """The emitted nodes reachable from ``root`` (drops chunks made above the root)."""
        keep: dict[str, bytes] = {}
        stack = [root]
        while stack:
            oid = stack.pop()
            if oid in keep or oid not in self.objects:
                continue
            keep[oid] = self.objects[oid]
            stack.extend(self.children.get(oid, ()))
        return keep


def build_array(items: Iterable[Child], params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Chunk an array's items (inline JSON values or Refs); returns (root id, {id: raw})."""
    return _build(ARRAY, items, params)


def build_object(children: Mapping[str, Child], params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Chunk an object's children (key -> inline JSON value or Ref); returns (root id, {id: raw})."""
    for key in children:
        if type(key) is not str:
            raise InvalidStateError(f"object key {key!r} is a {type(key).__name__}, JSON keys must be str")
    return _build(OBJECT, ((k, children[k]) for k in sorted(children)), params)


def build_tokens(container: str, entries: Sequence[Any], tokens: Sequence[str],
                 params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]] | None:
    """Chunk a container from its leaf entries (objects: ``(key, _)`` in key order) and their
    tokens, computed once by the caller; None when the entries fit in one chunk (the
    caller then writes a flat node)."""
    array = container == ARRAY
    low, span, high = params.bounds(0)
    ref_weight = params.ref_weight
    if _lighter_than(low, array, entries, tokens, ref_weight):
        return None  # no chunk can end before it weighs ``low``: one chunk, no hashing
    builder = ChunkBuilder(container, params)
    leaves = builder.level(0)
    # ends_chunk at height 0, inlined: this loop runs once per entry of every big container.
    key = level_key(0)
    hasher, from_bytes = blake3.blake3, int.from_bytes
    start = weight = 0
    for end, token in enumerate(tokens, 1):
        w = len(token) if token[0] == "=" else ref_weight
        if array:
            identity = token
        else:
            identity = entries[end - 1][0]
            w += len(identity)
        weight += w
        if end - start >= 2 and (weight >= high or (
                weight >= low and from_bytes(hasher(identity.encode("utf-8"), key=key).digest(8), "big") * span
                < w << 64)):
            leaves.pending, leaves.tokens = list(entries[start:end]), list(tokens[start:end])
            leaves.cut()
            start, weight = end, 0
    leaves.pending, leaves.tokens, leaves.weight = list(entries[start:]), list(tokens[start:]), weight
    if leaves.emitted == 0 or (leaves.emitted == 1 and not leaves.pending):
        return None
    leaves.flush()
    root = builder.top(0)
    return root.id, builder.reachable(root.id)


def _lighter_than(low: int, array: bool, entries: Sequence[Any], tokens: Sequence[str], ref_weight: int) -> bool:
    """Whether all the leaf entries together weigh less than ``low`` (a child id's token is
    64 characters and weighs ``ref_weight``; object entries add their keys)."""
    total = sum(map(len, tokens))
    if total >= low and ref_weight >= ID_WEIGHT:
        return False
    total += sum(1 for t in tokens if t[0] != "=") * (ref_weight - ID_WEIGHT)
    if not array:
        total += sum(len(e[0]) for e in entries)
    return total < low


def _build(container: str, entries: Iterable[Any], params: ChunkParams) -> tuple[str, dict[str, bytes]]:
    builder = ChunkBuilder(container, params)
    leaves = builder.level(0)
    for entry in entries:
        leaves.add(entry)
    leaves.flush()
    root = builder.top(0)
    return root.id, builder.reachable(root.id)


# ---------------------------------------------------------------- encoding and decoding

_key = encode_basestring  # canonical text of a key (ensure_ascii=False, as canonical_str)


def _encode(container: str, height: int, entries: Sequence, tokens: Sequence) -> tuple[str, bytes]:
    """(id, raw) of one chunk; the text is assembled from the entries' tokens (canonical JSON)."""
    if height == 0:
        if container == ARRAY:
            items, refs = [], []
            for index, token in enumerate(tokens):
                if token[0] == "=":
                    items.append(token[1:])
                else:
                    items.append('"' + token + '"')
                    refs.append(str(index))
            kind = ARRAY_LEAF
            text = '{"i":[' + ",".join(items) + '],"r":[' + ",".join(refs) + "]}"
        else:
            inline, refs = [], []
            for (key, _), token in zip(entries, tokens):
                if token[0] == "=":
                    inline.append(_key(key) + ":" + token[1:])
                else:
                    refs.append(_key(key) + ':"' + token + '"')
            kind = OBJECT_LEAF
            text = '{"i":{' + ",".join(inline) + '},"r":{' + ",".join(refs) + "}}"
    else:
        ids = ",".join('"' + e.id + '"' for e in entries)
        counts = ",".join(str(e.count) for e in entries)
        if container == ARRAY:
            kind = ARRAY_INTERIOR
            text = '{"c":[' + ids + '],"h":' + str(height) + ',"n":[' + counts + "]}"
        else:
            kind = OBJECT_INTERIOR
            keys = ",".join(_key(e.last) for e in entries)
            text = '{"c":[' + ids + '],"h":' + str(height) + ',"k":[' + keys + '],"n":[' + counts + "]}"
    raw = kind + b" " + text.encode("utf-8")
    return object_id(raw), raw


def encode_chunk(container: str, height: int, entries: Sequence) -> tuple[str, bytes]:
    """(id, raw) of one chunk node holding ``entries`` (leaf entries, or ChunkRefs if height > 0)."""
    if height:
        tokens: list = [None] * len(entries)
    elif container == ARRAY:
        tokens = [entry_token(e) for e in entries]
    else:
        tokens = [entry_token(child) for _, child in entries]
    return _encode(container, height, entries, tokens)


_HEX_ID = re.compile(r"[0-9a-f]{64}")


def _id(value: Any) -> str:
    if type(value) is not str or not _HEX_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not an object id")
    return value


def _fields(p: Any, names: set[str]) -> None:
    if type(p) is not dict or p.keys() != names:
        raise ValueError(f"fields must be exactly {sorted(names)}")


_HEX_RUN = re.compile(r"[0-9a-f]*")


def _counts(p: dict) -> tuple[list[str], int, list[int]]:
    ids, height, counts = p["c"], p["h"], p["n"]
    if type(ids) is not list or type(counts) is not list or not ids or len(ids) != len(counts):
        raise ValueError("c and n must be non-empty lists of one length")
    if type(height) is not int or not 1 <= height <= MAX_HEIGHT:
        raise ValueError(f"h must be an integer from 1 to {MAX_HEIGHT}")
    if set(map(type, counts)) != {int} or min(counts) < 1:
        raise ValueError("counts must be integers >= 1")
    # Checked as a whole (a node holds dozens of ids): all strings of 64 lowercase hex digits.
    if set(map(type, ids)) != {str} or set(map(len, ids)) != {64} or not _HEX_RUN.fullmatch("".join(ids)):
        raise ValueError(f"c must hold object ids, got {next(c for c in ids if not _is_id(c))!r}")
    return ids, height, counts


def _is_id(value: Any) -> bool:
    return type(value) is str and _HEX_ID.fullmatch(value) is not None


def _decode_array_leaf(p: Any) -> ChunkNode:
    _fields(p, {"i", "r"})
    items, refs = p["i"], p["r"]
    if type(items) is not list or type(refs) is not list:
        raise ValueError("i and r must be lists")
    previous = -1
    for index in refs:
        if type(index) is not int or not previous < index < len(items):
            raise ValueError("r must be increasing indices into i")
        items[index] = Ref(_id(items[index]))
        previous = index
    return ChunkNode(ARRAY, 0, tuple(items), len(items), None)


def _decode_object_leaf(p: Any) -> ChunkNode:
    _fields(p, {"i", "r"})
    inline, refs = p["i"], p["r"]
    if type(inline) is not dict or type(refs) is not dict:
        raise ValueError("i and r must be objects")
    merged: dict[str, Child] = dict(inline)
    for key, child_id in refs.items():
        if key in merged:
            raise ValueError(f"key {key!r} is both inline and a reference")
        merged[key] = Ref(_id(child_id))
    keys = sorted(merged)
    return ChunkNode(OBJECT, 0, tuple((k, merged[k]) for k in keys), len(keys), keys[-1] if keys else None)


def _decode_array_interior(p: Any) -> ChunkNode:
    _fields(p, {"c", "h", "n"})
    ids, height, counts = _counts(p)
    return ChunkNode(ARRAY, height, _refs(zip(ids, counts, repeat(None))), sum(counts), None)


def _decode_object_interior(p: Any) -> ChunkNode:
    _fields(p, {"c", "h", "k", "n"})
    ids, height, counts = _counts(p)
    keys = p["k"]
    if type(keys) is not list or len(keys) != len(ids) or set(map(type, keys)) != {str}:
        raise ValueError("k must be a list of keys, one per child")
    if len(set(keys)) != len(keys) or keys != sorted(keys):
        raise ValueError("k must be strictly increasing")
    return ChunkNode(OBJECT, height, _refs(zip(ids, counts, keys)), sum(counts), keys[-1])


def _refs(fields: Iterable[tuple[str, int, str | None]]) -> tuple[ChunkRef, ...]:
    """ChunkRefs made straight from their field tuples (no per-entry Python call)."""
    return tuple(map(tuple.__new__, repeat(ChunkRef), fields))


_DECODERS = {
    ARRAY_LEAF: _decode_array_leaf,
    ARRAY_INTERIOR: _decode_array_interior,
    OBJECT_LEAF: _decode_object_leaf,
    OBJECT_INTERIOR: _decode_object_interior,
}


def is_chunk(raw: bytes) -> bool:
    """Whether raw object bytes are a chunk node."""
    return raw.split(b" ", 1)[0] in CHUNK_KINDS


def decode_chunk(oid: str, raw: bytes, depth: int = 1) -> ChunkNode:
    """Decode and check a chunk node: canonical bytes, structure, and inline entries nesting
    within the depth limit for a container at depth ``depth`` (the root is 1).

    Malformed bytes raise CorruptObjectError (NonCanonicalObjectError for a non-canonical
    payload), unknown kinds UnsupportedObjectError, too deep LimitExceededError."""
    kind, body = split_kind(raw)
    decoder = _DECODERS.get(kind)
    if decoder is None:
        if kind in KNOWN_KINDS:
            raise CorruptObjectError(f"object {oid} is a {kind.decode()}, not a chunk node")
        raise UnsupportedObjectError(
            f"object {oid} has kind {kind.decode(errors='replace')!r}, unknown to this statevcs version"
        )
    try:
        payload = parse_canonical(body)
    except ValueError as exc:
        raise NonCanonicalObjectError(f"object {oid} is not valid: {exc}") from None
    try:
        node = decoder(payload)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as exc:
        raise CorruptObjectError(f"chunk node {oid} is malformed: {exc}") from None
    if node.height == 0:
        values = [c for _, c in node.entries] if node.container == OBJECT else list(node.entries)
        check_nesting(oid, values, depth, nesting_bound(body))
    return node


def chunk_links(oid: str, raw: bytes) -> list[str]:
    """Ids a chunk node links to (child chunks, or the child nodes of its entries), for fsck and gc."""
    node = decode_chunk(oid, raw)
    if node.height:
        return [ref.id for ref in node.entries]
    values = (c for _, c in node.entries) if node.container == OBJECT else node.entries
    return [c.id for c in values if type(c) is Ref]
