"""Wiping a store's free space after a purge deleted rows, so the erased bytes leave its files.

SQLite: checkpoint the WAL into the database and truncate it, ``VACUUM`` (the file is
rebuilt from live rows only), checkpoint and truncate again. PostgreSQL: ``VACUUM FULL`` of
the purged repository's own partitions (store/postgres/partitions.py), which locks no other
repository. A wrapping store (encryption at rest) is wiped below the wrapper.
"""

from __future__ import annotations

import time
from typing import Any

#: How long a WAL checkpoint may wait for readers that hold an older snapshot.
CHECKPOINT_PATIENCE = 10.0


def _below(store: Any) -> Any:
    while hasattr(store, "inner"):  # a wrapping store: the files are the inner store's
        store = store.inner
    return store


def wipe_free_space(store: Any) -> str:
    """Make deleted rows unrecoverable from the database files; "" when done, else why not."""
    from ...store.sqlite import SQLiteStore

    store = _below(store)
    if isinstance(store, SQLiteStore):
        conn = store._conn()
        problem = _checkpoint(conn)
        if problem:
            return problem
        conn.execute("VACUUM")
        return _checkpoint(conn)
    compact = getattr(store, "compact", None)  # PostgreSQL: its own partitions only
    return compact() if compact is not None else ""


def settle(store: Any) -> None:
    """Fold the last small writes (the journal's removal) into the database file: nothing of
    the purge's is left in SQLite's WAL."""
    from ...store.sqlite import SQLiteStore

    store = _below(store)
    if isinstance(store, SQLiteStore):
        _checkpoint(store._conn(), patience=1.0)


def _checkpoint(conn: Any, patience: float = CHECKPOINT_PATIENCE) -> str:
    """Checkpoint and truncate the WAL, waiting (a while) for readers on an older snapshot."""
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if not busy:
            return ""
        if time.monotonic() > deadline:
            return ("another process kept reading the database, so its write-ahead log could not be "
                    "truncated and may still hold erased bytes")
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


__all__ = ["settle", "wipe_free_space"]
