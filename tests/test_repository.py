"""The Repository API, run against every store."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from statevcs import (
    AmbiguousRevisionError,
    CorruptObjectError,
    InvalidRefNameError,
    InvalidStateError,
    NothingToCommitError,
    RefConflictError,
    RefExistsError,
    Repository,
    RevisionNotFoundError,
)
from statevcs.model.canonical import strict_equal
from statevcs.store.base import ANY

from .conftest import STORES, make_store
from .strategies import big_values


def test_quickstart_flow(repo):
    c1 = repo.commit({"agent": {"status": "idle"}}, message="first", author="agent-7")
    assert c1.author == "agent-7" and c1.parents == () and c1.generation == 1
    repo.create_branch("experiment", "main")
    c2 = repo.commit({"agent": {"status": "running"}}, message="try", branch="experiment")
    assert c2.parents == (c1.id,) and c2.generation == 2
    assert repo.get("experiment") == {"agent": {"status": "running"}}
    assert repo.get("main", "/agent/status") == "idle"
    assert repo.diff("main", "experiment").patch == [{"op": "replace", "path": "/agent/status", "value": "running"}]
    repo.create_tag("v1", c1.id, message="known good")
    assert [c.id for c in repo.log("experiment", path="/agent/status")] == [c2.id, c1.id]
    c3 = repo.restore("v1", branch="experiment")
    assert repo.get("experiment") == {"agent": {"status": "idle"}}
    assert c3.root == c1.root and c3.parents == (c2.id,)
    assert repo.branches == {"experiment": c3.id, "main": c1.id}
    assert repo.tags == {"v1": c1.id}
    assert repo.tag_object("v1").message == "known good"


@pytest.mark.parametrize("kind", STORES)
def test_commit_get_roundtrip_is_exact(kind, tmp_path_factory):
    repo = Repository(make_store(kind, tmp_path_factory.mktemp("rt")), None, author="t")

    @settings(max_examples=40)
    @given(big_values)
    def check(value):
        c = repo.commit(value, branch="main", allow_empty=True)
        assert strict_equal(repo.get(c.id), value)

    check()
    repo.close()


def test_true_and_one_commit_differently(repo):
    a = repo.commit({"flag": 1}, branch="main")
    b = repo.commit({"flag": True}, branch="main")
    assert a.root != b.root
    assert repo.get(b.id, "/flag") is True and type(repo.get(a.id, "/flag")) is int


def test_get_returns_fresh_objects(repo):
    c = repo.commit({"a": {"b": [1, 2]}}, branch="main")
    first = repo.get(c.id)
    first["a"]["b"].append(3)
    part = repo.get(c.id, "/a")
    part["b"].clear()
    assert repo.get(c.id) == {"a": {"b": [1, 2]}}


def test_bad_state_is_refused_before_anything_is_written(repo):
    with pytest.raises(InvalidStateError) as info:
        repo.commit({"ok": 1, "bad": {"x": float("nan")}}, branch="main")
    assert info.value.pointer == "/bad/x"
    assert repo.branches == {}


def test_nothing_to_commit(repo):
    repo.commit({"a": 1}, branch="main")
    with pytest.raises(NothingToCommitError):
        repo.commit({"a": 1}, branch="main")
    assert repo.commit({"a": 1}, branch="main", allow_empty=True).generation == 2


def test_stale_parent_is_a_ref_conflict(repo):
    c1 = repo.commit({"n": 1}, branch="main")
    repo.commit({"n": 2}, branch="main")
    with pytest.raises(RefConflictError):
        repo.commit({"n": 3}, branch="main", parent=c1.id)
    assert repo.get("main") == {"n": 2}
    with pytest.raises(RefConflictError):
        repo.commit({"n": 4}, branch="fresh", parent=c1.id)  # branch does not exist yet
    repo.commit({"n": 4}, branch="fresh", parent=None)


def test_revisions(repo):
    c1 = repo.commit({"n": 1}, branch="main")
    c2 = repo.commit({"n": 2}, branch="main")
    c3 = repo.commit({"n": 3}, branch="main")
    repo.create_tag("light", c2.id)
    repo.create_tag("heavy", c1.id, message="annotated")
    assert repo.rev_parse("HEAD") == c3.id
    assert repo.rev_parse("@") == c3.id
    assert repo.rev_parse("main~1") == c2.id
    assert repo.rev_parse("main~2") == c1.id == repo.rev_parse("HEAD^^") == repo.rev_parse("HEAD~1^1")
    assert repo.rev_parse("main^0") == c3.id
    assert repo.rev_parse("light") == c2.id and repo.rev_parse("heavy") == c1.id
    assert repo.rev_parse("refs/tags/heavy") == c1.id
    assert repo.rev_parse(c2.id[:6]) == c2.id and repo.rev_parse(c2.id.upper()) == c2.id
    assert repo.rev_parse(c2.id) == c2.id
    for bad in ("nope", "main~3", "main^2", "HEAD~x", c2.id[:3], "", "main~1~~~"):
        with pytest.raises(RevisionNotFoundError) as info:
            repo.rev_parse(bad)
        if bad:
            assert repr(bad) in str(info.value) or bad[:3] in str(info.value)


def test_ambiguous_short_id(repo):
    # Commit until two commit ids share 4 hex digits (birthday bound: a few hundred commits).
    by_prefix: dict[str, str] = {}
    shared = None
    for i in range(5000):
        c = repo.commit({"n": i}, branch="main")
        if c.id[:4] in by_prefix:
            shared = c.id[:4]
            break
        by_prefix[c.id[:4]] = c.id
    assert shared is not None
    with pytest.raises(AmbiguousRevisionError) as info:
        repo.rev_parse(shared)
    assert shared in str(info.value)


def test_unborn_head(repo):
    with pytest.raises(RevisionNotFoundError, match="no commits yet"):
        repo.rev_parse("HEAD")
    assert repo.head() is None and repo.current_branch == "main"


def test_branches(repo):
    c1 = repo.commit({"n": 1})
    repo.create_branch("exp")
    with pytest.raises(RefExistsError):
        repo.create_branch("exp")
    for bad in ("a..b", "-x", "x.lock", "a b", "x/", ".hidden", "HEAD", "a~1", "a^", "a:b", "a\\b", "x@{1}", ""):
        with pytest.raises(InvalidRefNameError):
            repo.create_branch(bad)
    repo.create_branch("team/alice", c1.id)
    assert set(repo.branches) == {"main", "exp", "team/alice"}
    c2 = repo.commit({"n": 2}, branch="exp")
    with pytest.raises(RefConflictError, match="not merged"):
        repo.delete_branch("exp")
    assert repo.delete_branch("exp", force=True) == c2.id
    with pytest.raises(InvalidRefNameError, match="current branch"):
        repo.delete_branch("main")
    repo.delete_branch("team/alice")
    assert set(repo.branches) == {"main"}


def test_head_follows_branch_and_detaches(repo):
    c1 = repo.commit({"n": 1})
    repo.create_branch("exp")
    repo.set_head("exp")
    c2 = repo.commit({"n": 2})
    assert repo.branches["exp"] == c2.id and repo.branches["main"] == c1.id
    repo.set_head(c1.id, detach=True)
    assert repo.current_branch is None and repo.head().id == c1.id
    c3 = repo.commit({"n": 3})
    assert repo.head().id == c3.id and repo.branches["main"] == c1.id


def test_log_path_and_order(repo):
    a = repo.commit({"x": 1, "y": 1})
    b = repo.commit({"x": 1, "y": 2})
    c = repo.commit({"x": 2, "y": 2})
    d = repo.commit({"y": 2})
    assert [k.id for k in repo.log()] == [d.id, c.id, b.id, a.id]
    assert [k.id for k in repo.log(path="/x")] == [d.id, c.id, a.id]
    assert [k.id for k in repo.log(path="/y")] == [b.id, a.id]
    assert [k.id for k in repo.log(limit=2)] == [d.id, c.id]
    assert list(repo.log(path="/nope")) == []


def test_reset_and_reflog(repo):
    a = repo.commit({"n": 1})
    b = repo.commit({"n": 2})
    repo.reset(a.id)
    assert repo.head().id == a.id
    log = repo.reflog("main")
    assert (log[0].old, log[0].new) == (b.id, a.id) and "reset" in log[0].why
    head_log = repo.reflog("HEAD")
    assert head_log[0].new == a.id
    with pytest.raises(RevisionNotFoundError):
        repo.reflog("nope")


def test_tags(repo):
    c = repo.commit({"n": 1})
    repo.create_tag("v1", message="first release", tagger="ci")
    repo.create_tag("v1-light")
    with pytest.raises(RefExistsError):
        repo.create_tag("v1")
    assert repo.tags == {"v1": c.id, "v1-light": c.id}
    assert repo.tag_object("v1").tagger == "ci" and repo.tag_object("v1-light") is None
    repo.delete_tag("v1")
    with pytest.raises(RevisionNotFoundError):
        repo.delete_tag("v1")


def test_diff_path_scoped(repo):
    a = repo.commit({"a": {"x": 1}, "b": 1})
    b = repo.commit({"a": {"x": 2}, "b": 2})
    assert repo.diff(a.id, b.id, path="/a").patch == [{"op": "replace", "path": "/a/x", "value": 2}]
    c = repo.commit({"b": 2})
    assert repo.diff(b.id, c.id, path="/a").patch == [{"op": "remove", "path": "/a"}]
    assert repo.diff(a.id, a.id).patch == []


def test_gc_removes_only_unreachable(repo):
    kept = repo.commit({"keep": "x" * 2000})
    before = set(repo.store.iter_ids())
    repo.create_branch("tmp")
    dropped = repo.commit({"drop": ["y" * 2000]}, branch="tmp")
    repo.reset(dropped.id)  # main's reflog now reaches `dropped`
    repo.reset(kept.id)
    repo.delete_branch("tmp", force=True)
    assert repo.gc(prune="now").removed == 0  # still reachable through main's reflog, as git keeps it
    assert repo.get(dropped.id) == {"drop": ["y" * 2000]}
    from statevcs.testing import make_object

    oid, raw = make_object(1)
    repo.store.put(oid, raw)
    assert repo.gc(prune="now").removed == 1
    assert not repo.store.has(oid) and before <= set(repo.store.iter_ids())
    assert repo.fsck().ok


def test_gc_drops_a_deleted_branchs_commits(repo):
    kept = repo.commit({"keep": "x" * 2000})
    repo.create_branch("tmp")
    dropped = repo.commit({"drop": ["y" * 2000]}, branch="tmp")
    repo.delete_branch("tmp", force=True)
    report = repo.gc(prune="now")
    assert report.removed == 3  # the commit, its root node and the array node
    assert not repo.store.has(dropped.id) and repo.get(kept.id) == {"keep": "x" * 2000}
    assert repo.fsck().ok


def test_fsck_finds_corruption_and_get_refuses_it(repo):
    c = repo.commit({"big": ["z" * 100] * 20, "n": 1})
    assert repo.fsck().ok
    node = [o for o in repo.store.iter_ids() if o != c.id][0]
    repo.store._corrupt(node)
    repo.objects.forget()
    report = repo.fsck()
    assert not report.ok and any(node in p for p in report.problems)
    with pytest.raises(CorruptObjectError):
        repo.get(c.id)


def test_fsck_finds_missing_objects(repo):
    c = repo.commit({"n": ["x" * 1000]})
    repo.store.delete_objects([c.root])
    repo.objects.forget()
    report = repo.fsck()
    assert any("missing object" in p and c.root in p for p in report.problems)


def test_growth_per_commit_follows_the_change(repo, fixture_state):
    state = fixture_state("team_1000.json")
    repo.commit(state)
    before = set(repo.store.iter_ids())
    state["agents"]["agent-0500"]["status"] = "paused"
    repo.commit(state)
    added = set(repo.store.iter_ids()) - before
    # the commit, the changed agent, the agents map's leaf chunk and its spine (format 2), the root
    assert len(added) <= 8
    size = sum(len(repo.store.get(o)) for o in added)
    assert size < 100_000


def test_cas_ref_update_under_threads(repo):
    import threading

    repo.commit({"n": 0})
    errors: list[Exception] = []
    done: list[str] = []

    def worker(k: int) -> None:
        for i in range(15):
            while True:
                head = repo.head()
                try:
                    c = repo.commit({"n": i, "k": k}, parent=head.id, allow_empty=True)
                    done.append(c.id)
                    break
                except RefConflictError:
                    continue
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    history = [c.id for c in repo.log()]
    assert set(done) <= set(history) and len(history) == 46


def test_update_ref_any_is_allowed(repo):
    c = repo.commit({"n": 1})
    repo.store.update_ref("refs/heads/x", c.id, ANY)
    assert repo.branches["x"] == c.id
