"""The PostgreSQL schema is versioned and migrated forward explicitly."""

from __future__ import annotations

import uuid

import pytest

from statevcs import NotARepositoryError, Repository
from statevcs.store.postgres import SCHEMA_VERSION, migrate

from .conftest import DATABASE_URL, require_postgres, url_in_schema


@pytest.fixture
def schema_url():
    """A URL whose connections use a fresh, empty PostgreSQL schema (dropped afterwards)."""
    require_postgres()
    import psycopg

    name = f"svcs_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(DATABASE_URL, autocommit=True)
    admin.execute(f"CREATE SCHEMA {name}")
    yield url_in_schema(name), name
    admin.execute(f"DROP SCHEMA {name} CASCADE")
    admin.close()


def test_init_creates_and_records_the_schema(schema_url):
    import psycopg

    url, name = schema_url
    with pytest.raises(NotARepositoryError, match="no statevcs repositories"):
        Repository.open(url + "&repo=a")
    repo = Repository.init(url + "&repo=a")
    repo.commit({"x": 1})
    with psycopg.connect(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM statevcs_schema ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        assert migrate(conn) == SCHEMA_VERSION  # already current: nothing to do
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,))}
        assert {"statevcs_objects", "statevcs_refs", "statevcs_reflog", "statevcs_repos"} <= tables
    Repository.init(url + "&repo=b").close()  # a second repository reuses the schema
    repo.close()


def test_newer_schema_is_refused(schema_url):
    import psycopg

    url, _ = schema_url
    Repository.init(url + "&repo=a").close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO statevcs_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(NotARepositoryError, match="schema version"):
        Repository.open(url + "&repo=a")
    with pytest.raises(NotARepositoryError, match="schema version"):
        Repository.init(url + "&repo=b")


def _names(url):
    import psycopg

    with psycopg.connect(url) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM statevcs_repos"))


def test_a_repository_name_too_long_is_refused_before_anything_is_made(schema_url):
    from urllib.parse import quote

    url, _ = schema_url
    Repository.init(url + "&repo=a").close()
    for name in ("r" * 8000, "é" * 513, "a\x00b"):  # 8,000 bytes, 1,026 bytes, a NUL
        for _ in range(2):  # and again: the first attempt left nothing behind
            with pytest.raises(NotARepositoryError, match="at most 1,024 UTF-8 bytes, without NUL"):
                Repository.init(f"{url}&repo={quote(name)}")
        with pytest.raises(NotARepositoryError, match="at most 1,024"):
            Repository.open(f"{url}&repo={quote(name)}")
    assert _names(url) == ["a"]
    longest = Repository.init(f"{url}&repo={quote('é' * 512)}")  # exactly 1,024 bytes
    longest.commit({"n": 1}, "fits")
    longest.close()
    assert _names(url) == ["a", "é" * 512]


def test_a_failed_init_leaves_no_repository(schema_url):
    from statevcs.errors import InvalidKeyError

    url, _ = schema_url
    Repository.init(url + "&repo=a").close()
    with pytest.raises(InvalidKeyError):
        Repository.init(url + "&repo=sealed", key="not a key")  # refused after the name was registered
    assert _names(url) == ["a"]
    Repository.init(url + "&repo=sealed", key="11" * 32).close()
    assert _names(url) == ["a", "sealed"]


def test_cli_init_with_a_name_too_long_is_one_error_line(schema_url, tmp_path):
    from .cli_helpers import fails

    url, _ = schema_url
    long_url = url + "&repo=" + "r" * 8000
    for _ in range(2):
        r = fails(tmp_path, 3, "init", long_url)
        assert "is 8,000 bytes long" in r.err and "at most 1,024 UTF-8 bytes" in r.err
    fails(tmp_path, 3, "-C", long_url, "log")


# ---------------------------------------------------------------- a partition per repository (issue 17.1)
def _old_database(url: str, version: int, repos: dict[str, Repository]) -> None:
    """Lay out the schema of ``version`` by its migrations and copy each in-memory repository
    into it, rows as that version kept them."""
    import psycopg

    from statevcs.store.stored import pack
    from statevcs.store.postgres import MIGRATIONS

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE statevcs_schema (version INTEGER PRIMARY KEY, "
                     "applied TIMESTAMPTZ NOT NULL DEFAULT now())")
        for v in range(1, version + 1):
            for statement in MIGRATIONS[v]:
                conn.execute(statement)
            conn.execute("INSERT INTO statevcs_schema (version) VALUES (%s)", (v,))
        for name, repo in repos.items():
            store = repo.store
            conn.execute("INSERT INTO statevcs_repos (name) VALUES (%s)", (name,))
            for oid in store.iter_ids():
                conn.execute("INSERT INTO statevcs_objects (repo, id, data) VALUES (%s, %s, %s)",
                             (name, bytes.fromhex(oid), pack(store.get(oid))))
            for ref, value in store.list_refs().items():
                conn.execute("INSERT INTO statevcs_refs VALUES (%s, %s, %s)", (name, ref, value))
            for ref in store.reflog_names():
                for e in reversed(store.reflog(ref)):
                    conn.execute("INSERT INTO statevcs_reflog (repo, name, old, new, who, time, why) "
                                 "VALUES (%s, %s, %s, %s, %s, %s, %s)", (name, ref, e.old, e.new, e.who, e.when, e.why))


def test_version_3_database_moves_each_repository_into_its_own_partition(schema_url):
    import psycopg

    from statevcs.store.memory import MemoryStore

    url, _ = schema_url
    repos = {}
    for name in ("alpha", "beta"):
        repos[name] = Repository(MemoryStore(), None, author="t")
        repos[name].store.update_ref("HEAD", "ref: refs/heads/main", None, "t", "init")
        for i in range(3):
            repos[name].commit({"who": name, "i": i, "pad": [name * 20] * 10}, f"{name} {i}")
    _old_database(url, 3, repos)
    with psycopg.connect(url) as conn:
        old_seq = conn.execute("SELECT MAX(seq) FROM statevcs_reflog").fetchone()[0]
    for name, memory in repos.items():
        with Repository.open(f"{url}&repo={name}") as repo:  # the first open migrates
            assert repo.get("main") == memory.get("main")
            assert [c.id for c in repo.log()] == [c.id for c in memory.log()]
            assert [e.new for e in repo.reflog("main")] == [e.new for e in memory.reflog("main")]
            assert repo.fsck().ok
            repo.commit({"who": name, "after": True}, "after the migration")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT MAX(version) FROM statevcs_schema").fetchone()[0] == SCHEMA_VERSION
        parts = dict(conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'statevcs_objects'::regclass").fetchall())
        assert sorted(parts.values()) == ["FOR VALUES IN ('alpha')", "FOR VALUES IN ('beta')"]
        for part in parts:  # each partition holds its own repository's rows only
            assert {r[0] for r in conn.execute(f"SELECT DISTINCT repo FROM {part}")} <= {"alpha", "beta"}
            assert conn.execute(f"SELECT COUNT(DISTINCT repo) FROM {part}").fetchone()[0] == 1
        assert conn.execute("SELECT MIN(seq) FROM statevcs_reflog WHERE why LIKE 'commit: after%'").fetchone()[0] > old_seq
        assert conn.execute("SELECT to_regclass('statevcs_objects_v3')").fetchone()[0] is None


def _hang_guard(fn) -> tuple[bool, list]:
    """Run ``fn`` in a thread; (finished within a generous bound, errors). The bound only
    keeps a blocked call from hanging the suite: nothing here measures time."""
    import threading

    errors: list = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(60)
    return not thread.is_alive(), errors


def test_compacting_one_repository_locks_no_other(tmp_path):
    """A purge's VACUUM FULL rewrites its own repository's partitions: it neither waits for
    another repository's open write transaction nor makes another repository's writers wait
    (their plans are pruned to their own partitions: plan_cache_mode=force_custom_plan, even
    for statements psycopg has prepared)."""
    from .conftest import postgres_url, track_postgres

    require_postgres()
    import psycopg

    from statevcs.model.tree import write_tree
    from statevcs.store.postgres.partitions import partition_names

    purged = Repository.init(track_postgres(postgres_url()), author="t")
    other = Repository.init(track_postgres(postgres_url()), author="t")
    for i in range(8):  # past psycopg's prepare threshold: the statements run as prepared ones
        purged.commit({"i": i, "pad": ["p" * 50] * 20}, f"p{i}")
        other.commit({"i": i}, f"o{i}")
    # 1. Another repository holds a write transaction open: the compaction does not wait for it.
    _, objects = write_tree({"open": "transaction"})
    with other.store.transaction() as tx:
        tx.put_objects(objects)
        finished, errors = _hang_guard(lambda: purged.store.compact())
        assert finished and not errors, errors
    # 2. The purged repository's partitions are locked as VACUUM FULL locks them: the other
    # repository commits, reads and lists all the same.
    with psycopg.connect(purged.store.url) as locker:
        for part in partition_names(locker, purged.store.repo):
            locker.execute(f"LOCK TABLE {part} IN ACCESS EXCLUSIVE MODE")

        def work() -> None:
            for i in range(8):
                other.commit({"i": 100 + i}, f"during {i}")
            assert other.get("main") == {"i": 107}
            assert len(other.reflog("main")) == 16 and other.fsck().ok

        finished, errors = _hang_guard(work)
        locker.rollback()
    assert finished and not errors, errors
    purged.close()
    other.close()
