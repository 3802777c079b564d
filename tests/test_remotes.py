"""fetch, push, pull and clone between any two stores; transfer follows what is missing;
an interrupted push leaves the remote consistent; named PostgreSQL repositories are isolated."""

from __future__ import annotations

import copy

import pytest

from statevcs import (
    NotFastForwardError,
    RefConflictError,
    RemoteNotFoundError,
    Repository,
)
from statevcs.porcelain.transfer.sending import send

from .conftest import postgres_url, require_postgres, track_postgres


def location(kind: str, tmp_path, name: str) -> str:
    if kind == "sqlite":
        return str(tmp_path / name)
    require_postgres()
    return track_postgres(postgres_url())


PAIRS = [("sqlite", "sqlite"), ("sqlite", "postgres"), ("postgres", "sqlite"), ("postgres", "postgres")]


@pytest.mark.parametrize("src_kind, dst_kind", PAIRS)
def test_clone_push_fetch_pull_between_stores(src_kind, dst_kind, tmp_path):
    src_loc = location(src_kind, tmp_path, "src")
    src = Repository.init(src_loc)
    for i in range(5):
        src.commit({"n": i, "blob": ["x" * 700, i]}, message=f"c{i}")
    src.create_branch("exp")
    src.commit({"n": 99, "blob": ["x" * 700]}, branch="exp", message="exp")
    src.create_tag("v1", "main~2", message="good")
    dst_loc = location(dst_kind, tmp_path, "dst")
    dst = Repository.clone(src_loc, dst_loc)
    assert dst.get("main") == src.get("main")
    assert dst.tags == src.tags and dst.tag_object("v1").message == "good"
    assert set(dst.branches) >= {"main"}
    assert dst.fsck().ok
    # push a new commit back
    if dst.remotes:
        remote = "origin"
        dst.commit({"n": 5, "blob": ["x" * 700, 5]}, message="from clone")
        report = dst.push(remote, "main")
        assert report.commits == 1 and report.objects <= 3
        assert src.get("main") == {"n": 5, "blob": ["x" * 700, 5]}
        assert dst.store.read_ref("refs/remotes/origin/main") == src.rev_parse("main")
        # pull a change made at the source
        src.commit({"n": 6, "blob": ["x" * 700, 5]}, message="at source")
        out = dst.pull(remote, "main")
        assert out.kind == "fast-forward" and dst.get() == src.get("main")
        assert dst.rev_parse("origin/main") == src.rev_parse("main")
    else:  # a URL clone keeps no remote names: push by URL
        dst.commit({"n": 5, "blob": ["x" * 700, 5]}, branch="main", message="from clone")
        dst.push(src_loc, "main")
        assert src.get("main") == {"n": 5, "blob": ["x" * 700, 5]}
    assert src.fsck().ok and dst.fsck().ok
    src.close()
    dst.close()


def test_push_refuses_non_fast_forward_unless_forced(tmp_path):
    src = Repository.init(str(tmp_path / "src"))
    src.commit({"n": 1})
    dst = Repository.clone(str(tmp_path / "src"), str(tmp_path / "dst"))
    src.commit({"n": 2}, message="remote only")
    dst.commit({"n": 3}, message="local only")
    with pytest.raises(NotFastForwardError, match="fetch and merge first"):
        dst.push("origin", "main")
    assert src.get() == {"n": 2}
    dst.push("origin", "main", force=True)
    assert src.get() == {"n": 3}
    with pytest.raises(RemoteNotFoundError):
        dst.push("nowhere", "main")


def test_push_loses_race_by_compare_and_swap(tmp_path, monkeypatch):
    src = Repository.init(str(tmp_path / "src"))
    src.commit({"n": 1})
    dst = Repository.clone(str(tmp_path / "src"), str(tmp_path / "dst"))
    dst.commit({"n": 2})
    import statevcs.porcelain.transfer.remotes as remotes

    real_send = remotes.send

    def racing_send(*args, **kwargs):
        report = real_send(*args, **kwargs)
        other = Repository.open(str(tmp_path / "src"))
        other.commit({"n": 100}, message="someone else pushed meanwhile")
        other.close()
        return report

    monkeypatch.setattr(remotes, "send", racing_send)
    with pytest.raises(RefConflictError, match="moved during the push"):
        dst.push("origin", "main")
    assert src.get() == {"n": 100}


def test_transfer_cost_follows_what_is_missing(tmp_path, fixture_state):
    team = fixture_state("team_1000.json")
    src = Repository.init(str(tmp_path / "src"))
    for i in range(30):
        team["agents"][f"agent-{i * 7:04d}"]["step"] += 1
        src.commit(team, message=f"step {i}")
    dst = Repository.clone(str(tmp_path / "src"), str(tmp_path / "dst"))
    team["agents"]["agent-0500"]["status"] = "paused"
    dst.commit(team, message="one more")
    report = dst.push("origin", "main")
    # The commit, the root, the agents map's changed leaf chunk and its spine (format 2)
    # and the changed agent: nothing else travels.
    assert report.commits == 1 and report.objects <= 8 and report.bytes < 100_000


def test_interrupted_push_leaves_the_remote_consistent(tmp_path):
    src = Repository.init(str(tmp_path / "src"))
    src.commit({"start": True})
    dst = Repository.clone(str(tmp_path / "src"), str(tmp_path / "dst"))
    state = {"items": []}
    for i in range(60):
        state["items"].append({"i": i, "text": "y" * 600})
        dst.commit(copy.deepcopy(state), message=f"c{i}")
    import statevcs.porcelain.transfer.sending as transfer

    calls = []

    def die_half_way(done, total):
        calls.append(done)
        if done and done >= total // 2:
            raise KeyboardInterrupt("connection lost")

    old = transfer.BATCH_OBJECTS
    transfer.BATCH_OBJECTS = 20
    try:
        with pytest.raises(KeyboardInterrupt):
            dst.push("origin", "main", progress=die_half_way)
    finally:
        transfer.BATCH_OBJECTS = old
    remote = Repository.open(str(tmp_path / "src"))
    assert remote.get() == {"start": True}  # the ref did not move
    assert remote.fsck().ok
    partial = len(list(remote.store.iter_ids()))
    assert partial > 2  # some batches landed
    report = dst.push("origin", "main")
    assert remote.get() == state and remote.fsck().ok
    assert report.objects < 60 * 3  # only what the first attempt did not send


def test_fetch_updates_tracking_refs_and_tags(tmp_path):
    src = Repository.init(str(tmp_path / "src"))
    src.commit({"n": 1})
    dst = Repository.clone(str(tmp_path / "src"), str(tmp_path / "dst"))
    src.create_branch("new")
    c = src.commit({"n": 2}, branch="new")
    src.create_tag("t1", c.id)
    report = dst.fetch("origin")
    assert report.updated["refs/remotes/origin/new"] == (None, c.id)
    assert dst.rev_parse("origin/new") == c.id and dst.tags["t1"] == c.id
    assert dst.fetch("origin").transfer.objects == 0


def test_remote_configuration(tmp_path):
    repo = Repository.init(str(tmp_path / "r"))
    repo.add_remote("a", str(tmp_path / "x"))
    with pytest.raises(Exception, match="already exists"):
        repo.add_remote("a", "elsewhere")
    with pytest.raises(Exception, match="invalid remote name"):
        repo.add_remote("a/b", "x")
    assert repo.remotes == {"a": str(tmp_path / "x")}
    repo.remove_remote("a")
    assert repo.remotes == {}
    with pytest.raises(RemoteNotFoundError):
        repo.remove_remote("a")


def test_named_postgres_repositories_are_isolated():
    require_postgres()
    a = Repository.init(track_postgres(postgres_url()))
    b = Repository.init(track_postgres(postgres_url()))
    ca = a.commit({"who": "a"})
    b.commit({"who": "b"})
    same = b.commit({"who": "a"}, allow_empty=True)  # the same state in b: stored in b too
    assert a.get() == {"who": "a"} and b.get() == {"who": "a"}
    assert ca.id not in set(b.store.iter_ids())
    assert set(a.store.iter_ids()).isdisjoint({same.id})
    a.create_branch("only-in-a")
    assert "only-in-a" not in b.branches
    assert len(a.reflog("main")) == 1 and len(b.reflog("main")) == 2
    b.store.destroy()
    assert a.get() == {"who": "a"}
    a.close()


def test_send_is_idempotent(tmp_path):
    src = Repository.init(str(tmp_path / "src"))
    c = src.commit({"k": ["z" * 900]})
    dst = Repository.init(str(tmp_path / "dst"))
    assert send(src, dst.store, [c.id]).objects == 3
    assert send(src, dst.store, [c.id]).objects == 0
