"""Cached reads of objects from a store: verified raw bytes, decoded nodes and commits."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from ..errors import CorruptObjectError, ObjectNotFoundError, RevisionNotFoundError
from .objects import (
    COMMIT,
    TAG,
    Commit,
    Node,
    Tag,
    decode_commit,
    decode_node,
    decode_tag,
    split_kind,
)


class RawSource(Protocol):
    def get(self, oid: str) -> bytes: ...


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: object) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)


class ObjectReader:
    """Reads objects through small LRU caches; objects are immutable, so caching is safe.

    ``extra`` holds objects not (yet) in the store, such as a working state's nodes.
    """

    def __init__(self, store: RawSource, cache_size: int = 20_000) -> None:
        self.store = store
        self.extra: dict[str, bytes] = {}
        self._raw: _LRU = _LRU(cache_size)
        self._nodes: _LRU = _LRU(cache_size)
        self._commits: _LRU = _LRU(cache_size)

    def raw(self, oid: str) -> bytes:
        raw = self._raw.get(oid)
        if raw is None:
            raw = self.extra.get(oid)
            if raw is None:
                raw = self.store.get(oid)
            self._raw.put(oid, raw)
        return raw

    def node(self, oid: str) -> Node:
        node = self._nodes.get(oid)
        if node is None:
            node = decode_node(oid, self.raw(oid))
            self._nodes.put(oid, node)
        return node

    def commit(self, oid: str) -> Commit:
        commit = self._commits.get(oid)
        if commit is None:
            commit = decode_commit(oid, self.raw(oid))
            self._commits.put(oid, commit)
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
        self._raw.clear()
        self._nodes.clear()
        self._commits.clear()


__all__ = ["ObjectReader", "ObjectNotFoundError"]
