"""Any stored object, whatever its kind: decode a state node (flat or chunk) and list the
ids an object links to.

The one place that knows every kind: objects.py handles flat nodes, commits and tags,
chunks/format.py chunk nodes; readers, gc, fsck and transfers call these two functions.
"""

from __future__ import annotations

from .chunks.format import chunk_links, decode_chunk
from .objects import (
    CHUNK_KINDS,
    COMMIT,
    TAG,
    ArrayNode,
    Node,
    ObjectNode,
    Ref,
    decode_commit,
    decode_flat_node,
    decode_tag,
    node_kind,
    object_id,
    split_kind,
)


def decode_node(oid: str, raw: bytes) -> Node:
    """Decode and check a state node (children that are their own nodes become Ref).

    Chunk kinds decode to a ``chunks.format.ChunkNode`` (its inline entries checked against
    the depth limit as if it were the root)."""
    kind, _ = node_kind(oid, raw)
    if kind in CHUNK_KINDS:
        return decode_chunk(oid, raw, 1)
    return decode_flat_node(oid, raw)


def child_ids(raw: bytes, oid: str = "") -> list[str]:
    """Ids an object links to (children, root, parents, target), for fsck and gc.

    The object is decoded and checked first: CorruptObjectError if it is malformed."""
    oid = oid or object_id(raw)
    kind, _ = split_kind(raw)
    if kind == COMMIT:
        commit = decode_commit(oid, raw)
        return [commit.root, *commit.parents]
    if kind == TAG:
        return [decode_tag(oid, raw).target]
    if kind in CHUNK_KINDS:
        return chunk_links(oid, raw)
    node = decode_flat_node(oid, raw)
    if isinstance(node, ObjectNode):
        return [c.id for c in node.children.values() if type(c) is Ref]
    if isinstance(node, ArrayNode):
        return [c.id for c in node.items if type(c) is Ref]
    return []
