"""Encoded objects: state nodes, commits and annotated tags.

Every object is ``kind + b" " + canonical JSON payload`` and its id is the blake3 hex
digest of exactly those bytes. The kind carries a version (``obj1``, ``commit1``), so
later node kinds (chunked objects and arrays) can be added without breaking old
repositories: a reader meeting an unknown kind raises UnsupportedObjectError.

State node kinds (see docs/storage-format.md):
  obj1   ``{"i": {key: inline value}, "r": {key: child id}}`` - an object
  arr1   ``{"i": [item or child id], "r": [indices of items that are child ids]}``
  val1   ``{"v": value}`` - a whole state that is a scalar
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Union

from ..errors import CorruptObjectError, UnsupportedObjectError
from .canonical import canonical_bytes, hash_object, loads, validate

OBJECT_NODE = b"obj1"
ARRAY_NODE = b"arr1"
VALUE_NODE = b"val1"
COMMIT = b"commit1"
TAG = b"tag1"
NODE_KINDS = (OBJECT_NODE, ARRAY_NODE, VALUE_NODE)
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


Node = Union[ObjectNode, ArrayNode, ValueNode]


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
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


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


def _payload(oid: str, raw: bytes, expected: bytes) -> Any:
    kind, body = split_kind(raw)
    if kind != expected:
        raise CorruptObjectError(f"object {oid} is a {kind.decode(errors='replace')}, not a {expected.decode()}")
    try:
        return loads(body)
    except ValueError as exc:
        raise CorruptObjectError(f"object {oid} does not decode: {exc}") from None


def decode_commit(oid: str, raw: bytes) -> Commit:
    p = _payload(oid, raw, COMMIT)
    try:
        return Commit(
            oid,
            p["root"],
            tuple(p["parents"]),
            p["generation"],
            p["author"],
            parse_time(p["time"]),
            p["message"],
            p["metadata"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptObjectError(f"commit {oid} is malformed: {exc}") from None


def decode_tag(oid: str, raw: bytes) -> Tag:
    p = _payload(oid, raw, TAG)
    try:
        return Tag(oid, p["target"], p["name"], p["tagger"], parse_time(p["time"]), p["message"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptObjectError(f"tag {oid} is malformed: {exc}") from None


def decode_node(oid: str, raw: bytes) -> Node:
    """Decode a state node (children that are their own nodes become Ref)."""
    kind, body = split_kind(raw)
    if kind not in NODE_KINDS:
        if kind in KNOWN_KINDS:
            raise CorruptObjectError(f"object {oid} is a {kind.decode()}, not a state node")
        raise UnsupportedObjectError(
            f"object {oid} has kind {kind.decode(errors='replace')!r}, unknown to this statevcs version"
        )
    try:
        p = loads(body)
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
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise CorruptObjectError(f"node {oid} is malformed: {exc}") from None


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


def child_ids(raw: bytes) -> list[str]:
    """Ids an object links to (children, root, parents, target), for fsck and gc."""
    kind, body = split_kind(raw)
    p = loads(body)
    if kind == OBJECT_NODE:
        return list(p["r"].values())
    if kind == ARRAY_NODE:
        return [p["i"][i] for i in p["r"]]
    if kind == COMMIT:
        return [p["root"], *p["parents"]]
    if kind == TAG:
        return [p["target"]]
    if kind == VALUE_NODE:
        return []
    raise UnsupportedObjectError(f"unknown object kind {kind.decode(errors='replace')!r}")
