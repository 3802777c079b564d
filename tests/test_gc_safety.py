"""gc's grace period, reflog expiry, age parsing, the CLI options, and schema migration of
stores made before objects had write times (docs/gc.md)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from statevcs import Repository
from statevcs.errors import InvalidAgeError, RuleViolationError
from statevcs.model.tree import write_tree
from statevcs.porcelain.upkeep.ages import parse_age
from statevcs.store.sqlite import SQLiteStore
from statevcs.store.sqlite.layout import SCHEMA_VERSION
from statevcs.testing import make_object

from .cli_helpers import fails, run

WEEK = 7 * 86400


def test_grace_period_keeps_young_garbage_and_prune_now_removes_it(repo):
    kept = repo.commit({"keep": "x" * 2000})
    old, old_raw = make_object(1)
    repo.store.put(old, old_raw)
    repo.store._backdate(3 * WEEK)
    young, young_raw = make_object(2)
    repo.store.put(young, young_raw)
    report = repo.gc()  # default grace: two weeks
    assert report.removed == 1
    assert not repo.store.has(old) and repo.store.has(young)
    assert repo.gc(prune="2h").removed == 0
    assert repo.gc(prune="now").removed == 1
    assert not repo.store.has(young)
    assert repo.get(kept.id) == {"keep": "x" * 2000} and repo.fsck().ok


def test_gc_prune_never_removes_nothing(repo):
    oid, raw = make_object(3)
    repo.store.put(oid, raw)
    repo.store._backdate(100 * WEEK)
    assert repo.gc(prune="never").removed == 0 and repo.store.has(oid)


def test_a_recent_object_keeps_the_old_objects_it_links_to(repo):
    """A transfer writes new objects over old unreachable ones it found present: until its
    ref moves, only the recent objects' links keep those old ones."""
    root, objects = write_tree({"items": [{"n": i, "pad": "p" * 40} for i in range(400)]})
    children = {o: raw for o, raw in objects.items() if o != root}
    assert children
    repo.store.put_many(children)
    repo.store._backdate(3 * WEEK)
    repo.store.put(root, objects[root])
    assert repo.gc(prune="1h").removed == 0
    assert all(repo.store.has(o) for o in objects)
    assert repo.gc(prune="now").removed == len(objects)


def test_reflog_expiry_keeps_recent_and_reachable_entries(repo):
    c1 = repo.commit({"v": 1})
    c2 = repo.commit({"v": 2, "pad": "y" * 2000})
    repo.reset(c1.id)  # c2 is now reachable only through the reflog
    repo.store._backdate(40 * 86400)
    c3 = repo.commit({"v": 3})
    report = repo.gc(prune="now")
    # older than 30 days and unreachable from main's tip: c2's entries are gone, and c2 with them
    assert report.reflog_expired >= 1
    assert c2.id not in {e.new for e in repo.reflog("main")}
    assert not repo.store.has(c2.id)
    # as git: an entry goes when either side is unreachable (the reset away from c2 too);
    # c1's creation entry is reachable and under 90 days old
    assert [e.new for e in repo.reflog("main")] == [c3.id, c1.id]
    repo.store._backdate(60 * 86400)  # c1's entry is now 100 days old, c3's 60 (and reachable)
    c4 = repo.commit({"v": 4})
    repo.gc(prune="now")
    assert [e.new for e in repo.reflog("main")] == [c4.id, c3.id]
    assert repo.get(c1.id) == {"v": 1} and repo.fsck().ok  # still reachable from the tip


def test_reflog_expiry_can_be_turned_off_and_tuned(repo):
    c1 = repo.commit({"v": 1})
    repo.store._backdate(200 * 86400)
    repo.commit({"v": 2})
    assert repo.gc(expire="never", expire_unreachable="never").reflog_expired == 0
    assert len(repo.reflog("main")) == 2
    assert repo.gc(expire="1.year").reflog_expired == 0
    assert repo.gc(expire="100d").reflog_expired >= 1
    assert [e.old for e in repo.reflog("main")] == [c1.id]


def test_a_deleted_refs_old_reflog_expires(repo):
    repo.commit({"v": 1})
    repo.create_branch("tmp")
    repo.delete_branch("tmp", force=True)
    repo.store._backdate(31 * 86400)
    repo.gc()
    assert "refs/heads/tmp" not in repo.store.reflog_names()


@pytest.mark.parametrize("text, seconds", [
    ("now", 0), ("2.weeks", 14 * 86400), ("14d", 14 * 86400), ("2h", 7200), ("30m", 1800),
    ("45s", 45), ("1.week.ago", WEEK), ("90.days", 90 * 86400), ("3 hours", 10800), ("90", 90),
    ("1.5h", 5400),
])
def test_parse_age(text, seconds):
    assert parse_age(text) == timedelta(seconds=seconds)


def test_parse_age_other_forms():
    assert parse_age("never") is None
    assert parse_age(timedelta(hours=1)) == timedelta(hours=1)
    assert parse_age(30) == timedelta(seconds=30)
    for bad in ("soon", "", "-1", "2.fortnights", "h2", "1..day", True):
        with pytest.raises(InvalidAgeError):
            parse_age(bad)  # type: ignore[arg-type]


def test_cli_gc_prune_and_reflog_expire(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text('{"a": 1}')
    run(d, "commit", "-m", "one")
    store = SQLiteStore(str(d / ".statevcs" / "statevcs.db"))
    garbage, raw = make_object(7)
    store.put(garbage, raw)
    assert run(d, "gc").out.startswith("Removed 0 ")  # young: the two-week grace keeps it
    out = run(d, "gc", "--prune=now", "--json").json()
    assert out["removed"] == 1 and out["version"] == 1
    assert not store.has(garbage)
    store._backdate(100 * 86400)
    store.close()
    assert run(d, "reflog-expire", "--json").json()["expired"] >= 1
    assert "Expired 0 reflog entries." in run(d, "reflog-expire").out
    r = fails(d, 2, "gc", "--prune=soon")
    assert "soon" in r.err
    fails(d, 2, "gc", "--expire=sometime")
    fails(d, 2, "reflog-expire", "--expire-unreachable=x")
    assert "ok" in run(d, "fsck").out


def test_sqlite_version_1_database_is_migrated_on_open(tmp_path):
    """A database made before objects had write times opens, and its objects count as new."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE objects (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
        CREATE TABLE refs (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE reflog (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, old TEXT, new TEXT,
                             who TEXT NOT NULL, time TEXT NOT NULL, why TEXT NOT NULL);
        CREATE INDEX reflog_by_name ON reflog (name, seq);
        INSERT INTO meta VALUES ('schema_version', '1');
    """)
    oid, raw = make_object(9)
    conn.execute("INSERT INTO objects VALUES (?, ?)", (bytes.fromhex(oid), b"\x00" + raw))
    conn.commit()
    conn.close()
    store = SQLiteStore(str(path))
    assert store.get(oid) == raw
    assert list(store.iter_ids(written_since=store.now() - timedelta(minutes=5))) == [oid]
    repo = Repository(store, None, author="t")
    assert repo.gc().removed == 0  # unreachable, but "written" at the migration
    assert repo.gc(prune="now").removed == 1
    store.close()
    version = sqlite3.connect(path).execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)


def test_postgres_version_1_schema_is_migrated_on_open():
    """A PostgreSQL database made by the previous version opens; its objects count as new."""
    from .conftest import DATABASE_URL, require_postgres, url_in_schema

    require_postgres()
    import uuid

    import psycopg

    from statevcs.store.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore

    name = f"svcs_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(DATABASE_URL, autocommit=True)
    admin.execute(f"CREATE SCHEMA {name}")
    url = url_in_schema(name)
    try:
        oid, raw = make_object(11)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE statevcs_schema (version INTEGER PRIMARY KEY, "
                         "applied TIMESTAMPTZ NOT NULL DEFAULT now())")
            for statement in MIGRATIONS[1]:
                conn.execute(statement)
            conn.execute("INSERT INTO statevcs_schema (version) VALUES (1)")
            conn.execute("INSERT INTO statevcs_repos (name) VALUES ('old')")
            conn.execute("INSERT INTO statevcs_objects (repo, id, data) VALUES ('old', %s, %s)",
                         (bytes.fromhex(oid), b"\x00" + raw))
        store = PostgresStore(url + "&repo=old")
        assert store.get(oid) == raw
        repo = Repository(store, None, author="t")
        assert repo.gc().removed == 0  # "written" at the migration: inside the grace period
        assert repo.gc(prune="now").removed == 1
        store.close()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT MAX(version) FROM statevcs_schema").fetchone()[0] == SCHEMA_VERSION
    finally:
        admin.execute(f"DROP SCHEMA {name} CASCADE")
        admin.close()


# ---------------------------------------------------------------- refs/meta/* reflogs (issue 17.2)
def test_gc_after_rules_expiry_and_purge_with_aged_reflogs(repo):
    """refs/meta/* name state nodes, not commits: expiring their reflogs must not walk them as
    history (it did: ``object ... is a obj1, not a commit1``), so gc keeps working and keeps
    collecting expired branches."""
    repo.commit({"n": 1, "users": {"42": "x" * 100}}, "one")
    repo.commit({"n": 2, "users": {"42": "y" * 100}}, "two")
    repo.set_schema({"properties": {"n": {"type": "integer"}}})
    repo.create_branch("tmp", expires="60d")
    repo.commit({"n": 3, "tmp": "t" * 3000}, "on tmp", branch="tmp")
    tmp_tip = repo.branches["tmp"]
    repo.purge("/users/42", all=True)
    meta = [n for n in repo.store.reflog_names() if n.startswith("refs/meta/")]
    assert {"refs/meta/schema", "refs/meta/expiry", "refs/meta/purges"} <= set(meta)
    # zero ages right away, as docs/cli.md recommends after a prune
    repo.gc(prune="now", expire_unreachable="now")
    assert repo.gc(prune="now", expire_unreachable="now").removed == 0
    # the same with the reflog moved back past the 30-day default, and tmp's expiry passed
    repo.store._backdate(61 * 86400)
    repo.set_branch_expiry("tmp", datetime(2020, 1, 1, tzinfo=timezone.utc))
    report = repo.gc()
    assert report.branches_expired == ("tmp",)
    assert repo.gc(prune="now").removed >= 0
    assert not repo.store.has(tmp_tip)  # the expired branch's commit was collected
    repo.objects.forget()
    assert repo.schema() == {"properties": {"n": {"type": "integer"}}}  # the rules are kept
    assert len(repo.store.reflog("refs/meta/schema")) == 1  # 61 days old: kept (by age alone)
    assert repo.fsck().ok
    with pytest.raises(RuleViolationError):
        repo.commit({"n": "str"}, "still checked")


def test_cli_gc_after_schema_set(tmp_path):
    run(tmp_path, "init", "g")
    d = tmp_path / "g"
    (d / "state.json").write_text('{"n": 1}')
    run(d, "commit", "-m", "one")
    (d / "s.json").write_text('{"properties": {"n": {"type": "integer"}}}')
    run(d, "schema", "set", "s.json")
    run(d, "branch", "x", "--expire-after", "60d")
    assert run(d, "gc", "--prune=now", "--expire-unreachable=now").out.startswith("Removed ")
    with Repository.open(str(d)) as repo:
        repo.store._backdate(31 * 86400)
    run(d, "gc")
    assert "ok" in run(d, "fsck").out
