"""Building chunk trees: where chunks end (the boundary rule) and the builders.

Chunks end at places chosen by the content alone: a chunk ends after an entry whose keyed
blake3 hash falls under a threshold proportional to the entry's weight (its size), once the
chunk weighs a minimum, and always once it weighs a maximum; a chunk never ends before its
second entry. The ids of the chunks are cut again by the same rule (with the interior
levels' own weights, see ChunkParams), with another hash key per level, until one node
remains. The same entries always give the same nodes (history independence), and an edit
rewrites only the chunks around it and their spine (see edit.py). The node format is in
format.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import blake3

from ...errors import InvalidStateError
from ..objects import Child
from .format import ARRAY, ID_WEIGHT, OBJECT, ChunkRef, encode_tokens, entry_token


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
        oid, raw = encode_tokens(self.container, height, entries, tokens)
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
                oid, raw = encode_tokens(self.container, 0, [], [])
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
