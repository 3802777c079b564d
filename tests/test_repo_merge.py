"""Merging in a repository, on every store: fast-forward, merge commits, criss-cross,
path-scoped merges, conflicts and resolutions, revert and cherry-pick."""

from __future__ import annotations

import pytest

from statevcs import (
    BASE,
    BOTH,
    MISSING,
    OURS,
    THEIRS,
    ConflictResolutionError,
    MergeConflictError,
    NotFastForwardError,
)


def fork(repo, base, ours, theirs):
    """main at ours, branch `exp` at theirs, both from base."""
    b = repo.commit(base)
    repo.create_branch("exp")
    t = repo.commit(theirs, branch="exp")
    o = repo.commit(ours, branch="main")
    return b, o, t


def test_fast_forward_and_up_to_date(repo):
    a = repo.commit({"n": 1})
    repo.create_branch("exp")
    c = repo.commit({"n": 2}, branch="exp")
    out = repo.merge("exp")
    assert out.kind == "fast-forward" and repo.head().id == c.id
    assert repo.merge("exp").kind == "up-to-date"
    assert repo.merge(a.id).kind == "up-to-date"


def test_no_ff_and_ff_only(repo):
    repo.commit({"n": 1})
    repo.create_branch("exp")
    c = repo.commit({"n": 2}, branch="exp")
    out = repo.merge("exp", ff="never", message="merge it")
    assert out.kind == "merge" and out.commit.parents[1] == c.id and out.commit.message == "merge it"
    assert repo.get() == {"n": 2}
    repo.commit({"n": 3}, branch="exp")
    repo.commit({"n": 2, "m": 1})
    with pytest.raises(NotFastForwardError):
        repo.merge("exp", ff="only")
    with pytest.raises(ValueError):
        repo.merge("exp", ff="sometimes")


def test_merge_commit_has_both_parents_and_records_the_strategy(repo):
    b, o, t = fork(repo, {"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 3})
    out = repo.merge("exp")
    assert out.kind == "merge" and out.commit.parents == (o.id, t.id)
    assert out.commit.generation == 3
    assert out.commit.metadata["merge"] == {"strategy": "merge", "source": t.id, "bases": [b.id]}
    assert repo.get() == {"a": 2, "b": 3}
    assert repo.merge_base("main", "exp") == t.id


def test_conflicts_leave_the_branch_untouched_and_resolutions_settle_them(repo):
    b, o, t = fork(repo, {"a": 1, "k": {"x": 1}}, {"a": 2, "k": {"x": 1}}, {"a": 3, "k": {}})
    with pytest.raises(MergeConflictError) as info:
        repo.merge("exp")
    assert [(c.path, c.base, c.ours, c.theirs) for c in info.value.conflicts] == [("/a", 1, 2, 3)]
    assert repo.head().id == o.id
    out = repo.merge("exp", resolutions={"/a": 9})
    assert repo.get() == {"a": 9, "k": {}}
    assert [c.path for c in out.settled] == ["/a"]
    assert out.commit.metadata["merge"]["resolved"] == ["/a"]


def test_resolution_to_delete_and_unknown_resolution(repo):
    fork(repo, {"a": 1}, {"a": 2}, {})
    with pytest.raises(ValueError, match="no conflict"):
        repo.merge("exp", resolutions={"/zzz": 1})
    repo.merge("exp", resolutions={"/a": MISSING})
    assert repo.get() == {}


@pytest.mark.parametrize("strategy, expected", [("source_wins", 3), ("target_wins", 2)])
def test_side_strategies(repo, strategy, expected):
    fork(repo, {"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 3, "b": 4})
    out = repo.merge("exp", strategy=strategy)
    assert repo.get() == {"a": expected, "b": 4}
    assert out.commit.metadata["merge"]["strategy"] == strategy


def test_merge_into_another_branch(repo):
    fork(repo, {"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 3})
    repo.create_branch("side", "main")
    out = repo.merge("exp", into="side")
    assert repo.get("side") == {"a": 2, "b": 3} and repo.branches["main"] != out.commit.id


def test_criss_cross_uses_a_virtual_base(repo):
    # Two branches each merge the other's first change: two best common ancestors.
    root = repo.commit({"x": 0, "y": 0, "z": 0})
    repo.create_branch("b")
    a1 = repo.commit({"x": 1, "y": 0, "z": 0})
    b1 = repo.commit({"x": 0, "y": 1, "z": 0}, branch="b")
    repo.create_branch("a_tmp", a1.id)
    ma = repo.merge(b1.id, ff="never").commit  # main: a1 + b1
    mb = repo.merge(a1.id, into="b", ff="never").commit  # b: b1 + a1
    bases = repo.merge_bases(ma.id, mb.id)
    assert sorted(bases) == sorted([a1.id, b1.id])
    assert repo.merge_bases(ma.id, mb.id) == bases  # deterministic order
    repo.commit({"x": 1, "y": 1, "z": 2})  # main changes z
    repo.commit({"x": 5, "y": 1, "z": 0}, branch="b")  # b changes x again
    from statevcs.model.tree import read_tree
    from statevcs.porcelain.merging.merges import base_root

    virtual, found, source = base_root(repo, repo.rev_parse("main"), repo.rev_parse("b"), repo.objects)
    assert sorted(found) == sorted(bases)
    assert read_tree(source, virtual) == {"x": 1, "y": 1, "z": 0}
    # Against either real base alone, x would conflict (1 -> 1 vs 0 -> 5 from b1's view);
    # against the virtual base the changes do not overlap.
    out = repo.merge("b")
    assert out.kind == "merge"
    assert repo.get() == {"x": 5, "y": 1, "z": 2}
    assert root.id not in bases


def test_path_scoped_merge_syncs_only_those_subtrees(repo):
    base = {"agents": {"planner": {"memory": [1]}, "coder": {"memory": [1]}}, "budget": 10}
    theirs = {"agents": {"planner": {"memory": [1, 2]}, "coder": {"memory": [1, 3]}}, "budget": 5}
    ours = {"agents": {"planner": {"memory": [1]}, "coder": {"memory": [1]}}, "budget": 10, "mine": True}
    b, o, t = fork(repo, base, ours, theirs)
    out = repo.merge("exp", paths=["/agents/planner/memory"])
    assert repo.get() == {"agents": {"planner": {"memory": [1, 2]}, "coder": {"memory": [1]}}, "budget": 10,
                          "mine": True}
    assert out.commit.parents == (o.id,)
    assert out.commit.metadata["merge"]["paths"] == ["/agents/planner/memory"]
    # The rest of the source is not merged: a full merge still brings it.
    repo.merge("exp")
    assert repo.get()["budget"] == 5 and repo.get()["agents"]["coder"]["memory"] == [1, 3]


def test_path_scoped_merge_creates_missing_parents(repo):
    fork(repo, {"a": 1}, {"a": 1, "o": 1}, {"a": 1, "new": {"deep": {"v": 1}}})
    repo.merge("exp", paths=["/new/deep"])
    assert repo.get() == {"a": 1, "o": 1, "new": {"deep": {"v": 1}}}


def test_policies_from_the_api_and_repository(repo):
    fork(repo, {"log": [1], "n": 1}, {"log": [1, 2], "n": 2}, {"log": [1, 3], "n": 4})
    with pytest.raises(MergeConflictError):
        repo.merge("exp")
    repo.policies = {"/log": "union"}
    out = repo.merge("exp", policies={"/n": "counter"})
    assert repo.get() == {"log": [1, 2, 3], "n": 5} and out.kind == "merge"


def test_revert_and_cherry_pick(repo):
    repo.commit({"a": 1, "b": 1, "c": 1})
    bad = repo.commit({"a": 2, "b": 1, "c": 1}, message="bad change")
    repo.commit({"a": 2, "b": 2, "c": 1})
    r = repo.revert(bad.id)
    assert repo.get() == {"a": 1, "b": 2, "c": 1}
    assert r.message.startswith('Revert "bad change"') and r.metadata == {"reverts": bad.id}
    repo.create_branch("exp", bad.id)
    picked = repo.commit({"a": 2, "b": 1, "c": 7}, branch="exp", author="other", message="set c")
    c = repo.cherry_pick(picked.id)
    assert repo.get() == {"a": 1, "b": 2, "c": 7}
    assert c.author == "other" and c.message == "set c" and c.parents == (r.id,)
    repo.commit({"a": 1, "b": 2, "c": 8})
    with pytest.raises(MergeConflictError):
        repo.revert(c.id)  # c changed again since
    assert repo.get()["c"] == 8


def test_merge_of_unrelated_histories(repo):
    repo.commit({"a": 1})
    repo.commit({"b": 2}, branch="other", parent=None)
    repo.merge("other")
    assert repo.get() == {"a": 1, "b": 2}


def test_merge_into_unborn_branch_fast_forwards(repo):
    c = repo.commit({"a": 1}, branch="src")
    assert repo.merge("src").kind == "fast-forward" and repo.head().id == c.id


def test_merge_with_large_states_stays_correct(repo, fixture_state):
    import copy

    team = fixture_state("team_1000.json")
    base = repo.commit(team)
    repo.create_branch("exp")
    theirs = copy.deepcopy(team)
    theirs["agents"]["agent-0001"]["status"] = "theirs"
    theirs["agents"]["agent-0999"]["memory"].append({"t": 99, "text": "new"})
    repo.commit(theirs, branch="exp")
    ours = copy.deepcopy(team)
    ours["agents"]["agent-0500"]["step"] = -5
    ours["agents"]["agent-0999"]["memory"].insert(0, {"t": -1, "text": "first"})
    repo.commit(ours)
    repo.merge("exp")
    merged = repo.get()
    assert merged["agents"]["agent-0001"]["status"] == "theirs"
    assert merged["agents"]["agent-0500"]["step"] == -5
    mem = merged["agents"]["agent-0999"]["memory"]
    assert mem[0] == {"t": -1, "text": "first"} and mem[-1] == {"t": 99, "text": "new"}
    assert repo.fsck().ok and base.id in {c.id for c in repo.log()}


# ---------------------------------------------------------------- side resolutions (issue 12)

CHAT_BASE = {"m": ["sys", "u1"], "n": 1}
CHAT_OURS = {"m": ["sys", "u1", "a-ours"], "n": 2}
CHAT_THEIRS = {"m": ["SYS2", "u1", "a-theirs"], "n": 3}


@pytest.mark.parametrize("side, m, n", [
    (OURS, ["SYS2", "u1", "a-ours"], 2),
    (THEIRS, ["SYS2", "u1", "a-theirs"], 3),
    (BASE, ["SYS2", "u1"], 1),
])
def test_side_resolutions_keep_every_clean_change(repo, side, m, n):
    fork(repo, CHAT_BASE, CHAT_OURS, CHAT_THEIRS)
    out = repo.merge("exp", resolutions={"/m": side, "/n": side})
    assert repo.get() == {"m": m, "n": n}
    assert sorted(c.path for c in out.settled) == ["/m", "/n"]


def test_ours_resolution_equals_target_wins_and_theirs_source_wins(repo):
    fork(repo, CHAT_BASE, CHAT_OURS, CHAT_THEIRS)
    repo.create_branch("tw", "main")
    repo.create_branch("sw", "main")
    repo.merge("exp", into="tw", strategy="target_wins")
    repo.merge("exp", into="sw", strategy="source_wins")
    repo.merge("exp", resolutions={"/m": OURS, "/n": OURS})
    assert repo.get() == repo.get("tw")
    repo.create_branch("th", "main~1")
    repo.merge("exp", into="th", resolutions={"/m": THEIRS, "/n": THEIRS})
    assert repo.get("th") == repo.get("sw")


def test_both_resolution_keeps_each_sides_items(repo):
    fork(repo, CHAT_BASE, CHAT_OURS, CHAT_THEIRS)
    repo.merge("exp", resolutions={"/m": BOTH, "/n": 7})
    assert repo.get() == {"m": ["SYS2", "u1", "a-ours", "a-theirs"], "n": 7}


def test_both_on_a_conflict_that_is_not_an_array_is_refused(repo):
    _, o, _ = fork(repo, CHAT_BASE, CHAT_OURS, CHAT_THEIRS)
    with pytest.raises(ConflictResolutionError, match="modify/modify conflict at /n"):
        repo.merge("exp", resolutions={"/m": BOTH, "/n": BOTH})
    assert repo.head().id == o.id


def test_side_resolution_re_merges_with_the_repositorys_policies(repo):
    """Inside an array conflict, an element both sides changed is merged again with the
    same policies (here a counter), not replaced by one side."""
    base = {"m": [{"id": 1, "calls": 1}, "x"]}
    ours = {"m": [{"id": 1, "calls": 3}, "x", "o"]}
    theirs = {"m": [{"id": 1, "calls": 4}, "x", "t"]}
    fork(repo, base, ours, theirs)
    repo.policies = {"/m/*/calls": "counter"}
    repo.merge("exp", resolutions={"/m": THEIRS})
    assert repo.get() == {"m": [{"id": 1, "calls": 6}, "x", "t"]}


def test_union_policy_edit_is_a_removal_plus_an_add(repo):
    fork(repo, {"log": ["sys", "u1"]}, {"log": ["sys", "u1", "a1"]}, {"log": ["sys", "U1"]})
    repo.merge("exp", policies={"/log": "union"})
    assert repo.get() == {"log": ["sys", "U1", "a1"]}
