"""Encoded objects: state nodes, commits and annotated tags.

Every object is ``kind + b" " + canonical JSON payload`` and its id is the blake3 hex
digest of exactly those bytes. The kind carries a version (``obj1``, ``commit1``), so
later node kinds (chunked objects and arrays) can be added without breaking old
repositories: a reader meeting an unknown kind raises UnsupportedObjectError.

State node kinds (see docs/storage-format.md):
  obj1   ``{"i": {key: inline value}, "r": {key: child id}}`` - an object
  arr1   ``{"i": [item or child id], "r": [indices of items that are child ids]}``
  val1   ``{"v": value}`` - a whole state that is a scalar
  arrl1, arrn1, objl1, objn1 - chunks of a big array or object (format 2, decoded by
         chunks/format.py as ``ChunkNode``)

This module is the bottom of the object model: every kind is spelled here, flat nodes,
commits and tags are encoded and decoded here; nodes.py decodes any node (flat or chunk)
and lists the ids any object links to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Union

from ..errors import CorruptObjectError, LimitExceededError, NonCanonicalObjectError, UnsupportedObjectError
from ..limits import ENV_MAX_DEPTH, max_depth
from .canonical import canonical_bytes, hash_object, json_kind, nesting, parse_canonical, validate

OBJECT_NODE = b"obj1"
ARRAY_NODE = b"arr1"
VALUE_NODE = b"val1"
COMMIT = b"commit1"
TAG = b"tag1"
#: Chunk nodes of big containers (format 2, model/chunks/format.py).
ARRAY_LEAF = b"arrl1"
ARRAY_INTERIOR = b"arrn1"
OBJECT_LEAF = b"objl1"
OBJECT_INTERIOR = b"objn1"
CHUNK_KINDS = (ARRAY_LEAF, ARRAY_INTERIOR, OBJECT_LEAF, OBJECT_INTERIOR)
FLAT_NODE_KINDS = (OBJECT_NODE, ARRAY_NODE, VALUE_NODE)
NODE_KINDS = FLAT_NODE_KINDS + CHUNK_KINDS
KNOWN_KINDS = NODE_KINDS + (COMMIT, TAG)

ID_HEX_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Ref:
    """A child stored as its own node, referenced by id inside its parent node."""

    id: str


Child = Union[Ref, Any]  # a Ref, or an inline JSON value (which never contains a Ref)


@dataclass(frozen=True, slots=True)
class ObjectNode:
    """A JSON object node: each child inline or a Ref."""

    children: dict[str, Child]


@dataclass(frozen=True, slots=True)
class ArrayNode:
    """A JSON array node: each item inline or a Ref."""

    items: list[Child]


@dataclass(frozen=True, slots=True)
class ValueNode:
    """A whole state that is a scalar (or any value kept in one piece)."""

    value: Any


Node = Union[ObjectNode, ArrayNode, ValueNode, Any]  # Any: a chunks.format.ChunkNode


@dataclass(frozen=True)
class Commit:
    """One version of a state: its root node, parents, and who/when/why."""

    id: str
    root: str
    parents: tuple[str, ...]
    generation: int
    author: str
    timestamp: datetime
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:10]

    @property
    def summary(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Tag:
    """An annotated tag object: a named, signed-off pointer to a commit."""

    id: str
    target: str
    name: str
    tagger: str
    timestamp: datetime
    message: str


def split_kind(raw: bytes) -> tuple[bytes, bytes]:
    """Split raw object bytes into (kind, payload)."""
    space = raw.find(b" ")
    if space <= 0:
        raise CorruptObjectError("object has no kind header")
    return raw[:space], raw[space + 1 :]


def object_id(raw: bytes) -> str:
    return hash_object(raw).hex()


def encode(kind: bytes, payload: Any) -> tuple[str, bytes]:
    """Encode an object; returns (id, raw bytes)."""
    raw = kind + b" " + canonical_bytes(payload)
    return object_id(raw), raw


def format_time(ts: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (fixed width, sorts as text)."""
    t = ts.astimezone(timezone.utc) if ts.tzinfo is not timezone.utc else ts
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
            f".{t.microsecond:06d}Z")


def parse_time(text: str) -> datetime:
    """The time ``format_time`` wrote (ValueError for anything else that is not ISO 8601 UTC)."""
    if len(text) != 27 or text[-1] != "Z" or text[10] != "T":
        raise ValueError(f"{text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    # fromisoformat is C code (strptime is not); callers compare format_time(result) with
    # the text, so anything fromisoformat accepts beyond the fixed form is refused there.
    return datetime.fromisoformat(text[:-1] + "+00:00")


def encode_commit(
    root: str,
    parents: tuple[str, ...],
    generation: int,
    author: str,
    timestamp: datetime,
    message: str,
    metadata: dict[str, Any],
) -> tuple[Commit, bytes]:
    """Build a Commit value and its raw encoding."""
    if metadata:  # an empty dict is valid: most commits carry none
        validate(metadata)
    payload = {
        "root": root,
        "parents": list(parents),
        "generation": generation,
        "author": author,
        "time": format_time(timestamp),
        "message": message,
        "metadata": metadata,
    }
    oid, raw = encode(COMMIT, payload)
    ts = timestamp.astimezone(timezone.utc)  # what a reader will see (the format keeps microseconds)
    return Commit(oid, root, tuple(parents), generation, author, ts, message, dict(metadata)), raw


def encode_tag(target: str, name: str, tagger: str, timestamp: datetime, message: str) -> tuple[Tag, bytes]:
    payload = {"target": target, "name": name, "tagger": tagger, "time": format_time(timestamp), "message": message}
    oid, raw = encode(TAG, payload)
    return Tag(oid, target, name, tagger, parse_time(payload["time"]), message), raw


def is_object_id(value: Any) -> bool:
    """Is ``value`` a full object id (64 lowercase hex digits)?"""
    return type(value) is str and _ID.fullmatch(value) is not None


_ID = re.compile(r"[0-9a-f]{64}")


def _payload(oid: str, raw: bytes, expected: bytes) -> Any:
    kind, body = split_kind(raw)
    if kind != expected:
        raise CorruptObjectError(f"object {oid} is a {kind.decode(errors='replace')}, not a {expected.decode()}")
    return _parse(oid, body)


def _parse(oid: str, body: bytes) -> Any:
    try:
        return parse_canonical(body)
    except ValueError as exc:
        raise NonCanonicalObjectError(f"object {oid} is not valid: {exc}") from None


def _fields(oid: str, what: str, p: Any, names: frozenset[str]) -> dict[str, Any]:
    if type(p) is not dict or p.keys() != names:
        got = sorted(p) if type(p) is dict else json_kind(p)
        raise CorruptObjectError(f"{what} {oid} is malformed: fields {got}, expected {sorted(names)}")
    return p


def _typed(oid: str, what: str, field_name: str, value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise CorruptObjectError(
            f"{what} {oid} is malformed: {field_name} is a {json_kind(value)}, expected a {_KIND_NAMES[kind]}")
    return value


_KIND_NAMES = {str: "str", int: "int", dict: "object", list: "array"}
_COMMIT_FIELDS = frozenset(("root", "parents", "generation", "author", "time", "message", "metadata"))
_TAG_FIELDS = frozenset(("target", "name", "tagger", "time", "message"))


def _time(oid: str, what: str, text: Any) -> datetime:
    _typed(oid, what, "time", text, str)
    try:
        ts = parse_time(text)
    except ValueError:
        ts = None
    if ts is None or format_time(ts) != text:
        raise CorruptObjectError(f"{what} {oid} is malformed: time {text[:40]!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return ts


def _id_field(oid: str, what: str, field_name: str, value: Any) -> str:
    if not is_object_id(value):
        raise CorruptObjectError(f"{what} {oid} is malformed: {field_name} is not an object id")
    return value


def decode_commit(oid: str, raw: bytes) -> Commit:
    """Decode and check a commit: its fields, their types, and a generation that fits its parents' count.

    Whether the parents exist and the generation is 1 + theirs is checked where the parents
    can be read (fetch, fsck: ``check_commit_links``)."""
    p = _fields(oid, "commit", _payload(oid, raw, COMMIT), _COMMIT_FIELDS)
    root = _id_field(oid, "commit", "root", p["root"])
    parents = _typed(oid, "commit", "parents", p["parents"], list)
    for parent in parents:
        _id_field(oid, "commit", "a parent", parent)
    if len(set(parents)) != len(parents):
        raise CorruptObjectError(f"commit {oid} is malformed: a parent is listed twice")
    generation = _typed(oid, "commit", "generation", p["generation"], int)
    if generation < 1 or (not parents and generation != 1) or (parents and generation < 2):
        raise CorruptObjectError(f"commit {oid} is malformed: generation {generation} with {len(parents)} parent(s)")
    return Commit(
        oid,
        root,
        tuple(parents),
        generation,
        _typed(oid, "commit", "author", p["author"], str),
        _time(oid, "commit", p["time"]),
        _typed(oid, "commit", "message", p["message"], str),
        _typed(oid, "commit", "metadata", p["metadata"], dict),
    )


def check_commit_links(commit: Commit, parent_generations: list[int]) -> None:
    """Raise CorruptObjectError unless ``commit.generation`` is 1 + the largest parent's."""
    expected = 1 + max(parent_generations, default=0)
    if commit.generation != expected:
        raise CorruptObjectError(
            f"commit {commit.id} has generation {commit.generation}, but its parents make it {expected}")


def decode_tag(oid: str, raw: bytes) -> Tag:
    """Decode and check an annotated tag object."""
    p = _fields(oid, "tag", _payload(oid, raw, TAG), _TAG_FIELDS)
    return Tag(
        oid,
        _id_field(oid, "tag", "target", p["target"]),
        _typed(oid, "tag", "name", p["name"], str),
        _typed(oid, "tag", "tagger", p["tagger"], str),
        _time(oid, "tag", p["time"]),
        _typed(oid, "tag", "message", p["message"], str),
    )


def decode_flat_node(oid: str, raw: bytes) -> Node:
    """Decode and check a flat state node (obj1, arr1, val1); children that are their own
    nodes become Ref. Chunk kinds are decoded by nodes.decode_node."""
    kind, body = node_kind(oid, raw)
    if kind in CHUNK_KINDS:
        raise CorruptObjectError(f"object {oid} is a chunk node, not a flat node")
    p = _parse(oid, body)
    check_node_payload(oid, kind, p, 1, nesting_bound(body))
    if kind == OBJECT_NODE:
        children: dict[str, Child] = p["i"]
        for key, child_id in p["r"].items():
            children[key] = Ref(child_id)
        return ObjectNode(children)
    if kind == ARRAY_NODE:
        items: list[Child] = p["i"]
        for index in p["r"]:
            items[index] = Ref(items[index])
        return ArrayNode(items)
    return ValueNode(p["v"])


def node_kind(oid: str, raw: bytes) -> tuple[bytes, bytes]:
    """(kind, body) of a state node; CorruptObjectError/UnsupportedObjectError for anything else."""
    kind, body = split_kind(raw)
    if kind not in NODE_KINDS:
        if kind in KNOWN_KINDS:
            raise CorruptObjectError(f"object {oid} is a {kind.decode()}, not a state node")
        raise UnsupportedObjectError(
            f"object {oid} has kind {kind.decode(errors='replace')!r}, unknown to this statevcs version"
        )
    return kind, body


_OBJ_FIELDS = frozenset(("i", "r"))
_VAL_FIELDS = frozenset(("v",))


def check_node_payload(oid: str, kind: bytes, p: Any, depth: int = 1, bound: int | None = None) -> None:
    """Raise CorruptObjectError unless ``p`` is a well-formed payload of a ``kind`` node.

    A node at container depth ``depth`` (the root is 1) must not nest past the depth limit
    (LimitExceededError). ``bound``, an upper bound of the node's own nesting (its count of
    brackets), spares measuring it when even the bound fits."""
    if kind == VALUE_NODE:
        _fields(oid, "node", p, _VAL_FIELDS)
        inline = p["v"]
    elif kind == OBJECT_NODE:
        _fields(oid, "node", p, _OBJ_FIELDS)
        inline_map, refs = _typed(oid, "node", "i", p["i"], dict), _typed(oid, "node", "r", p["r"], dict)
        for key, child in refs.items():
            _id_field(oid, "node", f"child {key!r}", child)
            if key in inline_map:
                raise CorruptObjectError(f"node {oid} is malformed: key {key!r} is both inline and a child node")
        inline = list(inline_map.values())  # the list's own level stands for the node's
    else:
        _fields(oid, "node", p, _OBJ_FIELDS)
        inline, refs = _typed(oid, "node", "i", p["i"], list), _typed(oid, "node", "r", p["r"], list)
        previous = -1
        for index in refs:
            if type(index) is not int or not previous < index < len(inline):
                raise CorruptObjectError(f"node {oid} is malformed: child index {index!r} is out of order or range")
            _id_field(oid, "node", f"item {index}", inline[index])
            previous = index
    check_nesting(oid, inline, depth, bound)


def check_nesting(oid: str, inline: Any, depth: int = 1, bound: int | None = None) -> None:
    """LimitExceededError if the inline values of a node at container depth ``depth`` (a
    list standing for the node's own level) nest past the depth limit; ``bound`` as in
    check_node_payload."""
    limit = max_depth()
    if bound is not None and depth - 1 + bound <= limit:
        return
    deepest = depth - 1 + nesting(inline)
    if deepest > limit:
        raise LimitExceededError(f"node {oid} nests {deepest} levels deep, past the limit of {limit} "
                                 f"({ENV_MAX_DEPTH} raises it, see docs/security.md)")


def nesting_bound(body: bytes) -> int:
    """An upper bound of how deeply containers nest in a JSON text: its count of opening brackets."""
    return body.count(b"[") + body.count(b"{")


def kind_of(raw: bytes) -> str:
    """Human name of an object's kind: node, commit or tag."""
    kind, _ = split_kind(raw)
    if kind in NODE_KINDS:
        return "node"
    if kind == COMMIT:
        return "commit"
    if kind == TAG:
        return "tag"
    return kind.decode(errors="replace")
