"""Encryption keys: reading them (argument, environment, key file) and deriving subkeys.

One 32-byte master key opens an encrypted repository. It is never used directly: blake3's
``derive_key`` mode turns it into independent subkeys, one per job (row ids, object
sealing, ref sealing, the key check value), so no two jobs share key material
(docs/encryption.md).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import shlex
import stat
from dataclasses import dataclass, field

import blake3

from ..errors import InvalidKeyError
from .paths import CONFIG_NAME

#: Environment variables holding a key (text) or the path of a key file.
ENV_KEY = "STATEVCS_KEY"
ENV_KEY_FILE = "STATEVCS_KEY_FILE"
KEY_BYTES = 32

_CONTEXT = "statevcs 2025 encryption at rest v1 "


def generate_key() -> str:
    """A new random master key as text (64 hex digits), for ``statevcs keygen``."""
    return secrets.token_bytes(KEY_BYTES).hex()


def parse_key(key: str | bytes) -> bytes:
    """The 32-byte master key from raw bytes, 64 hex digits or base64 text; InvalidKeyError otherwise."""
    if isinstance(key, (bytes, bytearray)) and len(key) == KEY_BYTES:
        return bytes(key)
    try:
        text = key.decode("ascii") if isinstance(key, (bytes, bytearray)) else str(key)
    except UnicodeDecodeError:
        raise InvalidKeyError("a key must be 32 bytes, or 64 hex digits / base64 text") from None
    text = text.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == KEY_BYTES:
        return raw
    raise InvalidKeyError(
        "a key must be 32 bytes written as 64 hex digits or base64 (statevcs keygen makes one)"
    )


def read_key_file(path: str) -> bytes:
    """The master key stored in the file at ``path`` (its text, surrounding whitespace ignored).

    As ssh does with private keys, a file other users may read or write (any of the mode
    bits 077) is refused, naming the ``chmod 600`` that fixes it."""
    try:
        with open(os.path.expanduser(path), "rb") as f:
            if os.name == "posix":
                mode = os.fstat(f.fileno()).st_mode
                if stat.S_ISREG(mode) and mode & 0o077:
                    raise InvalidKeyError(
                        f"key file {path} is open to other users (mode {stat.S_IMODE(mode):04o}), so the key "
                        f"may be known to them: run 'chmod 600 {shlex.quote(path)}' (ssh refuses such keys too)")
            data = f.read(4096)
    except OSError as exc:
        raise InvalidKeyError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    try:
        return parse_key(data)
    except InvalidKeyError as exc:
        raise InvalidKeyError(f"key file {path}: {exc}") from None


def write_key_file(path: str) -> None:
    """Write a new key (``generate_key``) to a new file at ``path`` readable by its owner only
    (mode 600, whatever the umask); InvalidKeyError if ``path`` exists (its key would be lost)."""
    try:
        fd = os.open(os.path.expanduser(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidKeyError(f"{path} already exists: writing a new key over it would lose the one it holds "
                              "(and what that key opens); choose another name") from None
    except OSError as exc:
        raise InvalidKeyError(f"cannot create key file {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(generate_key() + "\n")
        f.flush()
        os.fsync(f.fileno())


def key_from_environment() -> bytes | None:
    """The key in ``STATEVCS_KEY``, else in the file ``STATEVCS_KEY_FILE`` names, else None."""
    text = os.environ.get(ENV_KEY, "").strip()
    if text:
        try:
            return parse_key(text)
        except InvalidKeyError as exc:
            raise InvalidKeyError(f"{ENV_KEY}: {exc}") from None
    path = os.environ.get(ENV_KEY_FILE, "").strip()
    return read_key_file(path) if path else None


def configured_key_file(meta_dir: str) -> str | None:
    """The ``key_file`` named in ``META_DIR/config.json`` (relative: to the work directory), or None."""
    import json

    try:
        with open(os.path.join(meta_dir, CONFIG_NAME), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    name = config.get("key_file") if isinstance(config, dict) else None
    if not isinstance(name, str) or not name:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(meta_dir)), os.path.expanduser(name))


def resolve_key(explicit: str | bytes | None, meta_dir: str | None = None) -> bytes | None:
    """The key to open a repository with: ``explicit``, else the repository's configured
    ``key_file``, else the environment (``STATEVCS_KEY``, ``STATEVCS_KEY_FILE``), else None.

    The repository's own key file comes before the environment so that one process can
    talk to two encrypted repositories with different keys (a fetch between them)."""
    if explicit is not None:
        return parse_key(explicit)
    path = configured_key_file(meta_dir) if meta_dir else None
    if path is not None:
        try:
            return read_key_file(path)
        except InvalidKeyError as exc:
            found = key_from_environment()
            if found is None:
                raise InvalidKeyError(f"{exc} (named by key_file in {meta_dir}/config.json)") from None
            return found
    return key_from_environment()


def derive(master: bytes, purpose: str) -> bytes:
    """A 32-byte subkey for one ``purpose``, independent of every other purpose's."""
    return blake3.blake3(master, derive_key_context=_CONTEXT + purpose).digest()


@dataclass(frozen=True)
class KeySet:
    """The subkeys derived from one master key (the master itself is not kept)."""

    ids: bytes = field(repr=False)
    objects: bytes = field(repr=False)
    refs: bytes = field(repr=False)
    check: str = ""

    @classmethod
    def from_master(cls, master: str | bytes) -> "KeySet":
        raw = parse_key(master)
        check = blake3.blake3(b"statevcs key check", key=derive(raw, "key check")).hexdigest()[:32]
        return cls(derive(raw, "object ids"), derive(raw, "objects"), derive(raw, "refs"), check)

    def row_key(self, oid: str) -> str:
        """The id an object is stored under at rest: keyed blake3 of its plain id."""
        return blake3.blake3(bytes.fromhex(oid), key=self.ids).hexdigest()


__all__ = ["ENV_KEY", "ENV_KEY_FILE", "KeySet", "configured_key_file", "derive", "generate_key",
           "key_from_environment", "parse_key", "read_key_file", "resolve_key", "write_key_file"]
