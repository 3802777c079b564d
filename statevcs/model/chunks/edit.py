"""Edits of chunked containers that write only the chunks around the change and their spine.

Every edit is a splice of the leaf entries: ``remove`` entries at one position replaced by
new ones. Whether an entry ends a chunk depends only on the entries since the previous
boundary, and a node always starts at a boundary. So the chunker of each level is primed
with the entries before the edit inside the node on the path, fed the new entries, then
the old entries that follow, until it ends a chunk exactly where an old node ended: from
there on the old nodes are reused as they are. The level above does the same with the
chunks the level below emitted in place of the nodes it consumed. The result is the tree
a build from scratch gives (history independence, tested), and only its new nodes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import CorruptObjectError, InvalidStateError, PathNotFoundError
from ..missing import MISSING
from ..objects import Child
from .build import DEFAULT_PARAMS, ChunkBuilder, ChunkParams, build_array, build_object
from .format import ARRAY, OBJECT, ChunkNode, RawSource
from .read import ChunkReader, walk_chunks

#: Many edits of one container cost more as splices (each re-cuts a leaf and its spine)
#: than one build of all its entries: past one edit per this many entries, it is rebuilt.
#: Either way the ids are the same (history independence) for a tree cut by the current
#: parameters; a tree cut by other ones keeps its old cuts where a splice does not reach.
REBUILD_EVERY = 64


class _Cursor:
    """The old tree around an edit: per height, the node on the path and its next old entry.

    ``idx[h]`` is the first entry of ``nodes[h]`` neither fed to the level-h chunker nor
    replaced (consumed) by what the level below emits.
    """

    def __init__(self, reader: ChunkReader, root: ChunkNode) -> None:
        self.reader = reader
        self.top = root.height
        self.nodes: list[ChunkNode] = [root] * (self.top + 1)
        self.idx = [0] * (self.top + 1)

    def to_index(self, pos: int) -> None:
        """Stand before leaf entry ``pos`` (0 <= pos <= count; count stands after the last)."""
        node = self.nodes[self.top]
        for h in range(self.top, 0, -1):
            last = len(node.entries) - 1
            for i, ref in enumerate(node.entries):
                if pos < ref.count or i == last:
                    break
                pos -= ref.count
            self.idx[h] = i
            node = self.nodes[h - 1] = self.reader.child(node, node.entries[i])
        if pos > len(node.entries):
            raise CorruptObjectError("chunk counts do not add up")
        self.idx[0] = pos

    def to_key(self, key: str) -> bool:
        """Stand before ``key`` (or where it would go); whether it is there."""
        node = self.nodes[self.top]
        for h in range(self.top, 0, -1):
            i = min(bisect_left([ref.last for ref in node.entries], key), len(node.entries) - 1)
            self.idx[h] = i
            node = self.nodes[h - 1] = self.reader.child(node, node.entries[i])
        keys = [k for k, _ in node.entries]
        i = self.idx[0] = bisect_left(keys, key)
        return i < len(keys) and keys[i] == key

    def consume(self, h: int) -> None:
        """The node on the path at height ``h`` is replaced: the level above skips its entry."""
        if h < self.top:
            self.idx[h + 1] += 1

    def next_node(self, h: int) -> bool:
        """Move to the old node after ``nodes[h]`` at height ``h`` (consumed first); False at the end."""
        if h == self.top:
            return False
        while self.idx[h + 1] >= len(self.nodes[h + 1].entries):
            self.consume(h + 1)
            if not self.next_node(h + 1):
                return False
        parent = self.nodes[h + 1]
        self.nodes[h] = self.reader.child(parent, parent.entries[self.idx[h + 1]])
        self.idx[h] = 0
        return True

    def skip(self, count: int) -> None:
        """Drop the next ``count`` old leaf entries (they are removed by the edit)."""
        while True:
            available = len(self.nodes[0].entries) - self.idx[0]
            if count <= available:
                self.idx[0] += count
                return
            count -= available
            self.idx[0] = len(self.nodes[0].entries)
            self.consume(0)
            if not self.next_node(0):
                raise CorruptObjectError("chunk counts do not add up")


def _splice(reader: ChunkReader, cursor: _Cursor, builder: ChunkBuilder, remove: int, new: Sequence[Any]) -> tuple[str, dict[str, bytes]]:
    top = cursor.top
    for h in range(top, -1, -1):  # top down: what a priming emits comes after the primes above
        level = builder.level(h)
        for entry in cursor.nodes[h].entries[: cursor.idx[h]]:
            level.add(entry)
    leaves = builder.level(0)
    for entry in new:
        leaves.add(entry)
    cursor.skip(remove)
    for h in range(top + 1):
        _finish_level(cursor, builder, h)
    root = builder.top(top)
    node = reader.load(root.id)
    while node.height and len(node.entries) == 1:  # a level that made one chunk is the root
        root = node.entries[0]
        node = reader.child(node, root)
    new_nodes = builder.reachable(root.id)
    return root.id, {oid: raw for oid, raw in new_nodes.items() if oid not in reader.read}


def _finish_level(cursor: _Cursor, builder: ChunkBuilder, h: int) -> None:
    """Feed level ``h`` the old entries after the edit until it resynchronises or ends."""
    level = builder.level(h)
    while True:
        node = cursor.nodes[h]
        for entry in node.entries[cursor.idx[h] :]:
            level.add(entry)
        cursor.idx[h] = len(node.entries)
        cursor.consume(h)
        if not level.pending:
            return  # a chunk ended where an old node ended: every later old node stays
        if not cursor.next_node(h):
            level.flush()
            return


def _start(source: RawSource, root: str, container: str, params: ChunkParams) -> tuple[ChunkReader, ChunkBuilder, ChunkNode]:
    builder = ChunkBuilder(container, params)
    reader = ChunkReader(source, builder.objects)
    return reader, builder, reader.root(root, container)


def array_splice(
    source: RawSource,
    root: str,
    index: int,
    remove: int,
    insert: Sequence[Child] = (),
    params: ChunkParams = DEFAULT_PARAMS,
) -> tuple[str, dict[str, bytes]]:
    """Replace ``remove`` items at ``index`` with ``insert``; returns (new root id, {id: raw} of new nodes)."""
    reader, builder, node = _start(source, root, ARRAY, params)
    if not 0 <= index <= node.count or remove < 0 or index + remove > node.count:
        raise PathNotFoundError(f"items {index}..{index + remove} are out of range for an array of {node.count}")
    if not remove and not insert:
        return root, {}
    cursor = _Cursor(reader, node)
    cursor.to_index(index)
    return _splice(reader, cursor, builder, remove, list(insert))


def array_set(source: RawSource, root: str, index: int, item: Child, params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Replace item ``index``."""
    if index < 0:
        raise PathNotFoundError(f"index {index} is out of range")
    return array_splice(source, root, index, 1, [item], params)


def array_insert(source: RawSource, root: str, index: int, item: Child, params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Insert ``item`` before item ``index`` (``index`` == length appends)."""
    return array_splice(source, root, index, 0, [item], params)


def array_remove(source: RawSource, root: str, index: int, params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Remove item ``index``."""
    return array_splice(source, root, index, 1, (), params)


def array_append(source: RawSource, root: str, *items: Child, params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Append items at the end: rewrites the last leaf chunk and the spine above it."""
    reader, builder, node = _start(source, root, ARRAY, params)
    if not items:
        return root, {}
    cursor = _Cursor(reader, node)
    cursor.to_index(node.count)
    return _splice(reader, cursor, builder, 0, list(items))


def object_set(source: RawSource, root: str, key: str, child: Child, params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Set (add or replace) ``key``; one leaf chunk and its spine are rewritten."""
    if type(key) is not str:
        raise InvalidStateError(f"object key {key!r} is a {type(key).__name__}, JSON keys must be str")
    reader, builder, node = _start(source, root, OBJECT, params)
    cursor = _Cursor(reader, node)
    found = cursor.to_key(key)
    return _splice(reader, cursor, builder, 1 if found else 0, [(key, child)])


def object_remove(source: RawSource, root: str, key: str, params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Remove ``key`` (PathNotFoundError when it is not there)."""
    reader, builder, node = _start(source, root, OBJECT, params)
    cursor = _Cursor(reader, node)
    if not cursor.to_key(key):
        raise PathNotFoundError(f"no key {key!r}")
    return _splice(reader, cursor, builder, 1, [])


def object_update(source: RawSource, root: str, changes: Mapping[str, Any],
                  params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Set (Child) or remove (MISSING) many keys at once; (new root, {id: raw} of new nodes).

    Few changes are spliced one by one; many are applied to the entries and the container
    is built again (a merge of hundreds of changes into a small team state)."""
    for key in changes:
        if type(key) is not str:
            raise InvalidStateError(f"object key {key!r} is a {type(key).__name__}, JSON keys must be str")
    _, _, node = _start(source, root, OBJECT, params)
    if len(changes) * REBUILD_EVERY < node.count:
        layered = _Layered(source)
        for key, child in sorted(changes.items()):
            if child is MISSING:
                root, chunks = object_remove(layered, root, key, params)
            else:
                root, chunks = object_set(layered, root, key, child, params)
            layered.fresh.update(chunks)
        return root, layered.new(root)
    old, entries = _read_all(source, root)
    children = dict(entries)
    for key, child in changes.items():
        if child is MISSING:
            if children.pop(key, MISSING) is MISSING:
                raise PathNotFoundError(f"no key {key!r}")
        else:
            children[key] = child
    new_root, built = build_object(children, params)
    return new_root, {oid: raw for oid, raw in built.items() if oid not in old}


def array_splices(source: RawSource, root: str, splices: Sequence[tuple[int, int, Sequence[Child]]],
                  params: ChunkParams = DEFAULT_PARAMS) -> tuple[str, dict[str, bytes]]:
    """Several ``(index, remove, insert)`` splices, given in increasing and non-overlapping
    positions of the original array; (new root, {id: raw} of new nodes)."""
    _, _, node = _start(source, root, ARRAY, params)
    end = 0
    for index, remove, _ in splices:
        if index < end or remove < 0 or index + remove > node.count:
            raise PathNotFoundError(f"splices must be in order and inside the array of {node.count}")
        end = index + remove
    if sum(remove + len(insert) for _, remove, insert in splices) * REBUILD_EVERY < node.count:
        layered = _Layered(source)
        for index, remove, insert in reversed(splices):  # from the end: earlier positions stay valid
            root, chunks = array_splice(layered, root, index, remove, insert, params)
            layered.fresh.update(chunks)
        return root, layered.new(root)
    old, items = _read_all(source, root)
    for index, remove, insert in reversed(splices):
        items[index:index + remove] = insert
    new_root, built = build_array(items, params)
    return new_root, {oid: raw for oid, raw in built.items() if oid not in old}


def _read_all(source: RawSource, root: str) -> tuple[set[str], list[Any]]:
    """The ids of a tree's chunks and its leaf entries, in order."""
    old: set[str] = set()
    entries: list[Any] = []
    for oid, node in walk_chunks(source, root):
        old.add(oid)
        if node.height == 0:
            entries.extend(node.entries)
    return old, entries


class _Layered:
    """A source that also holds the chunks earlier splices of one batch wrote."""

    def __init__(self, source: RawSource) -> None:
        self.source = source
        self.fresh: dict[str, bytes] = {}

    def raw(self, oid: str) -> bytes:
        raw = self.fresh.get(oid)
        return raw if raw is not None else self.source.raw(oid)

    def new(self, root: str) -> dict[str, bytes]:
        """The fresh chunks still in the tree of ``root`` (later splices replace earlier ones)."""
        keep: dict[str, bytes] = {}
        stack = [root]
        while stack:
            oid = stack.pop()
            raw = self.fresh.get(oid)
            if raw is None or oid in keep:
                continue
            keep[oid] = raw
            node = ChunkReader(self).load(oid)
            if node.height:
                stack.extend(ref.id for ref in node.entries)
        return keep
