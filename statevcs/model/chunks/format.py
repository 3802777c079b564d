"""The chunk node format: kinds, decoded values, encoding and checked decoding.

A big array or object is stored as a tree of content-defined chunks (a prolly tree, the
idea of Dolt and Noms; build.py says where chunks end). Node kinds (docs/storage-format.md,
"Chunked containers"):
  arrl1  ``{"i": [item or child id], "r": [indices of child ids]}``            array leaf
  arrn1  ``{"c": [chunk id], "h": height, "n": [entries under each]}``         array interior
  objl1  ``{"i": {key: inline value}, "r": {key: child id}}``                   object leaf
  objn1  ``{"c": [chunk id], "h": height, "k": [last key], "n": [entries]}``   object interior

This is the bottom of the chunks package: build.py cuts and builds, read.py reads and
looks up, edit.py edits a tree, diff.py compares two, views.py lets tree code read one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from json.encoder import encode_basestring  # the C implementation when available
from typing import Any, NamedTuple, Protocol

from ...errors import CorruptObjectError, InvalidStateError, NonCanonicalObjectError, UnsupportedObjectError
from ..canonical import fast_canonical_str, parse_canonical
from ..objects import (
    ARRAY_INTERIOR,
    ARRAY_LEAF,
    CHUNK_KINDS,
    KNOWN_KINDS,
    OBJECT_INTERIOR,
    OBJECT_LEAF,
    Child,
    Ref,
    check_nesting,
    nesting_bound,
    object_id,
    split_kind,
)

ARRAY = "array"
OBJECT = "object"

#: Chunks hold at least two entries, so no tree of fewer than 2**64 entries is higher.
MAX_HEIGHT = 64

#: Weight of a chunk id in an interior entry (its 64 hex characters).
ID_WEIGHT = 64


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
    ``bound``: for a decoded leaf, an upper bound of how deeply its inline entries nest
    (its bytes' bracket count), which a read of the same node at a deeper container depth
    checks again (read.load_chunk); -1 where not known (the exact nesting is walked).
    """

    container: str  # ARRAY | OBJECT
    height: int
    entries: tuple
    count: int
    last: str | None
    bound: int = field(default=-1, compare=False)

    def inline_values(self) -> list:
        """A leaf's inline entries' values (what the depth limit applies to)."""
        return [c for _, c in self.entries] if self.container == OBJECT else list(self.entries)


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


# ---------------------------------------------------------------- encoding and decoding

_key = encode_basestring  # canonical text of a key (ensure_ascii=False, as canonical_str)


def encode_tokens(container: str, height: int, entries: Sequence, tokens: Sequence) -> tuple[str, bytes]:
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
    return encode_tokens(container, height, entries, tokens)


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
    _decoder(oid, kind)
    try:
        payload = parse_canonical(body)
    except ValueError as exc:
        raise NonCanonicalObjectError(f"object {oid} is not valid: {exc}") from None
    return chunk_of(oid, kind, payload, nesting_bound(body), depth)


def chunk_of(oid: str, kind: bytes, payload: Any, bound: int, depth: int = 1) -> ChunkNode:
    """A chunk node from its kind and parsed payload (canonical bytes, checked by the caller;
    ``bound``: their nesting_bound), its structure and nesting checked as decode_chunk does."""
    decoder = _decoder(oid, kind)
    try:
        node = decoder(payload)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as exc:
        raise CorruptObjectError(f"chunk node {oid} is malformed: {exc}") from None
    if node.height == 0:
        check_nesting(oid, node.inline_values(), depth, bound)
        object.__setattr__(node, "bound", bound)  # the node is still being made (frozen once returned)
    return node


def _decoder(oid: str, kind: bytes) -> Any:
    decoder = _DECODERS.get(kind)
    if decoder is None:
        if kind in KNOWN_KINDS:
            raise CorruptObjectError(f"object {oid} is a {kind.decode()}, not a chunk node")
        raise UnsupportedObjectError(
            f"object {oid} has kind {kind.decode(errors='replace')!r}, unknown to this statevcs version"
        )
    return decoder


def chunk_links(oid: str, raw: bytes) -> list[str]:
    """Ids a chunk node links to (child chunks, or the child nodes of its entries), for fsck and gc."""
    node = decode_chunk(oid, raw)
    if node.height:
        return [ref.id for ref in node.entries]
    values = (c for _, c in node.entries) if node.container == OBJECT else node.entries
    return [c.id for c in values if type(c) is Ref]
