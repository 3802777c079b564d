"""Write transactions on PostgreSQL: reads go to the server at once; writes are kept and
sent in one statement (statevcs_write) with COMMIT, in pipeline mode, so a small commit
costs two round trips."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import orjson

from ..base import REFRESH_AFTER, Transaction
from ..stored import pack
from .schema import GC_LOCK_CLASS

try:  # an optional extra: pip install "statevcs[postgres]"
    import psycopg
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

_BATCH = 1000


class PostgresTransaction(Transaction):
    """Reads go to the server at once; writes are kept and sent in one statement with COMMIT.

    BEGIN and the repository's shared lock (exclusive for gc's sweep) are sent before the
    first statement that needs a transaction around it (a read, or ``conn`` used directly),
    in the same round trip as that statement: nothing is read before the lock is held, so a
    sweep in progress is waited for and then seen whole. A transaction whose only statement
    is statevcs_write sends it alone, autocommitted: one statement, atomic by itself, which
    takes the lock itself before it reads or writes anything."""

    def __init__(self, conn: Any, repo: str) -> None:
        self._conn = conn
        self.began = False
        self.repo = repo
        self._refs: dict[str, str | None] = {}
        self._logs: list[tuple[str, str | None, str | None, str, str]] = []
        #: id -> stored form, written at flush (PostgresStore reads look here too).
        self.objects: dict[bytes, bytes] = {}
        self._ref_writes: list[tuple[str, str | None, str | None]] = []
        #: ref -> the value the transaction expects it to hold (for a lost race's error).
        self.expected: dict[str, str | None] = {}
        self._assumed: dict[str, str | None] = {}  # answered without a read: checked at commit

    @property
    def conn(self) -> Any:
        """The connection, inside the transaction and holding the repository's shared lock
        (BEGIN and the lock are queued first if they were not yet: pipeline mode sends them
        with the statement that follows)."""
        if not self.began:
            self._conn.execute("BEGIN")
            self._conn.execute("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", (GC_LOCK_CLASS, self.repo))
            self.began = True
        return self._conn

    def _read_refs(self, names: list[str]) -> None:
        rows = self.conn.execute("SELECT name, value FROM statevcs_refs WHERE repo = %s AND name = ANY(%s)",
                                 (self.repo, names)).fetchall()
        found = dict(rows)
        for name in names:
            self._refs[name] = found.get(name)

    def put_objects(self, objects: Mapping[str, bytes]) -> None:
        ids = [o for o in objects if bytes.fromhex(o) not in self.objects]
        present: set[bytes] = set()
        if len(ids) > 8:  # a big write: do not send what the server has (one round trip)
            for i in range(0, len(ids), _BATCH):
                chunk = [bytes.fromhex(o) for o in ids[i : i + _BATCH]]
                rows = self.conn.execute("SELECT id FROM statevcs_objects WHERE repo = %s AND id = ANY(%s)",
                                         (self.repo, chunk)).fetchall()
                present.update(bytes(r[0]) for r in rows)
        # Write times come from the server's clock. An object already present gets its time
        # refreshed when stale: the writer may be about to reference it (docs/gc.md).
        if present:
            self.conn.execute(
                "UPDATE statevcs_objects SET written = clock_timestamp() WHERE repo = %s AND id = ANY(%s) "
                "AND written < clock_timestamp() - %s", (self.repo, list(present), REFRESH_AFTER))
        for o in ids:
            if (k := bytes.fromhex(o)) not in present:
                self.objects[k] = pack(objects[o])

    def read_ref(self, name: str) -> str | None:
        if name not in self._refs:
            self._read_refs([name])
        return self._refs[name]

    def read_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        """Several refs' values (None: absent) in one round trip, remembered like ``read_ref``'s."""
        wanted = [n for n in dict.fromkeys(names) if n not in self._refs]
        if wanted:
            self._read_refs(wanted)
        return {name: self._refs[name] for name in names}

    def assume_refs(self, values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            if name not in self._refs:
                self._refs[name] = self._assumed[name] = value
                self.expected.setdefault(name, value)

    def gc_epoch(self) -> int | None:
        row = self.conn.execute("SELECT gc_epoch FROM statevcs_repos WHERE name = %s", (self.repo,)).fetchone()
        return int(row[0]) if row else 0

    def lock_refs(self, names: Sequence[str]) -> dict[str, str | None]:
        """Read the refs with row locks (``FOR UPDATE``): writers of these refs wait for this transaction."""
        wanted = list(dict.fromkeys(names))
        found = dict(self.conn.execute("SELECT name, value FROM statevcs_refs WHERE repo = %s AND name = ANY(%s) "
                                       "FOR UPDATE", (self.repo, wanted)).fetchall())
        for name in wanted:
            self._refs[name] = found.get(name)
        return {name: self._refs[name] for name in names}

    def _write_ref(self, name: str, value: str | None) -> None:
        # Compare-and-swap at COMMIT time (statevcs_set_ref): the row must still hold what we read.
        old = self._refs.get(name)
        self.expected.setdefault(name, old)
        self._ref_writes.append((name, old, value))
        self._refs[name] = value

    def log_ref(self, name: str, old: str | None, new: str | None, who: str, why: str) -> None:
        self._logs.append((name, old, new, who, why))

    def flush(self) -> None:
        """Send the writes (objects, ref moves, reflog, NOTIFY) as one statement, with COMMIT."""
        if not (self.objects or self._ref_writes or self._logs):
            return
        objects = self.objects
        written = {name for name, _, _ in self._ref_writes}  # their compare-and-swap checks them
        # Alone (nothing read or written before), the write is one autocommitted statement.
        (self._conn if not self.began else self.conn).execute(
            "SELECT statevcs_write(%s, %s, %s, %s, %s, %s, %s, %s)",
            (self.repo, b"".join(objects), b"".join(objects.values()),
             orjson.dumps([len(d) for d in objects.values()]).decode(), REFRESH_AFTER,
             orjson.dumps(self._ref_writes).decode(), orjson.dumps(self._logs).decode(),
             orjson.dumps([[n, v] for n, v in self._assumed.items() if n not in written]).decode()))
