"""The embedded store's layout (SQLite schema 5): schema 2, 3 and 4 repositories made by
earlier code open, read, merge, gc and fsck; a commit appends one pack; reflog chains survive
deletes, re-creation and expiry; deleted objects leave no bytes in live rows."""

from __future__ import annotations

import copy
import shutil
import sqlite3
from datetime import timedelta

import pytest

from statevcs import Repository
from statevcs.errors import CorruptObjectError
from statevcs.model.canonical import strict_equal
from statevcs.store.stored import unpack
from statevcs.store.sqlite import SQLiteStore
from statevcs.store.sqlite.layout import SCHEMA_VERSION

from .conftest import ROOT
from .data.make_schema2_repo import team as schema2_team

SCHEMA2 = ROOT / "tests" / "data" / "schema2-repo"
SCHEMA3 = ROOT / "tests" / "data" / "schema3-repo"
SCHEMA4 = ROOT / "tests" / "data" / "schema4-repo"


def _tables(db) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}


@pytest.fixture
def schema2(tmp_path):
    target = tmp_path / "old"
    shutil.copytree(SCHEMA2, target)
    with sqlite3.connect(target / ".statevcs" / "statevcs.db") as conn:
        before = {
            "objects": conn.execute("SELECT count(*) FROM objects").fetchone()[0],
            "reflog": conn.execute("SELECT name, old, new, who, why FROM reflog ORDER BY seq").fetchall(),
            "refs": dict(conn.execute("SELECT name, value FROM refs").fetchall()),
        }
    repo = Repository.open(str(target))
    yield repo, before, target / ".statevcs" / "statevcs.db"
    repo.close()


def _main_history() -> list[dict]:
    """The states of main's first-parent history, oldest first, as the maker script made them."""
    state = schema2_team(600)
    states = [copy.deepcopy(state)]
    for i in range(40):
        state["agents"][f"agent-{i * 7:04d}"]["step"] += 1000
        state["log"].append(f"turn {400 + i}: done")
        states.append(copy.deepcopy(state))
    return states


def test_schema2_repository_is_migrated_and_reads_as_before(schema2):
    repo, before, db = schema2
    assert "objects" not in _tables(db) and "reflog" not in _tables(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    assert len(list(repo.store.iter_ids())) == before["objects"]
    assert repo.store.list_refs() == before["refs"]
    history = _main_history()
    main = list(repo.log("main", first_parent=True))
    assert len(main) == 42  # the merge, then 41 commits
    assert [strict_equal(repo.get(c.id), s) for c, s in zip(main[1:], reversed(history))] == [True] * 41
    assert strict_equal(repo.get("v1"), history[0]) and strict_equal(repo.get("light"), history[0])
    experiment = schema2_team(600)
    experiment["config"]["temperature"] = 0.9
    experiment["agents"]["agent-0001"]["role"] = "lead"
    assert strict_equal(repo.get("experiment"), experiment)
    assert repo.get("array-root") == ["a scalar list state"] * 3
    assert repo.schema("main") == {"type": "object"}
    # Every reflog entry is still there, per ref and newest first, the deleted branch's too.
    old = before["reflog"]
    for name in {e[0] for e in old}:
        mine = [e[1:] for e in old if e[0] == name][::-1]
        assert [(e.old, e.new, e.who, e.why) for e in repo.store.reflog(name)] == mine
    assert repo.store.reflog("refs/heads/short-lived")[0].new is None  # deleted, entries kept
    assert "refs/heads/short-lived" in repo.store.reflog_names()
    assert repo.fsck().ok


def _commit_and_merge_a_side_branch(repo: Repository):
    """What a user does next with an old repository: a commit on main, a branch from the
    annotated tag with a commit of its own, merged into main."""
    state = repo.get("main")
    state["config"]["model"] = "m-3"
    repo.commit(state, message="after the migration")
    repo.create_branch("side", "v1")
    side = repo.get("side")
    side["agents"]["agent-0599"]["role"] = "lead"
    repo.commit(side, message="side", branch="side")
    return repo.merge("side", "main", message="merge side")


def test_schema2_repository_merges_commits_and_collects(schema2):
    repo, _, _ = schema2
    outcome = _commit_and_merge_a_side_branch(repo)
    assert outcome.commit is not None and repo.get("main", "/agents/agent-0599/role") == "lead"
    assert repo.get("main", "/config/model") == "m-3"
    repo.store._backdate(120 * 86400)
    report = repo.gc(prune="now", expire_unreachable="now")
    assert report.removed > 0  # the deleted branch's commit and state
    assert repo.fsck().ok
    for commit in repo.log("main"):
        repo.get(commit.id)
    assert "refs/heads/short-lived" not in repo.store.reflog_names()


def _flags(db) -> list[int]:
    """The storage flag of each pack's objects, in pack order."""
    with sqlite3.connect(db) as conn:
        return [d[0] for (d,) in conn.execute("SELECT data FROM packs WHERE data IS NOT NULL ORDER BY p")]


def _moves_forms(db) -> list[str]:
    """The SQLite type of each pack's moves, in pack order (text before schema 5, blob since)."""
    with sqlite3.connect(db) as conn:
        return [t for (t,) in conn.execute("SELECT typeof(moves) FROM packs WHERE moves IS NOT NULL ORDER BY p")]


@pytest.mark.parametrize("made_by, version, flag", [(SCHEMA3, "3", 1), (SCHEMA4, "4", 2)], ids=["schema3", "schema4"])
def test_older_pack_repository_opens_reads_merges_and_collects(tmp_path, made_by, version, flag):
    target = tmp_path / "old"
    shutil.copytree(made_by, target)
    db = target / ".statevcs" / "statevcs.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (version,)
        ids = conn.execute("SELECT count(*) FROM objidx").fetchone()[0]
        refs = dict(conn.execute("SELECT name, value FROM refs WHERE value IS NOT NULL").fetchall())
    old_flags, old_moves = _flags(db), _moves_forms(db)
    assert set(old_flags) <= {0, flag} and flag in old_flags  # zstd without (3) or with (4) the dictionary
    assert set(old_moves) == {"text"}
    with Repository.open(str(target)) as repo:
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
                str(SCHEMA_VERSION),)
        assert len(list(repo.store.iter_ids())) == ids and repo.store.list_refs() == refs
        history = _main_history()
        main = list(repo.log("main", first_parent=True))
        assert [strict_equal(repo.get(c.id), s) for c, s in zip(main[1:], reversed(history))] == [True] * 41
        assert len(repo.store.reflog("refs/heads/main")) >= 42
        assert repo.store.reflog("refs/heads/short-lived")[0].new is None
        assert _commit_and_merge_a_side_branch(repo).commit is not None
        new_flags, new_moves = _flags(db)[len(old_flags):], _moves_forms(db)[len(old_moves):]
        assert new_flags and set(new_flags) == {2}  # new packs: zstd with the dictionary
        assert new_moves and set(new_moves) == {"blob"}  # and moves in the schema 5 form
        entries = repo.store.reflog("refs/heads/main")
        assert entries[0].why.startswith("merge") and entries[-1].old is None  # both forms, one chain
        repo.store._backdate(120 * 86400)
        assert repo.gc(prune="now", expire_unreachable="now").removed > 0
        assert repo.fsck().ok
        for commit in repo.log("main"):
            repo.get(commit.id)
        assert repo.get("main", "/agents/agent-0599/role") == "lead"


def test_a_log_batches_across_packs_written_before_and_after_schema_5(tmp_path):
    """Main's old commits (moves as text) and new ones (BLOB form) are read ahead alike: a log
    of both takes a few queries, not one per commit."""
    target = tmp_path / "old"
    shutil.copytree(SCHEMA4, target)
    with Repository.open(str(target)) as repo:
        for i in range(40):
            repo.commit({"n": i}, message=f"new {i}", branch="main")
        expected = [c.id for c in repo.log("main", first_parent=True)]
    repo = Repository.open(str(target))
    sql: list[str] = []
    read = repo.store._read
    repo.store._read = lambda statement, params=(): (sql.append(statement), read(statement, params))[1]
    assert [c.id for c in repo.log("main", first_parent=True)] == expected and len(expected) >= 82
    assert len(sql) <= 12, len(sql)  # 82 commits: one query each would be 82
    # The first new commit's read brings the old commits before it, from packs of the text form.
    first_new = expected[39]
    _, ahead = repo.store.get_with_history(first_new)
    assert set(expected[40:72]) <= set(ahead), len(set(expected[40:72]) & set(ahead))
    repo.close()


def _packs(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM packs").fetchone()[0]


def test_a_commit_appends_one_pack_and_an_index_row_per_new_object(tmp_path):
    repo = Repository.init(str(tmp_path / "r"), author="t")
    db = tmp_path / "r" / ".statevcs" / "statevcs.db"
    state = {"agent": {"memory": [f"fact {i}" for i in range(40)], "step": 0}}
    repo.commit(state)
    packs, ids = _packs(db), len(list(repo.store.iter_ids()))
    state["agent"]["step"] = 1
    repo.commit(state)  # the memory subtree is unchanged: written once, not again
    assert _packs(db) == packs + 1
    assert len(list(repo.store.iter_ids())) == ids + 2  # the new root and the commit
    repo.close()


def test_reflog_chains_across_deletes_recreation_and_expiry(tmp_path):
    repo = Repository.init(str(tmp_path / "r"), author="t")
    store = repo.store
    c1 = repo.commit({"n": 1}).id
    c2 = repo.commit({"n": 2}).id
    repo.create_branch("b", c1)
    repo.commit({"n": 3}, branch="b")
    repo.delete_branch("b", force=True)
    assert "refs/heads/b" not in store.list_refs() and store.read_ref("refs/heads/b") is None
    assert [e.why.split(":")[0] for e in store.reflog("refs/heads/b")] == ["branch", "commit", "branch"]
    repo.create_branch("b", c2)  # re-created: its chain goes on from the old entries
    assert len(store.reflog("refs/heads/b")) == 4 and store.reflog("refs/heads/b")[0].new == c2
    assert len(store.reflog("refs/heads/b", limit=2)) == 2
    # Expire the middle of the chain only: entries the predicate keeps stay, the chain holds.
    store._backdate(3600)
    main_before = store.reflog("refs/heads/main")
    repo.commit({"n": 4}, branch="b")
    dropped = store.expire_reflog("refs/heads/b", store.now() - timedelta(minutes=30),
                                  keep=lambda old, new: new == c2)
    assert dropped == 3
    assert [e.new for e in store.reflog("refs/heads/b")] == [repo.resolve("b").id, c2]
    assert store.reflog("refs/heads/main") == main_before  # other refs' entries untouched
    # A deleted ref whose entries all expire leaves nothing behind.
    repo.delete_branch("b", force=True)
    store.expire_reflog("refs/heads/b", store.now() + timedelta(minutes=1))
    assert store.reflog("refs/heads/b") == [] and "refs/heads/b" not in store.reflog_names()
    assert repo.fsck().ok
    repo.close()


def test_deleted_objects_leave_no_bytes_in_live_rows(tmp_path):
    store = SQLiteStore(str(tmp_path / "db"), create=True)
    repo = Repository(store, None, author="t")
    secret = "erase-me-" + "x" * 40
    repo.commit({"keep": "k" * 300})
    repo.create_branch("tmp")
    repo.commit({"keep": "k" * 300, "secret": {"v": [secret] * 30}}, branch="tmp")
    repo.delete_branch("tmp", force=True)
    store._backdate(200 * 86400)
    assert repo.gc(prune="now", expire="now", expire_unreachable="now").removed >= 2
    with sqlite3.connect(tmp_path / "db") as conn:
        packs = [unpack(d, "pack") for (d,) in conn.execute("SELECT data FROM packs WHERE data IS NOT NULL")]
        live = conn.execute("SELECT sum(len) FROM objidx").fetchone()[0]
    assert all(secret.encode() not in b for b in packs)
    assert sum(map(len, packs)) == live  # the packs hold nothing but live objects
    assert repo.get() == {"keep": "k" * 300}
    assert repo.fsck().ok
    repo.close()


def test_a_log_reads_a_branchs_commits_in_batches_between_other_branches(tmp_path):
    """A history walk gets the commits of the transactions that moved the same ref before
    (get_with_history): a log of 101 commits takes a few queries, not one per commit, even
    with another branch's commits written in between; a damaged pack among them fails only
    the read that needs it."""
    repo = Repository.init(str(tmp_path / "r"))
    repo.commit({"n": 0}, message="root")
    repo.create_branch("other")
    mine = []
    for i in range(1, 101):
        mine.append(repo.commit({"n": i}, message=f"main {i}").id)
        repo.commit({"o": i}, message=f"other {i}", branch="other")
    repo.close()
    r = Repository.open(str(tmp_path / "r"))
    sql: list[str] = []
    read = r.store._read
    r.store._read = lambda statement, params=(): (sql.append(statement), read(statement, params))[1]
    log = [c.id for c in r.log("main")]
    assert log[:100] == mine[::-1] and len(log) == 101
    assert 3 <= len(sql) <= 15, sql  # one query per commit would be over 100
    r.close()
    # The state of one old commit: its pack (the commit and its root) and the packs of the
    # nodes it shares, no history read ahead (the 32 commits before it would be read for nothing).
    r = Repository.open(str(tmp_path / "r"))
    sql.clear()
    read = r.store._read
    r.store._read = lambda statement, params=(): (sql.append(statement), read(statement, params))[1]
    assert r.get(mine[49]) == {"n": 50}
    assert len(sql) == 1 and "moves" not in sql[0], sql
    r.close()
    with sqlite3.connect(tmp_path / "r" / ".statevcs" / "statevcs.db") as db:
        pack = db.execute("SELECT p FROM objidx WHERE id = ?", (bytes.fromhex(mine[49]),)).fetchone()[0]
        db.execute("UPDATE packs SET data = ? WHERE p = ?", (b"\x01not zstd", pack))
    r = Repository.open(str(tmp_path / "r"))
    assert r.get(mine[99]) == {"n": 100}  # its history read skips the damaged pack
    with pytest.raises(CorruptObjectError):
        list(r.log("main"))
    r.close()
