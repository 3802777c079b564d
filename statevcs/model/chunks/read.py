"""Reading chunked containers: whole, or one index or key along its path (O(depth) nodes).

Every child a reader follows is checked against what its parent says of it (kind,
height, entry count, last key), so a damaged or mismatched tree raises
CorruptObjectError instead of returning wrong entries.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any

from ...errors import CorruptObjectError, PathNotFoundError
from ...limits import max_depth
from ..missing import MISSING
from ..objects import Child, check_nesting
from .format import ARRAY, OBJECT, ChunkNode, ChunkRef, RawSource, decode_chunk


class ChunkReader:
    """Decodes chunk nodes (from fresh objects first, then the source) and checks the tree's shape.

    ``read`` holds the ids fetched from the source, so callers can count and exclude them.
    """

    def __init__(self, source: RawSource, fresh: dict[str, bytes] | None = None, depth: int = 1) -> None:
        self.source = source
        self.depth = depth  # container depth of the tree's root: checks inline nesting (LimitExceededError)
        self.fresh = fresh if fresh is not None else {}
        self.read: set[str] = set()
        self._cache: dict[str, ChunkNode] = {}

    def load(self, oid: str) -> ChunkNode:
        node = self._cache.get(oid)
        if node is None:
            raw = self.fresh.get(oid)
            if raw is not None:
                node = decode_chunk(oid, raw, self.depth)
            else:
                node = load_chunk(self.source, oid, self.depth)
                self.read.add(oid)
            self._cache[oid] = node
        return node


    def prefetch(self, oids: Iterable[str]) -> None:
        """Let the source fetch these chunks together, if it can (ObjectReader.prefetch)."""
        fetch = getattr(self.source, "prefetch", None)
        if fetch is not None:
            fetch([o for o in oids if o not in self._cache and o not in self.fresh])

    def root(self, oid: str, container: str | None = None) -> ChunkNode:
        node = self.load(oid)
        if container is not None and node.container != container:
            raise CorruptObjectError(f"chunk {oid} is an {node.container} chunk, not an {container} one")
        return node

    def child(self, parent: ChunkNode, ref: ChunkRef) -> ChunkNode:
        """The node ``ref`` names inside ``parent``, checked against what the parent says of it."""
        node = self.load(ref.id)
        if (
            node.container != parent.container
            or node.height != parent.height - 1
            or node.count != ref.count
            or node.last != ref.last
        ):
            raise CorruptObjectError(f"chunk {ref.id} does not match its entry in its parent")
        return node


def load_chunk(source: RawSource, oid: str, depth: int = 1) -> ChunkNode:
    """A decoded chunk node from ``source``: through its node cache when it has one
    (model.reader.ObjectReader, tree.ObjectsSource), else decoded from its raw bytes. A
    leaf read for a container at depth ``depth`` is held to the depth limit from there
    (the cache decoded it as a root: its ``bound`` settles the check without a walk
    unless the leaf is nearly that deep)."""
    node_of = getattr(source, "node", None)
    if node_of is None:
        return decode_chunk(oid, source.raw(oid), depth)
    node = node_of(oid)
    if type(node) is not ChunkNode:
        raise CorruptObjectError(f"object {oid} is not a chunk node where a chunk was expected")
    if depth != 1 and node.height == 0 and (node.bound < 0 or depth - 1 + node.bound > max_depth()):
        check_nesting(oid, node.inline_values(), depth)  # the exact nesting, walked
    return node


def walk_chunks(source: RawSource, root: str) -> Iterator[tuple[str, ChunkNode]]:
    """Every chunk node of a tree, (id, node), parents before children, left to right."""
    reader = ChunkReader(source)
    stack = [(root, reader.root(root))]
    while stack:
        oid, node = stack.pop()
        yield oid, node
        if node.height:
            reader.prefetch([ref.id for ref in node.entries])  # one query for the children
            stack.extend((ref.id, reader.child(node, ref)) for ref in reversed(node.entries))


def iter_entries(source: RawSource, root: str) -> Iterator[Any]:
    """Every leaf entry in order: items (arrays) or (key, Child) pairs in key order (objects)."""
    for _, node in walk_chunks(source, root):
        if node.height == 0:
            yield from node.entries


def array_items(source: RawSource, root: str) -> list[Child]:
    """All items of a chunked array, in order (inline values are the decoded node's: copy to mutate)."""
    return list(iter_entries(source, root))


def object_children(source: RawSource, root: str) -> dict[str, Child]:
    """All children of a chunked object, in key order."""
    return dict(iter_entries(source, root))


def length(source: RawSource, root: str) -> int:
    """Number of entries of a chunked container (reads the root only)."""
    return ChunkReader(source).root(root).count


def array_get(source: RawSource, root: str, index: int) -> Child:
    """Item ``index`` of a chunked array, reading only the nodes on its path."""
    reader = ChunkReader(source)
    node = reader.root(root, ARRAY)
    if not 0 <= index < node.count:
        raise PathNotFoundError(f"index {index} is out of range for an array of {node.count}")
    while node.height:
        for ref in node.entries:
            if index < ref.count:
                node = reader.child(node, ref)
                break
            index -= ref.count
    return node.entries[index]


def array_range(source: RawSource, root: str, start: int, stop: int) -> list[Child]:
    """Items ``start:stop`` of a chunked array (0 <= start <= stop <= length), reading only the
    chunks that hold them and their spine."""
    reader = ChunkReader(source)
    node = reader.root(root, ARRAY)
    if not 0 <= start <= stop <= node.count:
        raise PathNotFoundError(f"items {start}..{stop} are out of range for an array of {node.count}")
    out: list[Child] = []
    _range(reader, node, start, stop, out)
    return out


def _range(reader: ChunkReader, node: ChunkNode, start: int, stop: int, out: list[Child]) -> None:
    if start >= stop:
        return
    if node.height == 0:
        out.extend(node.entries[start:stop])
        return
    at = 0
    for ref in node.entries:
        end = at + ref.count
        if end > start and at < stop:
            _range(reader, reader.child(node, ref), max(start - at, 0), min(stop, end) - at, out)
        if end >= stop:
            return
        at = end


def object_get(source: RawSource, root: str, key: str) -> Any:
    """The child at ``key`` of a chunked object (Child), or MISSING; reads only its path."""
    reader = ChunkReader(source)
    node = reader.root(root, OBJECT)
    while node.height:
        lasts = [ref.last for ref in node.entries]
        i = bisect_left(lasts, key)
        if i == len(lasts):
            return MISSING
        node = reader.child(node, node.entries[i])
    keys = [k for k, _ in node.entries]
    i = bisect_left(keys, key)
    return node.entries[i][1] if i < len(keys) and keys[i] == key else MISSING
