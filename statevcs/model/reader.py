"""Cached reads of objects from a store: verified raw bytes, decoded nodes and commits.

Decoded nodes include the chunk nodes of big containers (``chunked.ChunkNode``): chunk
readers (chunks/read.py) go through ``node()``, so a path read twice decodes once.

The caches are bounded by bytes, not entries: a few huge objects cannot fill memory
where thousands of small ones fit. Least recently used entries go first; a hit makes an
entry the most recent again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..errors import CorruptObjectError, NonCanonicalObjectError, ObjectNotFoundError, RevisionNotFoundError
from ..limits import cache_bytes as default_cache_bytes
from ..store.stored import verify
from .canonical import parse_canonical_noting, parse_known
from .nodes import decode_node
from .objects import COMMIT, TAG, Commit, Node, Tag, decode_commit, decode_tag, nesting_bound, split_kind


class RawSource(Protocol):
    def get(self, oid: str) -> bytes: ...


#: What an entry costs beyond its bytes (dict slot, key, object headers), so that many
#: tiny entries are bounded too.
ENTRY_OVERHEAD = 200


class ByteLRU:
    """A least-recently-used cache holding at most ``capacity`` bytes of entries."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()

    def get(self, key: str) -> Any:
        """The cached value (now the most recent), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: str, value: Any, size: int = 0) -> None:
        """Cache ``value``, which costs about ``size`` bytes; evicts the least recent entries."""
        cost = size + ENTRY_OVERHEAD
        old = self._entries.pop(key, None)
        if old is not None:
            self.used -= old[1]
        if cost > self.capacity:
            return  # larger than the whole cache: not kept
        self._entries[key] = (value, cost)
        self.used += cost
        while self.used > self.capacity:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.used -= evicted

    def resize(self, capacity: int) -> None:
        """Hold at most ``capacity`` bytes from now on (the least recent entries leave)."""
        self.capacity = capacity
        while self.used > capacity:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.used -= evicted

    def clear(self) -> None:
        self._entries.clear()
        self.used = 0

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


class ObjectReader:
    """Reads objects through byte-bounded LRU caches; objects are immutable, so caching is safe.

    ``cache_bytes`` (default ``$STATEVCS_CACHE_BYTES``, 128 MiB) is shared out between the
    raw bytes (a quarter) and decoded nodes and commits (the rest: decoded values take
    several times their encoded size, which their cost is estimated at).
    ``extra`` holds objects not (yet) in the store, such as a working state's nodes.
    """

    #: Decoded values cost about this many times their encoded bytes in Python objects.
    DECODED_FACTOR = 4

    def __init__(self, store: RawSource, cache_bytes: int | None = None) -> None:
        total = default_cache_bytes() if cache_bytes is None else cache_bytes
        self.store = store
        self.extra: dict[str, bytes] = {}
        self._raw = ByteLRU(total // 4)
        self._nodes = ByteLRU(total // 2)
        self._commits = ByteLRU(total // 4)
        self.cache_bytes = total
        #: A store that keeps a transaction's objects together hands them out together: the
        #: neighbours wait here, unverified, until read (a bounded number of them).
        self._with_neighbours = getattr(store, "get_with_neighbours", None)
        #: The commits written just before a commit (its likely ancestors) come with it, verified.
        self._with_history = getattr(store, "get_with_history", None)
        self._neighbours: OrderedDict[str, bytes] = OrderedDict()
        #: Ids whose bytes passed the canonical check with an exact orjson parse, with their
        #: nesting bound (fresh_payload).
        self._checked: OrderedDict[str, int] = OrderedDict()

    def raw(self, oid: str, neighbours: bool = True, history: bool = False) -> bytes:
        """An object's verified bytes. With ``neighbours`` (and a store that keeps a transaction's
        objects together), the objects written with it wait for the next reads: the root of
        a commit read to get at its state comes with it. With ``history`` instead, the
        commits written just before it come into the cache (a history walk reads them next)."""
        raw = self._raw.get(oid)
        if raw is None:
            raw = self.extra.get(oid)
            if raw is None:
                raw = self._neighbours.pop(oid, None)
                if raw is not None and not _verified(oid, raw):
                    raw = None
                if raw is None:
                    if history and self._with_history is not None:
                        raw, older = self._with_history(oid)  # verified by the store (their hashes)
                        for other, piece in older.items():
                            if other not in self._raw:
                                self._raw.put(other, piece, len(piece))
                    elif self._with_neighbours is None or not neighbours:
                        raw = self.store.get(oid)
                    else:
                        raw, found = self._with_neighbours(oid)
                        self._keep_neighbours(found)
            self._raw.put(oid, raw, len(raw))
        return raw

    def resize(self, cache_bytes: int) -> None:
        """Cache at most ``cache_bytes`` from now on, shared out as at creation (a long-lived
        process such as a LangGraph saver keeps its memory bounded this way)."""
        self.cache_bytes = cache_bytes
        self._raw.resize(cache_bytes // 4)
        self._nodes.resize(cache_bytes // 2)
        self._commits.resize(cache_bytes // 4)

    #: How many ids' checks fresh_payload remembers (about 150 bytes each).
    CHECKED = 4096

    def fresh_payload(self, oid: str, body: bytes) -> tuple[Any, int]:
        """The payload of ``oid`` (``body``: the bytes after its kind, as ``raw`` gave them) as
        fresh values the caller may mutate, and its nesting bound. The bytes are checked
        canonical the first time (NonCanonicalObjectError); once orjson's parse of them has
        proved exact, a later read of the same id parses them without the check. A history
        read parses the same chunks for every snapshot, and the check was 60% of it."""
        bound = self._checked.get(oid)
        if bound is not None:
            self._checked.move_to_end(oid)
            return parse_known(body), bound
        try:
            payload, exact = parse_canonical_noting(body)
        except ValueError as exc:
            raise NonCanonicalObjectError(f"object {oid} is not valid: {exc}") from None
        bound = nesting_bound(body)
        if exact:
            self._checked[oid] = bound
            if len(self._checked) > self.CHECKED:
                self._checked.popitem(last=False)
        return payload, bound

    def remember(self, objects: Mapping[str, bytes]) -> None:
        """Cache objects this process has just written, whose ids it computed from their
        bytes (a commit's new nodes): the next commit on the same branch reads them back
        without a store query or a second hash."""
        for oid, raw in objects.items():
            self._raw.put(oid, raw, len(raw))

    #: How many unverified neighbours wait at most (each is a small object of a recent pack).
    NEIGHBOURS = 512

    def _keep_neighbours(self, neighbours: dict[str, bytes]) -> None:
        waiting = self._neighbours
        for oid, piece in neighbours.items():
            if oid not in self._raw:
                waiting[oid] = piece
        while len(waiting) > self.NEIGHBOURS:
            waiting.popitem(last=False)

    def prefetch(self, oids: Iterable[str]) -> None:
        """Fetch those of ``oids`` not cached yet in one store query (a tree walk that knows a
        level's ids reads them together instead of one round trip each). Absent ids are
        left for the read that needs them to report."""
        get_many = getattr(self.store, "get_many", None)  # a plain RawSource reads one at a time
        missing = [o for o in oids if o not in self._raw and o not in self._nodes and o not in self.extra]
        if get_many is not None and len(missing) > 1:
            for oid, raw in get_many(missing).items():
                self._raw.put(oid, raw, len(raw))

    def node(self, oid: str) -> Node:
        node = self._nodes.get(oid)
        if node is None:
            raw = self.raw(oid)
            node = decode_node(oid, raw)
            self._nodes.put(oid, node, len(raw) * self.DECODED_FACTOR)
        return node

    def commit(self, oid: str) -> Commit:
        commit = self._commits.get(oid)
        if commit is None:
            raw = self.raw(oid, neighbours=False, history=True)  # a history walk reads commits, not their states
            commit = decode_commit(oid, raw)
            self._commits.put(oid, commit, len(raw) * self.DECODED_FACTOR)
        return commit

    def tag(self, oid: str) -> Tag:
        return decode_tag(oid, self.raw(oid))

    def kind(self, oid: str) -> bytes:
        return split_kind(self.raw(oid))[0]

    def peel(self, oid: str) -> str:
        """Follow annotated tags to the commit they name."""
        for _ in range(100):
            kind = self.kind(oid)
            if kind == TAG:
                oid = self.tag(oid).target
                continue
            if kind == COMMIT:
                return oid
            raise RevisionNotFoundError(f"object {oid[:12]} is a state node, not a commit or tag")
        raise CorruptObjectError(f"tag chain at {oid} is too long")

    def forget(self) -> None:
        self._neighbours.clear()
        self._checked.clear()
        self._raw.clear()
        self._nodes.clear()
        self._commits.clear()


def _verified(oid: str, raw: bytes) -> bool:
    try:
        verify(oid, raw)
    except CorruptObjectError:
        return False  # read it again from the store, which reports the damage
    return True


__all__ = ["ByteLRU", "ObjectReader", "ObjectNotFoundError"]
