"""Erasure (issue 11.2): purge rewrites history without a value, moves refs, expires the
reflog and collects the old objects, so the erased bytes are in no object and no database file."""

from __future__ import annotations

import json

import pytest

from statevcs import Repository
from statevcs.errors import MergeInProgressError, PurgeError, RevisionNotFoundError
from statevcs.model.objects import TAG
from statevcs.porcelain.upkeep.purge import PURGED_KEY, purge_history
from statevcs.store import stored
from statevcs.store.stored import unpack_verified

from .cli_helpers import fails, run

MARKER = "ERASE-ME-7c1f"
BIG = MARKER + ("x" * 2000)  # stored zstd-compressed: only visible after decompression


def assert_erased(repo, marker: str = MARKER) -> None:
    """No object in the store holds the marker, decompressed."""
    for oid in repo.store.iter_ids():
        assert marker.encode() not in repo.store.get(oid), oid


def holds_marker(repo, marker: str = MARKER) -> bool:
    return any(marker.encode() in repo.store.get(oid) for oid in repo.store.iter_ids())


def build_history(repo):
    """main: three commits holding the value, a merge, a tag (annotated) and a lightweight tag."""
    one = repo.commit({"users": {"42": {"email": MARKER, "bio": BIG}, "7": {"email": "kept@x"}}, "n": 1}, "one")
    repo.create_tag("v1", message="first release")
    repo.create_branch("side")
    repo.commit({"users": {"42": {"email": MARKER, "bio": BIG}, "7": {"email": "kept@x"}}, "n": 1, "side": True},
                "side work", branch="side")
    repo.commit({"users": {"42": {"email": MARKER, "bio": BIG}, "7": {"email": "kept@x"}}, "n": 2}, "two")
    merged = repo.merge("side", message="merge side").commit
    repo.create_tag("light", merged.id)
    repo.commit({"users": {"7": {"email": "kept@x"}}, "n": 3}, "user 42 leaves")
    return one


def test_purge_all_rewrites_history_and_erases_every_object(repo):
    build_history(repo)
    before = [(c.message, len(c.parents)) for c in repo.log()]
    assert holds_marker(repo)
    report = repo.purge("/users/42", all=True)
    assert report.holding == 4 and report.rewritten == 5
    assert set(report.refs) == {"refs/heads/main", "refs/heads/side", "refs/tags/v1", "refs/tags/light"}
    assert_erased(repo)
    assert_erased(repo, "ERASE-ME")
    # Same shape: messages, merges still merges; the value is gone from every state.
    assert [(c.message, len(c.parents)) for c in repo.log()] == before
    for c in repo.log():
        assert "42" not in repo.get(c.id)["users"]
        assert repo.get(c.id)["users"].get("7") == {"email": "kept@x"}
    notes = [c.metadata.get(PURGED_KEY) for c in repo.log()]
    assert notes.count(["/users/42"]) == 4 and notes[0] is None
    # Tags moved: the annotated one re-created with its message, pointing at the new commit.
    v1 = repo.tag_object("v1")
    assert v1 is not None and v1.message == "first release" and v1.target in report.map.values()
    assert repo.objects.kind(repo.store.read_ref("refs/tags/v1")) == TAG
    assert repo.tags["v1"] in report.map.values() and repo.tags["light"] in report.map.values()
    # The map is kept: reflog entries and refs/meta/purges; no reflog entry names an old commit.
    assert purge_history(repo)[-1]["map"] == report.map
    for name in repo.store.reflog_names():
        for entry in repo.store.reflog(name):
            assert entry.old not in report.map and entry.new not in report.map
    assert "purge: /users/42" in repo.reflog("main")[0].why
    assert repo.fsck().ok
    # Old commits are gone from the store.
    assert not repo.store.has_many(list(report.map))


def test_purge_one_branch_reports_refs_still_holding_it(repo):
    repo.commit({"secret": MARKER, "n": 1}, "one")
    repo.create_branch("other")
    repo.commit({"secret": MARKER, "n": 2}, "two")
    report = repo.purge("/secret", branches=["main"])
    assert report.still_held_by == ("refs/heads/other",)
    assert "secret" not in repo.get("main") and repo.get("other")["secret"] == MARKER
    assert holds_marker(repo)  # the other branch still reaches it
    repo.purge("/secret", branches=["other"])
    assert_erased(repo)


def test_purge_default_is_the_current_branch_and_commits_not_holding_it_follow(repo):
    repo.commit({"n": 0}, "zero")
    repo.commit({"n": 1, "tmp": MARKER}, "one")
    repo.commit({"n": 2}, "two: removed it already")
    zero = repo.rev_parse("HEAD~2")
    report = repo.purge("/tmp")
    assert report.holding == 1 and report.rewritten == 2  # "two" follows its rewritten parent
    assert repo.rev_parse("HEAD~2") == zero  # untouched ancestors keep their ids
    assert_erased(repo)


def test_orphaned_commits_in_the_reflog_are_expired_too(repo):
    repo.commit({"n": 0}, "zero")
    repo.commit({"n": 1, "tmp": MARKER}, "one")
    repo.reset("HEAD~1")  # the commit holding the value is now only in the reflog
    repo.commit({"n": 2, "tmp": "other"}, "two")
    repo.purge("/tmp", all=True)
    assert_erased(repo)


def test_bad_input_changes_nothing(repo):
    repo.commit({"a": 1}, "one")
    refs, ids = repo.store.list_refs(), set(repo.store.iter_ids())
    with pytest.raises(PurgeError, match="/nope is in no commit"):
        repo.purge("/nope", all=True)
    with pytest.raises(PurgeError, match="whole state"):
        repo.purge("", all=True)
    with pytest.raises(RevisionNotFoundError):
        repo.purge("/a", branches=["missing"])
    with pytest.raises(PurgeError):
        repo.purge("/a", branches=["main"], all=True)
    plan = repo.purge("/a", dry_run=True)
    assert plan.rewritten == 1 and plan.dry_run
    assert repo.store.list_refs() == refs and set(repo.store.iter_ids()) == ids


# ---------------------------------------------------------------- the raw database files
def test_sqlite_file_holds_no_erased_bytes(tmp_path, monkeypatch):
    # Objects stored plain, so the marker's bytes are visible in the files before the purge.
    monkeypatch.setattr(stored, "COMPRESS_THRESHOLD", 1 << 30)
    repo = Repository.init(str(tmp_path / "r"))
    build_history(repo)
    db = tmp_path / "r" / ".statevcs" / "statevcs.db"

    def raw() -> bytes:
        return b"".join(p.read_bytes() for p in db.parent.glob("statevcs.db*"))

    assert MARKER.encode() in raw()  # the probe finds it when it is there: the test can fail
    repo.purge("/users/42", all=True)
    assert MARKER.encode() not in raw()
    assert_erased(repo)
    assert MARKER not in (tmp_path / "r" / "state.json").read_text()  # the clean working file was reloaded
    repo.close()


def test_postgres_tables_hold_no_erased_bytes():
    from .conftest import postgres_url, require_postgres, track_postgres

    require_postgres()
    import psycopg

    url = track_postgres(postgres_url())
    repo = Repository.init(url, author="tester")
    name = repo.store.repo

    def rows() -> list[bytes]:
        with psycopg.connect(repo.store.url) as conn:
            out = [bytes(d) for (d,) in conn.execute(
                "SELECT data FROM statevcs_objects WHERE repo = %s", (name,)).fetchall()]
            for table in ("statevcs_refs", "statevcs_reflog"):
                out += [repr(r).encode() for r in conn.execute(f"SELECT * FROM {table} WHERE repo = %s", (name,))]
            ids = [bytes(i).hex() for (i,) in conn.execute(
                "SELECT id FROM statevcs_objects WHERE repo = %s", (name,)).fetchall()]
        return out + [unpack_verified(oid, d) for oid, d in zip(ids, out)]

    build_history(repo)
    assert any(MARKER.encode() in r for r in rows())
    repo.purge("/users/42", all=True)
    assert not any(MARKER.encode() in r for r in rows())
    repo.close()


# ---------------------------------------------------------------- the command line
def test_cli_purge_flow(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text(json.dumps({"users": {"42": MARKER}, "n": 1}))
    run(d, "commit", "-m", "one")
    run(d, "set", "/n", "2")
    run(d, "commit", "-m", "two")
    r = fails(d, 2, "purge", "/users/42")
    assert "rewrites 2 commit(s)" in r.err and "--yes" in r.err
    fails(d, 3, "purge", "/nope", "--yes")
    fails(d, 2, "purge", "/users/42", "--all", "--branch", "main", "--yes")
    out = run(d, "purge", "/users/42", "--yes", "--json").json()
    assert out["rewritten"] == 2 and len(out["map"]) == 2 and out["working_file"] == "reloaded"
    assert MARKER not in (d / "state.json").read_text()
    assert MARKER.encode() not in (d / ".statevcs" / "statevcs.db").read_bytes()
    assert "two" in run(d, "log").out
    fails(d, 3, "purge", "/users/42", "--yes")  # already gone


def test_cli_purge_refused_during_a_merge(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text(json.dumps({"a": 1, "s": MARKER}))
    run(d, "commit", "-m", "one")
    run(d, "switch", "-c", "side")
    run(d, "set", "/a", "2")
    run(d, "commit", "-m", "side")
    run(d, "switch", "main")
    run(d, "set", "/a", "3")
    run(d, "commit", "-m", "main")
    run(d, "merge", "side", check=False)
    r = fails(d, 3, "purge", "/s", "--yes")
    assert "merge is in progress" in r.err
    with Repository.open(str(d)) as repo, pytest.raises(MergeInProgressError):
        repo.purge("/s")
