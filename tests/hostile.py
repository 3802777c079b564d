"""Builders of hostile repositories: crafted objects written straight into a store.

Everything is made here, by code a reader can check, not kept as opaque blobs. The
objects bypass every check statevcs makes when it writes (they are what a malicious
or broken peer would serve), so the tests can show that the readers refuse them.
"""

from __future__ import annotations

import sys
from typing import Any

import zstandard

from statevcs import Repository
from statevcs.model.canonical import hash_object
from statevcs.store.base import Store

TIME = "2024-01-01T00:00:00.000000Z"


def oid_of(raw: bytes) -> str:
    return hash_object(raw).hex()


def put_raw(store: Store, *raws: bytes) -> list[str]:
    """Store raw object bytes as they are (no validation); returns their ids."""
    objects = {oid_of(raw): raw for raw in raws}
    store.put_many(objects)
    return [oid_of(raw) for raw in raws]


def put_stored(store: Store, stored: dict[str, bytes]) -> None:
    """Store exact *stored* forms (flag byte + body) under chosen ids, as a peer could.

    The store's own ``pack`` is swapped for the duration of one put, so the crafted bytes
    reach the real table/dict through the store's real write path."""
    package = type(store).__module__.rsplit(".", 1)[0]
    # The module that packs: the store's own, or its package's writes module (SQLite, PostgreSQL).
    names = [type(store).__module__, f"{package}.writes"]
    modules = [sys.modules[n] for n in names if n in sys.modules and hasattr(sys.modules[n], "pack")]
    placeholders = {oid: b"hostile placeholder " + oid.encode() for oid in stored}
    crafted = {placeholders[oid]: stored[oid] for oid in stored}
    originals = [module.pack for module in modules]
    for module, original in zip(modules, originals):
        module.pack = lambda raw, original=original: crafted.get(raw) or original(raw)  # type: ignore[attr-defined]
    try:
        for oid, placeholder in placeholders.items():  # one object per transaction: one per pack
            store.put_many({oid: placeholder})
    finally:
        for module, original in zip(modules, originals):
            module.pack = original  # type: ignore[attr-defined]


def bomb(inflated: int, declare_size: bool = False) -> bytes:
    """The stored form of an object that inflates to ``inflated`` zero bytes (from ~1/30,000 of that).

    Without ``declare_size`` the zstd frame does not say how big it is, so only a reader
    that stops at a cap survives it."""
    chunk = bytes(1 << 22)
    cctx = zstandard.ZstdCompressor(level=1)
    if declare_size:
        out = _Sink()
        with cctx.stream_writer(out, size=inflated, closefd=False) as writer:
            left = inflated
            while left:
                n = min(left, len(chunk))
                writer.write(chunk[:n])
                left -= n
        frame = out.data()
    else:
        cobj = cctx.compressobj()
        parts = [cobj.compress(chunk) for _ in range(inflated // len(chunk))]
        parts.append(cobj.flush())
        frame = b"".join(parts)
    return b"\x01" + frame


class _Sink:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def data(self) -> bytes:
        return b"".join(self.parts)


def commit_raw(root: str, parents: list[str] | None = None, generation: Any = None, message: str = "hostile",
               **fields: Any) -> bytes:
    """A commit object's raw bytes, canonical unless the fields make it otherwise."""
    import json

    parents = parents or []
    payload = {"root": root, "parents": parents, "generation": 1 if generation is None else generation,
               "author": "mallory", "time": TIME, "message": message, "metadata": {}}
    payload.update(fields)
    return b"commit1 " + json.dumps(payload, sort_keys=True, separators=(",", ":"),
                                    ensure_ascii=False).encode("utf-8", "surrogatepass")


def obj_node(inline_text: str = "", refs: dict[str, str] | None = None) -> bytes:
    """An ``obj1`` node whose inline part is exactly ``inline_text`` (may be non-canonical)."""
    refs_text = ",".join(f'"{k}":"{v}"' for k, v in sorted((refs or {}).items()))
    return ('obj1 {"i":{' + inline_text + '},"r":{' + refs_text + "}}").encode("utf-8", "surrogatepass")


def deep_chain(store: Store, depth: int) -> str:
    """A chain of ``depth`` object nodes, each holding the next under key "a"; returns the top id."""
    child = None
    raws = []
    for _ in range(depth):
        raw = obj_node("", {"a": child} if child else None)
        raws.append(raw)
        child = oid_of(raw)
    store.put_many({oid_of(r): r for r in raws})
    assert child is not None
    return child


def hostile_repository(path: str, root_raw: bytes | None = None, root_id: str | None = None,
                       commit: bytes | None = None, extra: tuple[bytes, ...] = (),
                       branch: str = "main") -> tuple[Repository, str]:
    """A directory repository whose ``branch`` points at a crafted commit; returns (repo, commit id).

    The root is ``root_raw`` (stored as is), or an existing ``root_id``, or ``{}``."""
    repo = Repository.init(path)
    if root_raw is not None:
        root_id = put_raw(repo.store, root_raw)[0]
    if root_id is None:
        root_id = put_raw(repo.store, b'obj1 {"i":{},"r":{}}')[0]
    if extra:
        put_raw(repo.store, *extra)
    commit = commit if commit is not None else commit_raw(root_id)
    cid = put_raw(repo.store, commit)[0]
    repo.store.update_ref("refs/heads/" + branch, cid)
    return repo, cid
