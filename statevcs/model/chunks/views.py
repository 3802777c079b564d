"""Chunked containers inside state trees: which chunk parameters the writer uses, and lazy
views that let tree code read a chunked object or array like a dict or list of children
while reading only the chunks on the paths it follows.

tree.py decides when a container is chunked (it does not fit in one chunk) and routes
chunk nodes through these views; diff and merge recognise the views and compare chunk
ids first (chunks/diff.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ...errors import InvalidLimitError, PathNotFoundError
from ..missing import MISSING
from ..objects import Child
from .build import DEFAULT_PARAMS, ChunkParams
from .format import ChunkNode, RawSource
from .read import array_get, array_items, array_range, iter_entries, length, object_children, object_get

#: Chunk weights for the tree writer, ``MIN,SPAN,MAX`` of leaves (interior levels keep the
#: defaults) or all seven fields of ChunkParams in order (tests lower them so that small
#: values chunk); unset: ChunkParams() of chunks/build.py (docs/storage-format.md).
ENV_CHUNK_PARAMS = "STATEVCS_CHUNK_PARAMS"

_override: list[ChunkParams] = []
_env_cache: tuple[str | None, ChunkParams] = (None, DEFAULT_PARAMS)


def chunk_params() -> ChunkParams:
    """The chunk parameters the tree writer uses now (see use_chunk_params, $STATEVCS_CHUNK_PARAMS)."""
    global _env_cache
    if _override:
        return _override[-1]
    text = os.environ.get(ENV_CHUNK_PARAMS)
    if text != _env_cache[0]:
        params = DEFAULT_PARAMS
        if text:
            try:
                fields = [int(x) for x in text.split(",")]
                if len(fields) not in (3, 7):
                    raise ValueError("it needs 3 or 7 whole numbers")
                params = ChunkParams(*fields)
            except ValueError as exc:
                raise InvalidLimitError(
                    f"{ENV_CHUNK_PARAMS}={text!r} is not usable ({exc}): give MIN,SPAN,MAX leaf weights, or those "
                    "and IMIN,ISPAN,IMAX,REF_WEIGHT, or unset it for the defaults") from None
        _env_cache = (text, params)
    return _env_cache[1]


@contextmanager
def use_chunk_params(params: ChunkParams) -> Iterator[ChunkParams]:
    """Write trees with ``params`` inside the block (tests: small chunks on small values).

    Trees stay readable whatever the parameters; only history independence (the same
    value giving the same ids) needs every writer of a repository to use the same ones."""
    _override.append(params)
    try:
        yield params
    finally:
        _override.pop()


class ChunkedObject(Mapping):
    """A chunked object as a read-only mapping of key -> Child; ``[key]``/``get``/``in`` read
    one path of chunks, ``len`` the root only; iterating reads every leaf chunk."""

    __slots__ = ("id", "node", "source")

    def __init__(self, source: RawSource, oid: str, node: ChunkNode) -> None:
        self.source = source
        self.id = oid
        self.node = node

    def __getitem__(self, key: str) -> Child:
        found = object_get(self.source, self.id, key) if type(key) is str else MISSING
        if found is MISSING:
            raise KeyError(key)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        found = object_get(self.source, self.id, key) if type(key) is str else MISSING
        return default if found is MISSING else found

    def __contains__(self, key: object) -> bool:
        return type(key) is str and object_get(self.source, self.id, key) is not MISSING

    def __len__(self) -> int:
        return self.node.count

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in iter_entries(self.source, self.id))

    def children(self) -> dict[str, Child]:
        """Every key -> Child, in key order (reads every chunk once)."""
        return object_children(self.source, self.id)

    def __repr__(self) -> str:
        return f"ChunkedObject({self.id[:12]}, {self.node.count} keys)"


class ChunkedArray(Sequence):
    """A chunked array as a read-only sequence of Children; ``[i]`` reads one path of chunks,
    ``len`` the root only, a slice only the chunks it spans; iterating reads every leaf."""

    __slots__ = ("id", "node", "source")

    def __init__(self, source: RawSource, oid: str, node: ChunkNode) -> None:
        self.source = source
        self.id = oid
        self.node = node

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.node.count)
            if step != 1:
                return self.children()[index]
            return array_range(self.source, self.id, start, max(start, stop))
        if index < 0:
            index += self.node.count
        if not 0 <= index < self.node.count:
            raise IndexError(index)
        try:
            return array_get(self.source, self.id, index)
        except PathNotFoundError:
            raise IndexError(index) from None

    def __len__(self) -> int:
        return self.node.count

    def __iter__(self) -> Iterator[Child]:
        return iter_entries(self.source, self.id)

    def children(self) -> list[Child]:
        """Every item, in order (reads every chunk once)."""
        return array_items(self.source, self.id)

    def __repr__(self) -> str:
        return f"ChunkedArray({self.id[:12]}, {self.node.count} items)"


def chunked_view(source: RawSource, oid: str, node: ChunkNode) -> ChunkedObject | ChunkedArray:
    """The lazy view of the chunked container rooted at ``oid`` (``node``, its decoded root)."""
    if node.container == "object":
        return ChunkedObject(source, oid, node)
    return ChunkedArray(source, oid, node)


def plain_children(contents: Any) -> Any:
    """A view's children as a plain dict or list (views read in full); others as they are."""
    if isinstance(contents, (ChunkedObject, ChunkedArray)):
        return contents.children()
    return contents


def is_chunked(contents: Any) -> bool:
    return isinstance(contents, (ChunkedObject, ChunkedArray))


__all__ = [
    "ENV_CHUNK_PARAMS", "ChunkedArray", "ChunkedObject", "chunk_params", "chunked_view", "is_chunked",
    "length", "plain_children", "use_chunk_params",
]
