"""Open the store behind a location: a directory (embedded SQLite) or ``memory:``."""

from __future__ import annotations

import contextlib
import os

from ..errors import NotARepositoryError, WrongKeyError
from ..limits import lock_timeout
from .base import Store
from .memory import MemoryStore
from .paths import DB_NAME, DIR_NAME, MARKER_REF, is_url


def open_store(location: str, create: bool = False, key: str | bytes | None = None) -> Store:
    """The store for a URL, or for the ``.statevcs`` directory ``location``.

    An encrypted repository comes back behind an EncryptedStore, its key taken from ``key``,
    the ``key_file`` in its config, or ``STATEVCS_KEY`` / ``STATEVCS_KEY_FILE``
    (KeyRequiredError / WrongKeyError otherwise). ``create`` with a ``key`` makes a new
    repository encrypted; ``key`` for a plain repository that exists is a WrongKeyError."""
    inner = _open_plain(location, create)
    try:
        if not (create and key is not None) and inner.read_ref(MARKER_REF) is None:  # a plain repository
            if key is not None:
                raise WrongKeyError(f"{location} is not encrypted: open it without a key")
            return inner
        from .encrypted import open_encrypted  # loads cryptography: only for encrypted repositories

        if create and key is not None:
            return open_encrypted(inner, key, create=True)
        from .keys import resolve_key

        meta_dir = None if is_url(location) else location
        return open_encrypted(inner, resolve_key(key, meta_dir))
    except BaseException:
        if create and location.startswith(("postgresql://", "postgres://")):
            with contextlib.suppress(Exception):
                inner.destroy()  # type: ignore[attr-defined]  # the repository it just registered
        inner.close()
        raise


def _open_plain(location: str, create: bool) -> Store:
    if location == "memory:":
        return MemoryStore()
    if location.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(location, create=create)
    if "://" in location:
        raise NotARepositoryError(f"unsupported repository URL {location!r}")
    from .sqlite import SQLiteStore

    return SQLiteStore(os.path.join(location, DB_NAME), create=create, timeout=lock_timeout())


def find_repository_dir(start: str) -> str:
    """The nearest directory at or above ``start`` that holds a ``.statevcs`` directory."""
    path = os.path.abspath(start)
    if not os.path.isdir(path):
        raise NotARepositoryError(f"{start}: no such directory")
    while True:
        if os.path.isdir(os.path.join(path, DIR_NAME)):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            raise NotARepositoryError(
                f"not a statevcs repository (or any parent up to /): {os.path.abspath(start)}; run 'statevcs init'"
            )
        path = parent


def repository_dir_exactly(location: str) -> str:
    """The work directory of the repository at exactly ``location`` (or at its ``.statevcs``).

    For remotes and clone sources: a remote names its repository exactly, so nothing above
    ``location`` is searched (a remote pointing at an empty directory inside some other
    repository must not reach that repository)."""
    path = os.path.abspath(location)
    if os.path.basename(path) == DIR_NAME and os.path.isfile(os.path.join(path, DB_NAME)):
        return os.path.dirname(path)
    if os.path.isfile(os.path.join(path, DIR_NAME, DB_NAME)):
        return path
    if not os.path.isdir(path):
        raise NotARepositoryError(f"{location}: no such directory (a remote names a repository exactly)")
    raise NotARepositoryError(
        f"{location} is not a statevcs repository (no {DIR_NAME}/{DB_NAME} there; a remote names its "
        "repository exactly and no parent directory is searched)"
    )
