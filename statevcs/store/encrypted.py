"""Encryption at rest: a Store that seals everything it hands to another Store.

Above this wrapper nothing changes: objects keep their plain content ids (blake3 of
kind + canonical bytes) and refs hold plain ids, so trees, commits, merge and remotes
work as on any store. Below it, the inner store (memory, SQLite, PostgreSQL) only ever
sees:

- objects under a *row key* ``keyed-blake3(ids subkey, plain id)``: two repositories with
  different keys store equal states under unrelated ids;
- object rows ``SEALED_MAGIC | binding | nonce | AES-256-GCM(plain id + packed object)``
  with the row key as associated data, so a row moved under another key, altered or
  written with another key fails authentication (CorruptObjectError), never returns data;
- ref values and reflog ``old``/``new``/``who``/``why`` sealed the same way (associated data:
  the ref name and the field), each with a fresh random nonce.

Ref names, reflog times, object write times, object counts and (compressed) sizes stay
visible: docs/encryption.md states the policy. A hidden ref (``MARKER_REF``) records that
the repository is encrypted and a key check value, so a missing or wrong key fails at open.
"""

from __future__ import annotations

import base64
import contextlib
import os
from datetime import datetime
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import blake3

from ..errors import (
    CorruptObjectError,
    InvalidKeyError,
    InvalidRefNameError,
    KeyRequiredError,
    ObjectNotFoundError,
    RepositoryExistsError,
    WrongKeyError,
)
from .base import RefLogEntry, Store, Transaction
from .stored import SEALED_MAGIC, pack, unpack_verified
from .keys import KeySet
from .paths import MARKER_REF

try:  # an optional extra: pip install "statevcs[encrypt]"
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:  # pragma: no cover - exercised only without the extra
    AESGCM = None  # type: ignore[assignment,misc]
    InvalidTag = Exception  # type: ignore[assignment,misc]

#: The hidden ref that marks a repository as encrypted (never listed through the wrapper).
_MARKER_PREFIX = "statevcs-encryption v1 aes-256-gcm check="
_SEALED_REF = "enc1:"
_NONCE = 12
_ID = 32
_HEAD = len(SEALED_MAGIC) + 32 + _NONCE
_BATCH = 500


def _aead(key: bytes) -> "AESGCM":
    if AESGCM is None:
        raise InvalidKeyError("encryption needs the cryptography package: pip install 'statevcs[encrypt]'")
    return AESGCM(key)


class EncryptedStore(Store):
    """``inner`` with every object and ref value sealed under ``key`` (docs/encryption.md)."""

    def __init__(self, inner: Store, key: str | bytes) -> None:
        self.inner = inner
        self.keys = KeySet.from_master(key)
        self.location = inner.location
        self._objects = _aead(self.keys.objects)
        self._refs = _aead(self.keys.refs)
        for name in ("connect_listener", "destroy", "vacuum", "compact"):  # backend extras, nothing readable
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def __repr__(self) -> str:
        return f"EncryptedStore({self.inner!r})"

    # ------------------------------------------------------------ sealing
    def row_key(self, oid: str) -> str:
        """The id ``oid`` is stored under in the inner store."""
        try:
            return self.keys.row_key(oid)
        except ValueError:
            raise ObjectNotFoundError(f"{oid!r} is not an object id") from None

    def seal(self, oid: str, raw: bytes) -> tuple[str, bytes]:
        """(row key, sealed row) for one object."""
        row = self.row_key(oid)
        rk = bytes.fromhex(row)
        nonce = os.urandom(_NONCE)
        body = nonce + self._objects.encrypt(nonce, bytes.fromhex(oid) + pack(raw), rk)
        return row, SEALED_MAGIC + blake3.blake3(body, key=rk).digest() + body

    def _open_row(self, row: str, sealed: bytes) -> tuple[str, bytes]:
        """(plain id, packed object) from a sealed row, authenticated; CorruptObjectError otherwise."""
        if sealed[: len(SEALED_MAGIC)] != SEALED_MAGIC or len(sealed) < _HEAD + _ID:
            raise CorruptObjectError(f"row {row} is not sealed: not written by an encrypted repository")
        nonce = sealed[_HEAD - _NONCE : _HEAD]
        try:
            plain = self._objects.decrypt(nonce, sealed[_HEAD:], bytes.fromhex(row))
        except InvalidTag:
            raise CorruptObjectError(
                f"row {row} fails authentication: altered, moved, or sealed with another key"
            ) from None
        return plain[:_ID].hex(), plain[_ID:]

    def _open(self, oid: str, row: str, sealed: bytes) -> bytes:
        plain_id, packed = self._open_row(row, sealed)
        if plain_id != oid:
            raise CorruptObjectError(f"object {oid} is corrupt: its row holds object {plain_id}")
        return unpack_verified(oid, packed)

    def _seal_text(self, text: str, context: bytes) -> str:
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._refs.encrypt(nonce, text.encode("utf-8"), context)
        return _SEALED_REF + base64.b64encode(sealed).decode("ascii")

    def _open_text(self, value: str, context: bytes) -> str:
        if not value.startswith(_SEALED_REF):
            raise CorruptObjectError(f"a sealed ref field holds plain text ({context.decode(errors='replace')})")
        try:
            sealed = base64.b64decode(value[len(_SEALED_REF):], validate=True)
            return self._refs.decrypt(sealed[:_NONCE], sealed[_NONCE:], context).decode("utf-8")
        except (InvalidTag, ValueError):
            raise CorruptObjectError(
                f"a sealed ref field fails authentication ({context.decode(errors='replace')}): altered or another key"
            ) from None

    def seal_ref(self, name: str, value: str | None, field: str = "value") -> str | None:
        return None if value is None else self._seal_text(value, f"{field}\0{name}".encode())

    def open_ref(self, name: str, value: str | None, field: str = "value") -> str | None:
        return None if value is None else self._open_text(value, f"{field}\0{name}".encode())

    # ------------------------------------------------------------ objects
    def get(self, oid: str) -> bytes:
        row = self.row_key(oid)
        try:
            sealed = self.inner.get(row)
        except ObjectNotFoundError:
            raise ObjectNotFoundError(f"object {oid} not found") from None
        return self._open(oid, row, sealed)

    def has_many(self, oids: Iterable[str]) -> set[str]:
        rows = {self.row_key(o): o for o in oids}
        return {rows[r] for r in self.inner.has_many(list(rows))}

    def get_many(self, oids: Iterable[str]) -> dict[str, bytes]:
        rows = {self.row_key(o): o for o in oids}
        return {rows[r]: self._open(rows[r], r, sealed) for r, sealed in self.inner.get_many(list(rows)).items()}

    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        """Plain ids, by opening each row: O(objects) reads and decryptions (docs/encryption.md)."""
        batch: list[str] = []
        for row in self.inner.iter_ids(written_before, written_since):
            batch.append(row)
            if len(batch) >= _BATCH:
                yield from self._plain_ids(batch)
                batch = []
        if batch:
            yield from self._plain_ids(batch)

    def _plain_ids(self, rows: list[str]) -> Iterator[str]:
        try:
            found = self.inner.get_many(rows)  # a row deleted meanwhile is skipped
        except CorruptObjectError:  # one damaged row: read the batch row by row
            found = {}
            for row in rows:
                with contextlib.suppress(CorruptObjectError, ObjectNotFoundError):
                    found[row] = self.inner.get(row)
        for row, sealed in found.items():
            with contextlib.suppress(CorruptObjectError):
                # A damaged row cannot say which object it held, so it is left out here;
                # reading that object (fsck follows every ref) raises CorruptObjectError.
                yield self._open_row(row, sealed)[0]

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Short-id lookup: a scan of every object (row keys say nothing about plain ids)."""
        return sorted(o for o in self.iter_ids() if o.startswith(prefix))[:limit]

    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        return self.inner.delete_objects([self.row_key(o) for o in oids], written_before)

    def stored_size(self) -> int:
        return self.inner.stored_size()

    def now(self) -> datetime:
        return self.inner.now()

    # ------------------------------------------------------------ refs
    def read_ref(self, name: str) -> str | None:
        if name == MARKER_REF:
            return None
        return self.open_ref(name, self.inner.read_ref(name))

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        return {name: self._open_text(value, f"value\0{name}".encode())
                for name, value in self.inner.list_refs(prefix).items() if name != MARKER_REF}

    def _open_entry(self, e: RefLogEntry) -> RefLogEntry:
        return RefLogEntry(e.ref, self._open_target(e.old), self._open_target(e.new),
                           self._open_text(e.who, f"who\0{e.ref}".encode()), e.when,
                           self._open_text(e.why, f"why\0{e.ref}".encode()))

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        if name == MARKER_REF:
            return []
        return [self._open_entry(e) for e in self.inner.reflog(name, limit)]

    def reflog_seq(self) -> int:
        return self.inner.reflog_seq()

    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        # The inner store yields each sealed value once; equal plain ids may repeat across seals.
        # Which field a value came from is not known here, so both contexts are tried.
        wanted = None if names is None else [n for n in names if n != MARKER_REF]
        seen: set[str] = set()
        for value in self.inner.iter_reflog_targets(after_seq, wanted):
            oid = self._open_text(value, b"target")
            if oid not in seen:
                seen.add(oid)
                yield oid

    def _open_target(self, value: str | None) -> str | None:
        """A reflog old/new value (sealed without its ref name: see ``_target``)."""
        return None if value is None else self._open_text(value, b"target")

    def reflog_names(self) -> list[str]:
        return [n for n in self.inner.reflog_names() if n != MARKER_REF]

    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        if keep is None:
            return self.inner.expire_reflog(name, before)
        return self.inner.expire_reflog(
            name, before, lambda old, new: keep(self._open_target(old), self._open_target(new)))

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.inner.transaction() as tx:
            yield _EncryptedTransaction(self, tx)

    def gc_lock(self) -> contextlib.AbstractContextManager[None]:
        return self.inner.gc_lock()

    def gc_epoch(self) -> int | None:
        return self.inner.gc_epoch()

    def bump_gc_epoch(self) -> None:
        self.inner.bump_gc_epoch()

    def close(self) -> None:
        self.inner.close()

    # ------------------------------------------------------------ test support
    def _backdate(self, seconds: float) -> None:
        self.inner._backdate(seconds)  # type: ignore[attr-defined]

    def _corrupt(self, oid: str) -> None:
        self.inner._corrupt(self.row_key(oid))  # type: ignore[attr-defined]


class _EncryptedTransaction(Transaction):
    """Seals what it writes into the inner store's transaction (same atomicity and locks)."""

    def __init__(self, store: EncryptedStore, inner: Transaction) -> None:
        self.store = store
        self.inner = inner

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        self.inner.put_objects(dict(self.store.seal(oid, raw) for oid, raw in objects.items()))

    def read_ref(self, name: str) -> str | None:
        _check_name(name)
        return self.store.open_ref(name, self.inner.read_ref(name))

    def gc_epoch(self) -> int | None:
        return self.inner.gc_epoch()

    def read_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        for name in names:
            _check_name(name)
        sealed = self.inner.read_refs(names)  # one query where the inner store can
        return {name: self.store.open_ref(name, sealed[name]) for name in names}

    def lock_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        for name in names:
            _check_name(name)
        sealed = self.inner.lock_refs(names)
        return {name: self.store.open_ref(name, sealed[name]) for name in names}

    def _write_ref(self, name: str, value: str | None) -> None:
        _check_name(name)
        self.inner._write_ref(name, self.store.seal_ref(name, value))

    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        s = self.store
        self.inner.log_ref(name, _target(s, old), _target(s, new),
                           s._seal_text(who, f"who\0{name}".encode()), s._seal_text(why, f"why\0{name}".encode()))


def _target(store: EncryptedStore, value: str | None) -> str | None:
    """A reflog old/new value, sealed without the name as associated data: gc reads them back
    through ``iter_reflog_targets``, which does not say which ref a value belongs to."""
    return None if value is None else store._seal_text(value, b"target")


def _check_name(name: str) -> None:
    if name == MARKER_REF:
        raise InvalidRefNameError(f"{MARKER_REF} is reserved: it marks the repository as encrypted")


# ---------------------------------------------------------------- marking and opening


def marker_of(inner: Store) -> str | None:
    """The encryption marker of a plain-opened store, or None when it is not encrypted."""
    return inner.read_ref(MARKER_REF)


def is_encrypted(inner: Store) -> bool:
    return marker_of(inner) is not None


def open_encrypted(inner: Store, key: str | bytes | None, create: bool = False) -> EncryptedStore:
    """``inner`` (opened plain) behind an EncryptedStore for ``key``.

    Checks the key against the repository's key check value; with ``create``, an empty
    store is marked as encrypted with this key first. KeyRequiredError without a key,
    WrongKeyError for another key or a plain repository that already holds data."""
    marker = marker_of(inner)
    if key is None:
        raise KeyRequiredError(
            f"{inner.location} is encrypted: give its key (STATEVCS_KEY, STATEVCS_KEY_FILE, key_file in "
            ".statevcs/config.json, or key= in the API; docs/encryption.md)")
    store = EncryptedStore(inner, key)
    expected = _MARKER_PREFIX + store.keys.check
    if marker is None:
        if not create:
            raise WrongKeyError(f"{inner.location} is not encrypted: open it without a key")
        if inner.list_refs() or next(iter(inner.iter_ids()), None) is not None:
            raise RepositoryExistsError(
                f"{inner.location} already holds plain data; clone it into a new encrypted repository instead")
        with inner.transaction() as tx:
            if tx.read_ref(MARKER_REF) is None:
                tx._write_ref(MARKER_REF, expected)  # no reflog entry: not a ref anyone moves
        marker = inner.read_ref(MARKER_REF)
    if marker != expected:
        raise WrongKeyError(f"wrong key for {inner.location}: its key check value does not match")
    return store


__all__ = ["EncryptedStore", "MARKER_REF", "is_encrypted", "marker_of", "open_encrypted"]
