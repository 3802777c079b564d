"""Bundle files: a repository's objects and refs in one verifiable file, and a read-only
Store over one, so fetch and clone read a bundle exactly as they read a remote.

Format (version 1, docs/storage-format.md): a 16-byte magic, a 4-byte big-endian version,
one zstd frame holding the refs, the prerequisites and the objects (each length-prefixed),
then a 32-byte blake3 checksum of every byte before it. A reader checks the checksum over
the file before it decompresses anything, then every object's hash as it is read, so a
truncated or modified bundle is refused before a single object is handed out.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Callable, Iterable, Iterator, Mapping, Sequence

import blake3
import zstandard

from ..errors import (
    CorruptObjectError,
    InvalidBundleError,
    ObjectNotFoundError,
    ReadOnlyStoreError,
)
from ..limits import max_bundle_bytes, max_object_bytes
from .base import SYMBOLIC_PREFIX, RefLogEntry, Store, Transaction
from .stored import SEALED_MAGIC, verify

_OBJECT_ID = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")

MAGIC = b"statevcs-bundle\n"
VERSION = 1
CHECKSUM_BYTES = 32
_HEADER = MAGIC + struct.pack(">I", VERSION)
_ZSTD_LEVEL = 9
_READ = 1 << 20


@dataclass(frozen=True)
class BundleContents:
    """A verified bundle: refs (name -> id or ``ref: NAME``), prerequisite commit ids (the
    receiver must already hold them; empty for a self-contained bundle) and the objects."""

    refs: dict[str, str]
    prerequisites: tuple[str, ...]
    objects: dict[str, bytes]
    size: int


# ---------------------------------------------------------------- writing


class _HashingFile:
    """A write-only file that also feeds every byte to a blake3 hasher."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.hasher = blake3.blake3()

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        return self.f.write(data)


def write_bundle(path: str, refs: Mapping[str, str], prerequisites: Iterable[str],
                 ids: Sequence[str], get: Callable[[str], bytes]) -> int:
    """Write a bundle to ``path`` (atomically: a temporary file renamed last); returns its size.

    ``ids`` are the objects in dependency order; ``get`` reads each one's raw bytes as it is
    written, so the bundle is never held whole in memory."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=directory)
    except OSError as exc:  # name the file asked for, not the temporary one beside it
        raise OSError(exc.errno, f"cannot write the bundle ({exc.strerror or exc})", path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            out = _HashingFile(f)
            out.write(_HEADER)
            with zstandard.ZstdCompressor(level=_ZSTD_LEVEL).stream_writer(out, closefd=False) as z:  # type: ignore[arg-type]
                z.write(struct.pack(">I", len(refs)))
                for name, value in refs.items():
                    for text in (name, value):
                        data = text.encode("utf-8")
                        z.write(struct.pack(">H", len(data)) + data)
                prereqs = list(dict.fromkeys(prerequisites))
                z.write(struct.pack(">I", len(prereqs)))
                for oid in prereqs:
                    z.write(bytes.fromhex(oid))
                z.write(struct.pack(">Q", len(ids)))
                for oid in ids:
                    raw = get(oid)
                    z.write(bytes.fromhex(oid) + struct.pack(">I", len(raw)))
                    z.write(raw)
            f.write(out.hasher.digest())
            f.flush()
            os.fsync(f.fileno())
            size = f.tell()
        os.replace(tmp, path)
        return size
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- reading


def _bad(path: str, why: str) -> InvalidBundleError:
    return InvalidBundleError(f"{path} is not a usable bundle: {why}; nothing was imported")


def read_bundle(path: str) -> BundleContents:
    """Read and verify a bundle: magic, version, checksum, then every object's hash and every
    ref's name and value. InvalidBundleError (naming what is wrong) otherwise."""
    try:
        size = os.path.getsize(path)
        f = open(path, "rb")
    except OSError as exc:
        raise InvalidBundleError(f"cannot read bundle {path}: {exc.strerror or exc}") from None
    with f:
        head = f.read(len(_HEADER))
        if head[: len(MAGIC)] != MAGIC:
            raise _bad(path, "it does not start with the statevcs bundle magic")
        if len(head) < len(_HEADER):
            raise _bad(path, "it is truncated (the header is incomplete)")
        (version,) = struct.unpack(">I", head[len(MAGIC):])
        if version != VERSION:
            raise _bad(path, f"bundle format version {version} is not supported (this statevcs reads {VERSION})")
        body_end = size - CHECKSUM_BYTES
        if body_end < len(_HEADER):
            raise _bad(path, "it is truncated (no checksum)")
        hasher = blake3.blake3(head)
        remaining = body_end - len(_HEADER)
        while remaining:
            chunk = f.read(min(_READ, remaining))
            if not chunk:
                raise _bad(path, "it changed while being read")
            hasher.update(chunk)
            remaining -= len(chunk)
        if f.read() != hasher.digest():
            raise _bad(path, "its checksum does not match (the file is truncated or was modified)")
        f.seek(len(_HEADER))
        limited = _Limited(f, body_end - len(_HEADER))
        try:
            with zstandard.ZstdDecompressor().stream_reader(limited, read_across_frames=False) as z:  # type: ignore[arg-type]
                contents = _parse(path, _Exact(path, z))
                if z.read(1):
                    raise _bad(path, "there are bytes after the last object")
        except zstandard.ZstdError as exc:
            raise _bad(path, f"its payload does not decompress ({exc})") from None
    return BundleContents(contents[0], contents[1], contents[2], size)


class _Limited:
    """A read-only view of the next ``n`` bytes of a file (the compressed payload)."""

    def __init__(self, f: IO[bytes], n: int) -> None:
        self.f, self.left = f, n

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.left:
            size = self.left
        data = self.f.read(size)
        self.left -= len(data)
        return data


class _Exact:
    """Reads exactly the bytes asked for, or raises InvalidBundleError (a short payload)."""

    def __init__(self, path: str, z: IO[bytes]) -> None:
        self.path, self.z = path, z

    def take(self, n: int) -> bytes:
        parts, left = [], n
        while left:
            data = self.z.read(left)
            if not data:
                raise _bad(self.path, "its payload ends early")
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def unpack(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


def _parse(path: str, r: _Exact) -> tuple[dict[str, str], tuple[str, ...], dict[str, bytes]]:
    refs: dict[str, str] = {}
    for _ in range(r.unpack(">I")):
        try:
            name = r.take(r.unpack(">H")).decode("utf-8")
            value = r.take(r.unpack(">H")).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(path, "a ref name or value is not UTF-8") from None
        # The shape only: fetch and clone apply the full ref-name rules (porcelain) before
        # any ref moves, so the store layer needs no knowledge of the model's names.
        if not (name == "HEAD" or name.startswith("refs/")) or _CONTROL.search(name):
            raise _bad(path, f"it holds an invalid ref name {ascii(name)[:80]}")
        target = value[len(SYMBOLIC_PREFIX):] if value.startswith(SYMBOLIC_PREFIX) else None
        if not (_OBJECT_ID.fullmatch(value) or (name == "HEAD" and target and target.startswith("refs/"))):
            raise _bad(path, f"its ref {name} holds {ascii(value)[:80]}, not an object id")
        if name in refs:  # which value would win is the writer's secret: refuse both
            raise _bad(path, f"it lists the ref {name} twice")
        refs[name] = value
    prerequisites = tuple(r.take(32).hex() for _ in range(r.unpack(">I")))
    objects: dict[str, bytes] = {}
    limit, budget = max_object_bytes(), max_bundle_bytes()
    for _ in range(r.unpack(">Q")):
        oid = r.take(32).hex()
        length = r.unpack(">I")
        if length > limit:
            raise _bad(path, f"object {oid} is {length} bytes, over the {limit}-byte object size limit")
        budget -= length
        if budget < 0:
            raise _bad(path, f"its objects exceed the {max_bundle_bytes()}-byte bundle size limit "
                             "($STATEVCS_MAX_BUNDLE_SIZE)")
        raw = r.take(length)
        try:
            verify(oid, raw)
        except CorruptObjectError:
            raise _bad(path, f"object {oid} does not hash to its id") from None
        if raw.startswith(SEALED_MAGIC):  # verify() accepts sealed rows, keyed by any id: a bundle holds none
            raise _bad(path, f"object {oid} is an encrypted-at-rest row, not a plain object (bundles hold "
                             "plain objects only)")
        objects[oid] = raw
    return refs, prerequisites, objects


# ---------------------------------------------------------------- the read-only store


class BundleStore(Store):
    """A bundle seen through the Store interface, read-only: refs without reflogs, objects
    held in memory (verified when the bundle was opened). Every write raises ReadOnlyStoreError."""

    def __init__(self, path: str) -> None:
        self.location = os.path.abspath(path)
        self.contents = read_bundle(path)
        self._objects = self.contents.objects
        self._when = datetime.fromtimestamp(os.path.getmtime(path), timezone.utc)

    def get(self, oid: str) -> bytes:
        raw = self._objects.get(oid)
        if raw is None:
            if oid in self.contents.prerequisites:
                raise ObjectNotFoundError(
                    f"commit {oid} is not in the bundle {self.location}: it is one of the bundle's "
                    "prerequisites, which the receiving repository must already have")
            raise ObjectNotFoundError(f"object {oid} is not in the bundle {self.location}")
        return raw

    def has_many(self, oids: Iterable[str]) -> set[str]:
        return {o for o in oids if o in self._objects}

    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        if (written_before is not None and self._when >= written_before) or (
                written_since is not None and self._when < written_since):
            return iter(())
        return iter(list(self._objects))

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        return sorted(o for o in self._objects if o.startswith(prefix))[:limit]

    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        raise self._read_only()

    def stored_size(self) -> int:
        return self.contents.size

    def read_ref(self, name: str) -> str | None:
        return self.contents.refs.get(name)

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        return {k: v for k, v in sorted(self.contents.refs.items()) if k.startswith(prefix)}

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        return []

    def reflog_seq(self) -> int:
        return 0

    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        return iter(())

    def reflog_names(self) -> list[str]:
        return []

    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        return 0

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        raise self._read_only()

    def gc_lock(self) -> contextlib.AbstractContextManager[None]:
        raise self._read_only()

    def _read_only(self) -> ReadOnlyStoreError:
        return ReadOnlyStoreError(
            f"{self.location} is a bundle, which is read-only: write a new one with 'statevcs bundle create'")


def is_bundle_file(path: str) -> bool:
    """Does ``path`` name a file that starts with the bundle magic?"""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


__all__ = ["BundleContents", "BundleStore", "MAGIC", "VERSION", "is_bundle_file", "read_bundle", "write_bundle"]
