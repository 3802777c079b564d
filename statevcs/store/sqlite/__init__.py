"""The embedded store: one SQLite database (WAL) holding objects, refs and the reflog.

No server; many readers; writers serialise on SQLite's write lock. Every write is one
``BEGIN IMMEDIATE`` transaction, so a commit's objects, its ref moves and their reflog
entries land together or not at all, even if the process is killed mid-way. By default
each transaction is fsynced (``synchronous=FULL``): an acknowledged commit survives a
power cut, not only a crash.

Layout (schema 3, docs/storage-format.md): a transaction appends one ``packs`` row holding
the objects it wrote (their stored forms, back to back) and its ref moves (the reflog
entries, each linked to the previous move of the same ref); ``objidx`` finds an object's
pack, offset and length and keeps its write time for gc; ``refs`` holds each ref's value
and its newest move. A small commit so writes one appended row, a small index row per new
object and its ref rows: few B-tree pages, and no secondary index. Schema 1 and 2
databases are migrated on first open (layout.py).

Modules: layout.py (tables, migration), store.py (the Store), writes.py (transactions),
reflog.py (reading and expiring the move chains).
"""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
