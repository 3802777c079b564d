"""Merging from the command line: every strategy, the conflict resolution flow, revert,
cherry-pick and merge-base, through real subprocesses."""

from __future__ import annotations

import json

import pytest

from .cli_helpers import fails, run


@pytest.fixture
def forked(tmp_path):
    """main and exp diverged from {"a": 1, "b": 1, "log": [1]}."""
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"a": 1, "b": 1, "log": [1]}')
    run(d, "commit", "-m", "base")
    run(d, "switch", "-c", "exp")
    run(d, "set", "/a", "2")
    run(d, "set", "/log/-", "2")
    run(d, "commit", "-m", "exp work")
    run(d, "switch", "main")
    run(d, "set", "/a", "3")
    run(d, "set", "/b", "5")
    run(d, "set", "/log/-", "3")
    run(d, "commit", "-m", "main work")
    return d


def state(d):
    return json.loads((d / "state.json").read_text())


def head(d):
    return run(d, "log", "-n", "1", "--json").json()["commits"][0]


@pytest.mark.parametrize("strategy, a, log", [("source_wins", 2, [1, 2]), ("target_wins", 3, [1, 3])])
def test_side_strategies(forked, strategy, a, log):
    out = run(forked, "merge", "exp", "--strategy", strategy).out
    assert "Merge exp into main" in out
    assert state(forked) == {"a": a, "b": 5, "log": log}
    commit = head(forked)
    assert len(commit["parents"]) == 2 and commit["metadata"]["merge"]["strategy"] == strategy


def test_conflict_flow_resolve_and_continue(forked):
    before = head(forked)["id"]
    r = run(forked, "merge", "exp", check=False)
    assert r.code == 1
    assert "CONFLICT (modify/modify) /a: base 1, ours 3, theirs 2" in r.out
    assert "CONFLICT (array) /log" in r.out
    doc = state(forked)
    assert doc["a"] == {"$conflict": {"kind": "modify/modify", "base": 1, "ours": 3, "theirs": 2}}
    assert doc["b"] == 5
    assert head(forked)["id"] == before  # nothing committed yet
    st = run(forked, "status", "--json").json()
    assert st["merge"]["unresolved"] == ["/a", "/log"]
    assert "Unresolved conflicts (2)" in run(forked, "status").out
    listed = run(forked, "conflicts", "--json").json()["conflicts"]
    assert [(c["path"], c["kind"], c["resolved"]) for c in listed] == [("/a", "modify/modify", False),
                                                                       ("/log", "array", False)]
    assert listed[1]["ours"] == [1, 3] and listed[1]["theirs"] == [1, 2]
    fails(forked, 3, "commit", "-m", "sneak")
    fails(forked, 3, "switch", "exp")
    fails(forked, 3, "merge", "exp")
    fails(forked, 3, "merge", "--continue")  # unresolved
    run(forked, "resolve", "/a", "--theirs")
    fails(forked, 3, "resolve", "/nope", "--ours")
    fails(forked, 2, "resolve", "/log")
    run(forked, "resolve", "/log", "--value", "[1, 3, 2]")
    assert all(c["resolved"] for c in run(forked, "conflicts", "--json").json()["conflicts"])
    run(forked, "merge", "--continue")
    assert state(forked) == {"a": 2, "b": 5, "log": [1, 3, 2]}
    commit = head(forked)
    assert commit["parents"][0] == before and len(commit["parents"]) == 2
    assert commit["metadata"]["merge"]["resolved"] == ["/a", "/log"]
    fails(forked, 3, "merge", "--continue")  # nothing in progress
    assert run(forked, "fsck").code == 0


def test_conflict_flow_by_editing_the_file(forked):
    run(forked, "merge", "exp", check=False)
    doc = state(forked)
    doc["a"] = 100
    doc["log"] = [1]
    (forked / "state.json").write_text(json.dumps(doc))
    run(forked, "merge", "--continue", "-m", "hand merged")
    assert head(forked)["message"] == "hand merged" and state(forked)["a"] == 100


def test_abort_puts_everything_back(forked):
    before = head(forked)["id"]
    original = state(forked)
    run(forked, "merge", "exp", check=False)
    run(forked, "merge", "--abort")
    assert state(forked) == original and head(forked)["id"] == before
    assert "Working state clean" in run(forked, "status").out
    fails(forked, 3, "merge", "--abort")


@pytest.mark.parametrize("gone", ["0" * 64, "f" * 64])
def test_abort_when_the_saved_target_head_does_not_resolve(forked, gone):
    before = head(forked)["id"]
    original = state(forked)
    run(forked, "merge", "exp", check=False)
    path = forked / ".statevcs" / "MERGE_STATE.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "target_head": gone}))
    run(forked, "resolve", "/a", "--ours")
    run(forked, "resolve", "/log", "--ours")
    r = fails(forked, 3, "merge", "--continue")
    assert "merge --abort" in r.err  # the way out, named
    out = run(forked, "merge", "--abort").out
    assert f"the commit it started from, {gone[:10]}, cannot be read" in out and before[:10] in out
    assert state(forked) == original and head(forked)["id"] == before and not path.exists()
    assert "Working state clean" in run(forked, "status").out


def test_resolve_delete_and_base(forked):
    run(forked, "merge", "exp", check=False)
    run(forked, "resolve", "/a", "--base")
    run(forked, "resolve", "/log", "--delete")
    run(forked, "merge", "--continue")
    assert state(forked) == {"a": 1, "b": 5}


def test_fast_forward_no_ff_and_ff_only(tmp_path):
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"n": 1}')
    run(d, "commit", "-m", "one")
    run(d, "switch", "-c", "exp")
    run(d, "set", "/n", "2")
    run(d, "commit", "-m", "two")
    run(d, "switch", "main")
    assert "Fast-forward main" in run(d, "merge", "exp", "--ff-only").out
    assert state(d) == {"n": 2}
    assert "Already up to date." in run(d, "merge", "exp").out
    run(d, "switch", "exp")
    run(d, "set", "/n", "3")
    run(d, "commit", "-m", "three")
    run(d, "switch", "main")
    run(d, "merge", "exp", "--no-ff", "-m", "explicit merge")
    assert head(d)["message"] == "explicit merge" and len(head(d)["parents"]) == 2
    fails(d, 2, "merge", "exp", "--ff-only", "--no-ff")
    fails(d, 2, "merge", "exp", "--strategy", "random")
    fails(d, 3, "merge", "nope")
    fails(d, 2, "merge")


def test_merge_refuses_uncommitted_work(forked):
    run(forked, "set", "/b", "99")
    r = fails(forked, 3, "merge", "exp", "--strategy", "source_wins")
    assert "uncommitted" in r.err


def test_merge_into_other_branch_and_path(forked):
    run(forked, "branch", "side", "exp~1")
    out = run(forked, "merge", "main", "--into", "side").out
    assert "Fast-forward side" in out
    r = run(forked, "merge", "exp", "--into", "side", check=False)
    assert r.code == 1 and "switch to side" in r.err
    run(forked, "merge", "exp", "--path", "/log", "--strategy", "source_wins")
    assert state(forked) == {"a": 3, "b": 5, "log": [1, 2]}
    assert len(head(forked)["parents"]) == 1


def test_revert_cherry_pick_merge_base(forked):
    base = run(forked, "merge-base", "main", "exp").out.strip()
    assert len(base) == 64 and run(forked, "log", "--json").json()["commits"][-1]["id"] == base
    run(forked, "set", "/b", "6")
    run(forked, "commit", "-m", "b to 6")
    run(forked, "revert", "HEAD~1", "--strategy", "target_wins")
    out = state(forked)
    assert out["b"] == 6 and out["a"] == 1
    run(forked, "cherry-pick", "exp")
    assert state(forked)["a"] == 2 and head(forked)["message"] == "exp work"
    run(forked, "set", "/a", "50")
    run(forked, "commit", "-m", "a to 50")
    fails(forked, 3, "revert", "nope")
    before = head(forked)
    r = run(forked, "revert", "HEAD~1", check=False)
    assert r.code == 1 and "CONFLICT (modify/modify) /a" in r.out and "revert --continue" in r.out
    assert state(forked)["a"] == {"$conflict": {"kind": "modify/modify", "base": 2, "ours": 50, "theirs": 1}}
    assert "You are reverting HEAD~1" in run(forked, "status").out
    fails(forked, 3, "cherry-pick", "exp")  # one operation at a time
    run(forked, "revert", "--abort")
    assert state(forked)["a"] == 50 and head(forked)["id"] == before["id"]
    run(forked, "revert", "HEAD~1", check=False)
    run(forked, "resolve", "/a", "--value", "7")
    run(forked, "revert", "--continue")
    reverted = head(forked)
    assert reverted["parents"] == [before["id"]] and reverted["message"].startswith('Revert "')
    assert reverted["metadata"]["reverts"] == before["parents"][0] and reverted["metadata"]["resolved"] == ["/a"]
    assert state(forked)["a"] == 7
    fails(forked, 2, "revert")
    fails(forked, 2, "revert", "HEAD", "--continue")
    r = run(forked, "-C", str(forked), "merge-base", "main", "exp", "--all")
    assert r.out.strip() == base


def test_attributes_file_policies(forked):
    (forked / ".statevcs" / "attributes").write_text("# merge policies\n/log union\n/a theirs\n")
    run(forked, "merge", "exp")
    assert state(forked) == {"a": 2, "b": 5, "log": [1, 3, 2]}


def test_bad_attributes_file_is_a_clear_error(forked):
    (forked / ".statevcs" / "attributes").write_text("/log sometimes\n")
    r = fails(forked, 3, "merge", "exp")
    assert "attributes" in r.err and "unknown merge policy" in r.err


def test_cherry_pick_conflict_flow_keeps_the_author(forked):
    exp = run(forked, "log", "exp", "-n", "1", "--json").json()["commits"][0]
    run(forked, "commit", "-f", "-", "-m", "someone", "--author", "picker",
        stdin=json.dumps({"a": 3, "b": 5, "log": [1, 3]}), check=False)
    r = run(forked, "cherry-pick", "exp", check=False)
    assert r.code == 1 and "CONFLICT" in r.out
    run(forked, "resolve", "/a", "--theirs")
    run(forked, "resolve", "/log", "--ours")
    run(forked, "cherry-pick", "--continue")
    c = head(forked)
    assert c["author"] == exp["author"] and c["message"] == "exp work" and len(c["parents"]) == 1
    assert c["metadata"]["cherry_picked_from"] == exp["id"]
    assert state(forked) == {"a": 2, "b": 5, "log": [1, 3]}


# ---------------------------------------------------------------- side resolutions of arrays (issue 12)


@pytest.fixture
def chat(tmp_path):
    """main appended "a-ours"; exp edited index 0 and appended "a-theirs"; both changed /n."""
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"m": ["sys", "u1"], "n": 1}')
    run(d, "commit", "-m", "base")
    run(d, "switch", "-c", "exp")
    (d / "state.json").write_text('{"m": ["SYS2", "u1", "a-theirs"], "n": 3}')
    run(d, "commit", "-m", "exp")
    run(d, "switch", "main")
    (d / "state.json").write_text('{"m": ["sys", "u1", "a-ours"], "n": 2}')
    run(d, "commit", "-m", "main")
    return d


@pytest.mark.parametrize("flag, m", [
    ("--ours", ["SYS2", "u1", "a-ours"]),
    ("--theirs", ["SYS2", "u1", "a-theirs"]),
    ("--both", ["SYS2", "u1", "a-ours", "a-theirs"]),
    ("--base", ["SYS2", "u1"]),
])
def test_resolve_array_side_keeps_the_other_sides_clean_edit(chat, flag, m):
    assert run(chat, "merge", "exp", check=False).code == 1
    run(chat, "resolve", "/m", flag)
    assert state(chat)["m"] == m
    run(chat, "resolve", "/n", "--value", "9")
    run(chat, "merge", "--continue")
    assert run(chat, "cat", "HEAD").json() == {"m": m, "n": 9}


@pytest.mark.parametrize("flag, strategy", [("--ours", "target_wins"), ("--theirs", "source_wins")])
def test_resolve_side_agrees_with_the_side_strategy(chat, flag, strategy):
    run(chat, "branch", "other")
    run(chat, "merge", "exp", "--into", "other", "--strategy", strategy)
    run(chat, "merge", "exp", check=False)
    run(chat, "resolve", "/m", flag)
    run(chat, "resolve", "/n", flag)
    run(chat, "merge", "--continue")
    assert run(chat, "cat", "HEAD").json() == run(chat, "cat", "other").json()


def test_resolve_both_on_a_scalar_conflict_is_refused_and_changes_nothing(chat):
    run(chat, "merge", "exp", check=False)
    before = (chat / "state.json").read_bytes()
    r = fails(chat, 3, "resolve", "/n", "--both")
    assert "/n" in r.err and "modify/modify" in r.err
    assert (chat / "state.json").read_bytes() == before
    fails(chat, 2, "resolve", "/m", "--both", "--value", "[]")
    assert (chat / "state.json").read_bytes() == before


def test_union_attribute_edit_on_one_side_is_not_duplicated(chat):
    run(chat, "switch", "exp")
    (chat / "state.json").write_text('{"m": ["SYS2", "U1", "a-theirs"], "n": 3}')
    run(chat, "commit", "-m", "edit u1")
    run(chat, "switch", "main")
    (chat / ".statevcs" / "attributes").write_text("/m union\n/n ours\n")
    run(chat, "merge", "exp")
    assert state(chat) == {"m": ["SYS2", "U1", "a-ours", "a-theirs"], "n": 2}


def test_gc_during_a_conflicted_merge_keeps_what_continue_needs(tmp_path):
    """The source is named only by its id (its branch deleted, reflogs expired)."""
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"a": 1}')
    run(d, "commit", "-m", "base")
    run(d, "switch", "-c", "tmp")
    run(d, "set", "/a", "2")
    run(d, "commit", "-m", "theirs")
    source = run(d, "status", "--json").json()["head"]
    run(d, "switch", "main")
    run(d, "set", "/a", "3")
    run(d, "commit", "-m", "ours")
    run(d, "branch", "-D", "tmp")
    r = run(d, "merge", source, check=False)
    assert r.code == 1 and "CONFLICT" in r.out
    run(d, "reflog-expire", "--expire=now", "--expire-unreachable=now")
    run(d, "gc", "--prune=now")
    run(d, "resolve", "/a", "--theirs")
    run(d, "merge", "--continue")
    assert run(d, "cat", "HEAD", "/a").out == "2\n"
