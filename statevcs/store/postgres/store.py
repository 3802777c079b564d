"""The shared store: PostgreSQL through psycopg 3, for many processes on many machines.

Several named repositories live side by side in one database (``?repo=NAME`` in the URL);
every row carries its repository's name and every query filters on it, so they never
see each other's objects or refs. Objects are written idempotently (``ON CONFLICT DO
NOTHING``); a ref moves only by a conditional ``UPDATE ... WHERE value = expected``
(or an insert that must not collide) inside the transaction that writes its objects,
so two machines racing for one branch cannot both win, and nothing is half-written.
Ref moves are announced with NOTIFY on channel ``statevcs_refs`` for watchers.

The schema is versioned in ``statevcs_schema`` and migrated forward by :func:`migrate`
(``Repository.init`` runs it, and opening a repository whose schema is older does).

Objects and reflog rows live in one partition per repository (partitions.py), so a
purge compacts only its own repository.

Every object row carries ``written`` (the server's clock, refreshed when the object is
put again) for gc's grace period. Every write transaction holds a shared advisory lock
on its repository and gc's sweep the exclusive one, so no commit straddles a sweep
(docs/gc.md).

A write transaction runs in pipeline mode (writes.py): BEGIN, the lock and the reads of
refs travel together (one round trip), then the writes and COMMIT (a second one); a
commit on a head the repository already knows is one statement. A ref moves through
``statevcs_set_ref``, a server-side compare-and-swap that fails the transaction when the
ref moved, so the client need not wait for each statement's row count. NOTIFY is sent
only while some process watches the repository (``statevcs_watchers``): a transaction
that notifies serialises its commit with every other one that does.
"""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import (
    CorruptObjectError,
    NotARepositoryError,
    ObjectNotFoundError,
    RefConflictError,
    RepositoryExistsError,
    StateVCSError,
    StoreUnavailableError,
)
from ..base import RefLogEntry, Store, Transaction
from ..stored import unpack_verified
from . import partitions
from .schema import (
    CAS_FAILED,
    DEFAULT_REPO,
    GC_LOCK_CLASS,
    MAX_REPO_NAME_BYTES,
    NOTIFY_CHANNEL,
    SCHEMA_VERSION,
    migrate,
)
from .writes import PostgresTransaction

try:  # an optional extra: pip install "statevcs[postgres]"
    import psycopg
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

_BATCH = 1000
_PAGE = 1000
#: An object and the values of the moves before the newest move to it on its ref (a branch's
#: before HEAD's), newest first. The index on (repo, left(new, 16)) finds that move, and the
#: one on (repo, name, seq) is walked back from it; a value that is not an object id (HEAD's
#: "ref: ..." moves, a damaged row) becomes NULL, which names no object. The move is looked
#: up twice (two cheap index probes): so written, the planner walks the index between both
#: bounds, where a join or a CTE planned slower. Each object is then one primary-key probe
#: (LIMIT 1 keeps the lookup a probe per id whatever the table's statistics say).
_HISTORY_PAGE = """
    SELECT o.id, o.data FROM unnest(ARRAY(
        SELECT CASE WHEN l.new ~ '^[0-9a-f]{64}$' THEN decode(l.new, 'hex') END
        FROM statevcs_reflog l
        WHERE l.repo = %(repo)s
          AND (l.name, l.seq) < (SELECT name, seq FROM statevcs_reflog
                                 WHERE repo = %(repo)s AND left(new, 16) = %(lead)s AND new = %(oid)s
                                 ORDER BY name = 'HEAD', seq DESC LIMIT 1)
          AND l.name = (SELECT name FROM statevcs_reflog
                        WHERE repo = %(repo)s AND left(new, 16) = %(lead)s AND new = %(oid)s
                        ORDER BY name = 'HEAD', seq DESC LIMIT 1)
        ORDER BY l.name DESC, l.seq DESC LIMIT %(n)s) || %(key)s::bytea) AS wanted(id),
    LATERAL (SELECT id, data FROM statevcs_objects
             WHERE repo = %(repo)s AND id = wanted.id LIMIT 1) AS o"""


def split_url(url: str) -> tuple[str, str]:
    """(connection URL without ``repo=``, repository name)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    repo = DEFAULT_REPO
    rest = []
    for key, value in query:
        if key == "repo":
            repo = value
        else:
            rest.append((key, value))
    if not repo:
        raise NotARepositoryError(f"empty repository name in {url!r} (?repo=NAME)")
    size = len(repo.encode("utf-8", "surrogatepass"))
    if size > MAX_REPO_NAME_BYTES or "\x00" in repo:
        what = f"is {size:,} bytes long" if size > MAX_REPO_NAME_BYTES else "holds a NUL character"
        shown = repr(repo[:40]) + ("..." if len(repo) > 40 else "")
        raise NotARepositoryError(f"the repository name {shown} {what}: a PostgreSQL repository name "
                                  f"is at most {MAX_REPO_NAME_BYTES:,} UTF-8 bytes, without NUL (?repo=NAME)")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment)), repo


def _public(url: str) -> str:
    """The URL without a password, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc and ":" in netloc.split("@", 1)[0]:
        user = netloc.split("@", 1)[0].split(":", 1)[0]
        netloc = f"{user}:***@{netloc.split('@', 1)[1]}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PostgresStore(Store):
    """One named repository in a PostgreSQL database; safe across threads, processes and machines."""

    remote_reads = True

    def __init__(self, url: str, create: bool = False, connect_timeout: int = 10) -> None:
        if psycopg is None:
            raise StoreUnavailableError('PostgreSQL support needs psycopg: pip install "statevcs[postgres]"')
        self.url, self.repo = split_url(url)
        self.location = url
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()
        conn = self._conn()
        if create:
            migrate(conn)
            with self._guard(), conn.transaction():
                cur = conn.execute("INSERT INTO statevcs_repos (name) VALUES (%s) ON CONFLICT DO NOTHING",
                                   (self.repo,))
                if cur.rowcount == 0:
                    raise RepositoryExistsError(f"repository {self.repo!r} already exists in {_public(self.url)}")
                partitions.add_partitions(conn, self.repo)
            return
        with self._guard():
            try:
                row = conn.execute("SELECT MAX(version) FROM statevcs_schema").fetchone()
            except psycopg.errors.UndefinedTable:
                raise NotARepositoryError(f"{_public(self.url)} holds no statevcs repositories (run init)") from None
            if row[0] is None or row[0] > SCHEMA_VERSION:
                raise NotARepositoryError(f"{_public(self.url)}: statevcs schema version {row[0]} is not supported")
            if row[0] < SCHEMA_VERSION:
                migrate(conn)
            found = conn.execute("SELECT 1 FROM statevcs_repos WHERE name = %s", (self.repo,)).fetchone()
        if found is None:
            raise NotARepositoryError(f"no statevcs repository {self.repo!r} in {_public(self.url)}")

    # ------------------------------------------------------------ connections
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid() and not conn.closed and not conn.broken:
            return conn
        try:
            # Autocommit: a read is one round trip with no transaction left open; writes open
            # an explicit transaction (BEGIN ... COMMIT) in transaction().
            # No automatic prepared statements: a pipeline that fails (a lost compare-and-swap)
            # can leave psycopg believing in statements the server never prepared.
            conn = psycopg.connect(self.url, connect_timeout=self.connect_timeout, autocommit=True,
                                   prepare_threshold=None)
            # Plans pruned to this repository's partitions (plpgsql caches plans too): a generic
            # plan would lock every repository's partitions (partitions.py).
            conn.execute("SET plan_cache_mode = force_custom_plan")
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"cannot connect to {_public(self.url)}: {_first_line(exc)}") from None
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn lost connections and server errors into StateVCSErrors (a dropped connection is
        forgotten, so the next call reconnects)."""
        try:
            yield
        except StateVCSError:
            raise
        except psycopg.OperationalError as exc:
            self._local.conn = None
            raise StoreUnavailableError(f"lost the connection to {_public(self.url)}: {_first_line(exc)}") from None
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"PostgreSQL error: {_first_line(exc)}") from None

    def _read(self, query: str, params: tuple = ()) -> list[tuple]:
        with self._guard():
            conn = self._conn()
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(Exception):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def connect_listener(self) -> Any:
        """A new autocommit connection LISTENing for ref moves (for Repository.watch), registered
        as a watcher of this repository so that commits notify (release_listener ends it)."""
        conn = psycopg.connect(self.url, connect_timeout=self.connect_timeout, autocommit=True)
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        # Rows of watchers whose process is gone (a crash) stop costing commits here.
        conn.execute("DELETE FROM statevcs_watchers WHERE pid NOT IN (SELECT pid FROM pg_stat_activity)")
        conn.execute("INSERT INTO statevcs_watchers (repo, pid) VALUES (%s, pg_backend_pid()) ON CONFLICT DO NOTHING",
                     (self.repo,))
        return conn

    def release_listener(self, conn: Any) -> None:
        """Stop watching on a connection from connect_listener, and close it."""
        with contextlib.suppress(Exception):
            conn.execute("DELETE FROM statevcs_watchers WHERE repo = %s AND pid = pg_backend_pid()", (self.repo,))
        conn.close()

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._guard():
            conn = self._conn()
            tx = PostgresTransaction(conn, self.repo)
            # Reads on this thread see the objects put so far (they wait in the transaction
            # until statevcs_write): what a transaction wrote is readable inside it, as in SQL.
            self._local.tx = tx
            try:
                # BEGIN, the lock and the first reads travel together; the writes and COMMIT
                # follow in one more round trip (statevcs_write). The lock is shared with
                # every other writer, exclusive against gc's sweep (gc_lock).
                with conn.pipeline():
                    try:
                        yield tx
                        tx.flush()
                    except BaseException:
                        if tx.began:
                            conn.execute("ROLLBACK")
                        raise
                    if tx.began:
                        conn.execute("COMMIT")
            except psycopg.Error as exc:
                if getattr(exc, "sqlstate", None) == CAS_FAILED:
                    name = exc.diag.message_primary or "?"
                    raise RefConflictError(f"ref {name} was changed by another writer", name,
                                           tx.expected.get(name), None) from None
                raise
            finally:
                self._local.tx = None
                if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")  # a failed pipeline leaves the transaction aborted, not ended

    @contextlib.contextmanager
    def gc_lock(self) -> Iterator[None]:
        with self._guard():
            conn = self._conn()
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (GC_LOCK_CLASS, self.repo))
                self._local.in_gc = True
                try:
                    yield
                finally:
                    self._local.in_gc = False

    def now(self) -> datetime:
        return self._read("SELECT clock_timestamp()")[0][0].astimezone(timezone.utc)

    def gc_epoch(self) -> int | None:
        rows = self._read("SELECT gc_epoch FROM statevcs_repos WHERE name = %s", (self.repo,))
        return int(rows[0][0]) if rows else 0

    def bump_gc_epoch(self) -> None:
        with self._guard():
            conn = self._conn()
            with contextlib.nullcontext() if getattr(self._local, "in_gc", False) else conn.transaction():
                conn.execute("UPDATE statevcs_repos SET gc_epoch = gc_epoch + 1 WHERE name = %s", (self.repo,))

    # ------------------------------------------------------------ objects
    def _pending(self) -> dict[bytes, bytes]:
        """Objects (stored forms) put by this thread's open transaction, not yet sent."""
        tx = getattr(self._local, "tx", None)
        return tx.objects if tx is not None else {}

    def get(self, oid: str) -> bytes:
        if (stored := self._pending().get(_key(oid))) is not None:
            return unpack_verified(oid, stored)
        rows = self._read("SELECT data FROM statevcs_objects WHERE repo = %s AND id = %s", (self.repo, _key(oid)))
        if not rows:
            raise ObjectNotFoundError(f"object {oid} not found")
        return unpack_verified(oid, bytes(rows[0][0]))

    #: ``get_with_history`` reads the commits of up to this many earlier moves of the same ref.
    HISTORY_MOVES = 32

    def get_with_history(self, oid: str) -> tuple[bytes, dict[str, bytes]]:
        """``oid``'s bytes, and the objects the moves before the newest move to ``oid`` on the
        same ref (a branch's rather than HEAD's) pointed at, by id, verified; one query.
        A history walk reads a commit's parents next, and a branch's commits are the
        values its moves took: a log of N commits costs about N / 32 round trips, not N.
        A commit no move wrote (an expired reflog, a merged branch's) comes alone."""
        if (stored := self._pending().get(_key(oid))) is not None:
            return unpack_verified(oid, stored), {}
        rows = self._read(_HISTORY_PAGE, {"repo": self.repo, "oid": oid, "lead": oid[:16], "key": _key(oid),
                                          "n": self.HISTORY_MOVES})
        raw, older = None, {}
        for key, data in rows:
            other = bytes(key).hex()
            if other == oid:
                raw = unpack_verified(oid, bytes(data))
                continue
            try:
                older[other] = unpack_verified(other, bytes(data))
            except CorruptObjectError:  # reported by the read that needs it, if any does
                continue
        if raw is None:
            raise ObjectNotFoundError(f"object {oid} not found")
        return raw, older

    def has_many(self, oids: Iterable[str]) -> set[str]:
        wanted = [_key(o) for o in oids]
        pending = self._pending()
        found: set[str] = {k.hex() for k in wanted if k in pending} if pending else set()
        for i in range(0, len(wanted), _BATCH):
            rows = self._read("SELECT id FROM statevcs_objects WHERE repo = %s AND id = ANY(%s)",
                              (self.repo, wanted[i : i + _BATCH]))
            found.update(bytes(r[0]).hex() for r in rows)
        return found

    def get_many(self, oids: Iterable[str]) -> dict[str, bytes]:
        wanted = [_key(o) for o in oids]
        pending = self._pending()
        found: dict[str, bytes] = {k.hex(): unpack_verified(k.hex(), pending[k]) for k in wanted if k in pending}
        for i in range(0, len(wanted), _BATCH):
            rows = self._read("SELECT id, data FROM statevcs_objects WHERE repo = %s AND id = ANY(%s)",
                              (self.repo, wanted[i : i + _BATCH]))
            for key, data in rows:
                oid = bytes(key).hex()
                found[oid] = unpack_verified(oid, bytes(data))
        return found

    def iter_ids(self, written_before: datetime | None = None,
                 written_since: datetime | None = None) -> Iterator[str]:
        # Pages in id order; the write-time filters scan (gc reads every id anyway, and no
        # index on write times slows each commit).
        lo = written_since or datetime(1970, 1, 1, tzinfo=timezone.utc)
        hi = written_before or datetime(9999, 1, 1, tzinfo=timezone.utc)
        last = b""
        while rows := self._read(
            "SELECT id, written >= %s AND written < %s FROM statevcs_objects WHERE repo = %s AND id > %s "
            "ORDER BY id LIMIT %s", (lo, hi, self.repo, last, _PAGE),
        ):
            yield from (bytes(r[0]).hex() for r in rows if r[1])
            last = bytes(rows[-1][0])

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        lo = bytes.fromhex(prefix.ljust(64, "0"))
        hi = bytes.fromhex(prefix.ljust(64, "f"))
        rows = self._read(
            "SELECT id FROM statevcs_objects WHERE repo = %s AND id BETWEEN %s AND %s ORDER BY id LIMIT %s",
            (self.repo, lo, hi, limit),
        )
        return [bytes(r[0]).hex() for r in rows]

    def delete_objects(self, oids: Iterable[str], written_before: datetime | None = None) -> int:
        wanted = [_key(o) for o in oids]
        limit = written_before or datetime(9999, 1, 1, tzinfo=timezone.utc)
        n = 0
        with self._guard():
            conn = self._conn()
            # Inside gc_lock the deletes join the lock's transaction; otherwise they get their own.
            with contextlib.nullcontext() if getattr(self._local, "in_gc", False) else conn.transaction():
                for i in range(0, len(wanted), _BATCH):
                    cur = conn.execute("DELETE FROM statevcs_objects WHERE repo = %s AND id = ANY(%s) AND written < %s",
                                       (self.repo, wanted[i : i + _BATCH], limit))
                    n += cur.rowcount
        return n

    def stored_size(self) -> int:
        return int(self._read("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM statevcs_objects WHERE repo = %s",
                              (self.repo,))[0][0])

    # ------------------------------------------------------------ refs
    def read_ref(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM statevcs_refs WHERE repo = %s AND name = %s", (self.repo, name))
        return rows[0][0] if rows else None

    def list_refs(self, prefix: str = "") -> dict[str, str]:
        rows = self._read(
            "SELECT name, value FROM statevcs_refs WHERE repo = %s AND left(name, %s) = %s ORDER BY name COLLATE \"C\"",
            (self.repo, len(prefix), prefix),
        )
        return dict(rows)

    def reflog(self, name: str, limit: int | None = None) -> list[RefLogEntry]:
        rows = self._read(
            "SELECT name, old, new, who, time, why FROM statevcs_reflog WHERE repo = %s AND name = %s "
            "ORDER BY seq DESC LIMIT %s",
            (self.repo, name, limit),
        )
        return [RefLogEntry(r[0], r[1], r[2], r[3], r[4].astimezone(timezone.utc), r[5]) for r in rows]

    def reflog_seq(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(seq), 0) FROM statevcs_reflog WHERE repo = %s",
                              (self.repo,))[0][0])

    def iter_reflog_targets(self, after_seq: int = 0, names: Iterable[str] | None = None) -> Iterator[str]:
        only = None if names is None else set(names)
        last = after_seq
        while rows := self._read(
            "SELECT r.seq, r.name, r.old, r.new FROM statevcs_reflog r JOIN statevcs_refs f "
            "ON f.repo = r.repo AND f.name = r.name WHERE r.repo = %s AND r.seq > %s ORDER BY r.seq LIMIT %s",
            (self.repo, last, _PAGE),
        ):
            yield from {v for _, name, old, new in rows if only is None or name in only for v in (old, new) if v}
            last = rows[-1][0]

    def reflog_names(self) -> list[str]:
        rows = self._read("SELECT DISTINCT name FROM statevcs_reflog WHERE repo = %s ORDER BY name", (self.repo,))
        return [r[0] for r in rows]

    def expire_reflog(self, name: str, before: datetime,
                      keep: Callable[[str | None, str | None], bool] | None = None) -> int:
        last, n = 0, 0
        while rows := self._read(
            "SELECT seq, old, new FROM statevcs_reflog WHERE repo = %s AND name = %s AND seq > %s AND time < %s "
            "ORDER BY seq LIMIT %s", (self.repo, name, last, before, _PAGE),
        ):
            last = rows[-1][0]
            gone = [seq for seq, old, new in rows if keep is None or not keep(old, new)]
            if gone:
                n += self._read_count("DELETE FROM statevcs_reflog WHERE repo = %s AND seq = ANY(%s)",
                                      (self.repo, gone))
        return n

    def _read_count(self, query: str, params: tuple) -> int:
        """Run one autocommitted statement; its row count."""
        with self._guard():
            return int(self._conn().execute(query, params).rowcount)

    # test support
    def _backdate(self, seconds: float) -> None:
        """Move every object write time and reflog time ``seconds`` into the past."""
        with self.transaction() as tx:
            conn = tx.conn  # type: ignore[attr-defined]
            shift = f"{float(seconds)} seconds"
            conn.execute("UPDATE statevcs_objects SET written = written - %s::interval WHERE repo = %s",
                         (shift, self.repo))
            conn.execute("UPDATE statevcs_reflog SET time = time - %s::interval WHERE repo = %s", (shift, self.repo))

    def _corrupt(self, oid: str) -> None:
        with self.transaction() as tx:
            conn = tx.conn  # type: ignore[attr-defined]
            (data,) = conn.execute("SELECT data FROM statevcs_objects WHERE repo = %s AND id = %s",
                                   (self.repo, _key(oid))).fetchone()
            damaged = bytearray(data)
            damaged[len(damaged) // 2] ^= 0x01
            conn.execute("UPDATE statevcs_objects SET data = %s WHERE repo = %s AND id = %s",
                         (bytes(damaged), self.repo, _key(oid)))

    def destroy(self) -> None:
        """Delete this repository and everything in it (tests and ``statevcs`` admin use)."""
        with self.transaction() as tx:
            conn = tx.conn  # type: ignore[attr-defined]
            parts = partitions.partition_names(conn, self.repo)
            for table in ("statevcs_objects", "statevcs_refs", "statevcs_reflog"):
                conn.execute(f"DELETE FROM {table} WHERE repo = %s", (self.repo,))
            conn.execute("DELETE FROM statevcs_repos WHERE name = %s", (self.repo,))
        with self._guard():
            partitions.drop_partitions(self._conn(), parts)

    def compact(self) -> str:
        """Rewrite this repository's partitions without deleted rows (``VACUUM FULL``), locking
        no other repository; "" when done, else why not (docs/erasure.md)."""
        with self._guard():
            return partitions.compact(self._conn(), self.repo)


def _key(oid: str) -> bytes:
    try:
        return bytes.fromhex(oid)
    except ValueError:
        raise ObjectNotFoundError(f"{oid!r} is not an object id") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
