"""Open the store behind a location: a directory (embedded SQLite) or ``memory:``."""

from __future__ import annotations

import os

from ..errors import NotARepositoryError
from .base import Store
from .memory import MemoryStore

DIR_NAME = ".statevcs"
DB_NAME = "statevcs.db"


def is_url(location: str) -> bool:
    return "://" in location or location == "memory:"


def open_store(location: str, create: bool = False) -> Store:
    """The store for a URL, or for the ``.statevcs`` directory ``location``."""
    if location == "memory:":
        return MemoryStore()
    if location.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(location, create=create)
    if "://" in location:
        raise NotARepositoryError(f"unsupported repository URL {location!r}")
    from .sqlite import SQLiteStore

    timeout = float(os.environ.get("STATEVCS_LOCK_TIMEOUT", "30"))
    return SQLiteStore(os.path.join(location, DB_NAME), create=create, timeout=timeout)


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
