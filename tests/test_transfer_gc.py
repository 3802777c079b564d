"""No acknowledged transfer lost to gc, even at ``--prune=now`` (issue 17.3, docs/gc.md).

A transfer writes its objects in batches and moves its refs last. These tests run
``gc(prune="now")`` on the receiving repository exactly in between (the transfer's ``send``
is wrapped), so the sweep deletes what was just sent, or an old unreachable object the
transfer skipped because the receiver held it. The ref move re-plans inside its transaction
when a sweep deleted anything since the transfer planned (the store's gc epoch), puts back
what is missing, and the receiver ends whole: every acknowledged commit reads back and fsck
is clean. ``gc_removed`` proves the sweep did delete, so each test can fail.
"""

from __future__ import annotations

import pytest

from statevcs import Repository
from statevcs.porcelain.transfer import remotes, sending

from .conftest import postgres_url, require_postgres, track_postgres

STORES = ["sqlite", "postgres"]


def _location(kind: str, tmp_path, name: str) -> str:
    if kind == "sqlite":
        return str(tmp_path / name)
    require_postgres()
    return track_postgres(postgres_url())


def _state(n: int, tag: str = "") -> dict:
    return {"n": n, "rows": [{"k": j, "v": f"{tag}{n}-{j}" * 4} for j in range(80)]}


@pytest.fixture
def gc_between(monkeypatch):
    """``arm(location)``: the next transfer's send is followed by gc --prune=now on ``location``;
    returns a list that receives how many objects each such gc removed."""
    removed: list[int] = []

    def arm(location: str) -> list[int]:
        real = remotes.send

        def send_then_gc(*args, **kwargs):
            report = real(*args, **kwargs)
            with Repository.open(location) as receiver:  # another connection, as another process would be
                removed.append(receiver.gc(prune="now").removed)
            return report

        monkeypatch.setattr(remotes, "send", send_then_gc)
        return removed

    return arm


def _receiver_holding_an_unreachable_c1(kind: str, tmp_path) -> tuple[str, Repository]:
    """(receiver location, sender): the sender pushed c1 on c0, then the receiver reset its
    branch to c0 and expired its reflog, so c1 is stored there but reachable from nothing."""
    recv = _location(kind, tmp_path, "recv")
    with Repository.init(recv) as r:
        r.commit(_state(0), "c0")
    sender = Repository.clone(recv, str(tmp_path / "snd"))
    sender.commit(_state(1, "shared"), "c1")
    sender.push("origin", "main")
    with Repository.open(recv) as r:
        r.reset("HEAD~1")
        r.gc(prune="never", expire_unreachable="now")
        assert r.store.has(sender.rev_parse("main"))
    return recv, sender


def _whole(location: str, *commits: str) -> None:
    with Repository.open(location) as repo:  # a fresh reader: nothing cached
        for oid in commits:
            assert isinstance(repo.get(oid), dict)
            assert len(list(repo.log(oid))) >= 1
        report = repo.fsck()
        assert report.ok, report.problems[:3]


@pytest.mark.parametrize("kind", STORES)
def test_push_objects_swept_before_the_ref_move_are_put_back(kind, tmp_path, gc_between):
    recv = _location(kind, tmp_path, "recv")
    with Repository.init(recv) as r:
        r.commit(_state(0), "c0")
    sender = Repository.clone(recv, str(tmp_path / "snd"))
    c1 = sender.commit(_state(1), "c1")
    removed = gc_between(recv)
    sender.push("origin", "main")
    assert removed[0] > 0  # the sweep deleted what the push had just sent
    with Repository.open(recv) as r:
        assert r.branches["main"] == c1.id
    _whole(recv, c1.id)
    sender.close()


@pytest.mark.parametrize("kind", STORES)
def test_push_objects_skipped_as_present_and_then_swept_are_sent(kind, tmp_path, gc_between):
    """The receiver held c1 unreachable (pushed, then its branch reset and the reflog expired):
    the push of c2 skips c1 and its nodes, and the sweep deletes them before the ref moves."""
    recv, sender = _receiver_holding_an_unreachable_c1(kind, tmp_path)
    c2 = sender.commit({**_state(1, "shared"), "x": 1}, "c2")
    removed = gc_between(recv)
    sender.push("origin", "main", force=True)
    assert removed[0] > 0
    _whole(recv, c2.id, c2.parents[0])
    sender.close()


@pytest.mark.parametrize("source", ["repository", "bundle"])
@pytest.mark.parametrize("kind", STORES)
def test_fetched_objects_swept_before_the_refs_move_are_put_back(kind, source, tmp_path, gc_between):
    """Fetch from a repository and from a bundle file: into a directory repository (its
    remote-tracking ref moves) and into a PostgreSQL one (fetched by location: new tags move)."""
    origin = Repository.init(str(tmp_path / "origin"))
    origin.commit(_state(0), "c0")
    local_at = _location(kind, tmp_path, "local")
    local = Repository.clone(str(tmp_path / "origin"), local_at)
    c1 = origin.commit(_state(1), "c1")
    origin.create_tag("v1", message="the fetched tag")
    location = str(tmp_path / "origin")
    if source == "bundle":
        location = str(tmp_path / "b.svb")
        origin.bundle_create(location)
    remote = location
    if kind == "sqlite":
        local.add_remote("src", location)
        remote = "src"
    removed = gc_between(local_at)
    report = local.fetch(remote)
    assert removed[0] > 0  # the sweep deleted what the fetch had just written
    assert "refs/tags/v1" in report.updated
    if kind == "sqlite":
        assert report.updated["refs/remotes/src/main"][1] == c1.id
    local.close()
    _whole(local_at, c1.id)
    with Repository.open(local_at) as r:
        assert r.tag_object("v1").message == "the fetched tag"
    origin.close()


def test_clone_into_a_store_url_swept_before_its_branch_is_set(tmp_path, gc_between):
    require_postgres()
    origin = Repository.init(str(tmp_path / "origin"))
    c1 = origin.commit(_state(1), "c1")
    target = track_postgres(postgres_url())
    removed = gc_between(target)
    Repository.clone(str(tmp_path / "origin"), target).close()
    assert removed[0] > 0  # nothing was reachable yet: the sweep took everything fetched
    _whole(target, c1.id)
    origin.close()


def test_the_recheck_costs_one_read_when_no_sweep_deleted(tmp_path, monkeypatch):
    """Without a sweep in between, the ref move does not plan again."""
    recv = str(tmp_path / "recv")
    Repository.init(recv).close()
    sender = Repository.init(str(tmp_path / "snd"))
    sender.add_remote("origin", recv)
    sender.commit(_state(1), "c1")
    calls: list[int] = []
    real = sending.plan
    monkeypatch.setattr(sending, "plan", lambda *a: calls.append(1) or real(*a))
    sender.push("origin", "main")
    assert calls == [1]  # planned once, by the push itself
    sender.close()


@pytest.mark.parametrize("kind", STORES)
def test_a_batch_planned_before_a_sweep_is_not_written_on_top_of_what_it_took(kind, tmp_path, monkeypatch):
    """gc runs between the plan and the first batch: the plan found c1 present (unreachable)
    and skipped it, the sweep deletes it. Writing c2's batch then would store a commit whose
    parent is gone, and the ref move's re-plan (which trusts a present commit to be whole)
    would stop at it. The batch sees the sweep in its transaction and leaves everything to
    the ref move's re-plan instead."""
    recv, sender = _receiver_holding_an_unreachable_c1(kind, tmp_path)
    c2 = sender.commit({**_state(1, "shared"), "x": 1}, "c2")
    removed: list[int] = []
    real = sending.plan

    def plan_then_gc(*args, **kwargs):
        order = real(*args, **kwargs)
        if not removed:  # once: after the push's own plan, before its first batch
            with Repository.open(recv) as receiver:
                removed.append(receiver.gc(prune="now").removed)
        return order

    monkeypatch.setattr(sending, "plan", plan_then_gc)
    sender.push("origin", "main", force=True)
    assert removed[0] > 0
    _whole(recv, c2.id, c2.parents[0])
    sender.close()
