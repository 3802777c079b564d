"""What a git user types without thinking, through the real command line (issue 19): negative
numbers as values, --stat and --name-only, status -s, switch -, REV:/POINTER, restore of chosen
pointers, resolve --all, merge -X, reset --soft, branch -v, tag -l, hints for git's options and
commands, and review output that names what it compares."""

from __future__ import annotations

import json

import pytest

from .cli_helpers import fails, run


@pytest.fixture
def repo(tmp_path):
    """main: first {budget 10, agent idle, n 1}, then second {budget 20, n 2}."""
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text(json.dumps({"agent": {"status": "idle", "n": 1}, "budget": 10}))
    run(d, "commit", "-m", "first")
    run(d, "set", "/budget", "20")
    run(d, "set", "/agent/n", "2")
    run(d, "commit", "-m", "second")
    return d


def state(d):
    return json.loads((d / "state.json").read_text())


@pytest.fixture
def conflicted(repo):
    """A merge in progress with conflicts at /agent/status, /agent/n, /budget and /log (an array)."""
    run(repo, "set", "/log", "[1]")
    run(repo, "commit", "-m", "log")
    run(repo, "switch", "-c", "side")
    for ptr, value in (("/agent/status", '"side"'), ("/agent/n", "5"), ("/budget", "5"), ("/log/-", '"s"')):
        run(repo, "set", ptr, value)
    run(repo, "commit", "-m", "side")
    run(repo, "switch", "main")
    for ptr, value in (("/agent/status", '"main"'), ("/agent/n", "7"), ("/budget", "7"), ("/log/-", '"m"')):
        run(repo, "set", ptr, value)
    run(repo, "commit", "-m", "main")
    assert run(repo, "merge", "side", check=False).code == 1
    return repo


# ---------------------------------------------------------------- values that look like options
@pytest.mark.parametrize("text, value", [("-50", -50), ("-1.5", -1.5), ("-2e3", -2000.0), ("-0", 0)])
def test_negative_numbers_are_values(repo, text, value):
    run(repo, "set", "/budget", text)
    assert state(repo)["budget"] == value


def test_an_unknown_option_after_a_value_is_still_refused(repo):
    fails(repo, 2, "set", "/budget", "-5", "--bogus")
    assert state(repo)["budget"] == 20


# ---------------------------------------------------------------- status -s
def test_status_short(repo):
    assert run(repo, "status", "-s").out == ""
    run(repo, "set", "/new", "1")
    run(repo, "unset", "/agent/status")
    run(repo, "set", "/budget", "-1")
    assert run(repo, "status", "--short").out == "D /agent/status\nM /budget\nA /new\n"


def test_status_short_during_a_merge_lists_the_unresolved(conflicted):
    run(conflicted, "resolve", "/budget", "--ours")
    assert run(conflicted, "status", "-s").out == "U /agent/n\nU /agent/status\nU /log\n"


# ---------------------------------------------------------------- switch -
def test_switch_dash_goes_back(repo):
    fails(repo, 3, "switch", "-")  # no switch yet
    run(repo, "switch", "-c", "side")
    assert run(repo, "switch", "-").out == "Switched to branch 'main'\n"
    assert run(repo, "switch", "-").out == "Switched to branch 'side'\n"
    run(repo, "switch", "--detach", "main~1")
    assert run(repo, "switch", "-").out == "Switched to branch 'side'\n"
    r = fails(repo, 3, "switch", "-")  # back to a detached HEAD needs --detach, as git says
    assert "statevcs switch --detach" in r.err
    assert run(repo, "switch", "--detach", "-").out.startswith("HEAD is now at ")


# ---------------------------------------------------------------- REV:/POINTER
def test_rev_colon_pointer_in_cat_show_and_diff(repo):
    assert run(repo, "cat", "main~1:/budget").out == "10\n"
    assert run(repo, "cat", "HEAD:/agent", "--compact").out == '{"n":2,"status":"idle"}\n'
    assert json.loads(run(repo, "cat", "main~1:").out)["budget"] == 10  # REV: is the whole state
    assert json.loads(run(repo, "show", "main~1:/agent").out) == {"n": 1, "status": "idle"}
    assert run(repo, "diff", "main~1:/agent", "main").out == "~ /agent/n: 1 -> 2\n"
    assert run(repo, "diff", "main~1:/budget", "main:/budget").out == "~ /budget: 10 -> 20\n"
    fails(repo, 2, "diff", "main~1:/agent", "main:/budget")
    fails(repo, 2, "cat", "main:/budget", "/agent")
    r = fails(repo, 3, "cat", ":/budget")
    assert "REV:/POINTER" in r.err


# ---------------------------------------------------------------- restore chosen pointers
def test_restore_source_brings_back_pointers_and_keeps_other_edits(repo):
    run(repo, "set", "/agent/status", '"busy"')  # an edit of its own, kept
    run(repo, "set", "/extra", "1")
    out = run(repo, "restore", "--source", "main~1", "/budget", "/agent/n", "/extra").out
    assert out == "Restored /budget from main~1\nRestored /agent/n from main~1\nRemoved /extra (not in main~1)\n"
    assert state(repo) == {"agent": {"n": 1, "status": "busy"}, "budget": 10}
    assert run(repo, "log", "--oneline").out.count("\n") == 2  # nothing committed
    run(repo, "restore", "/agent/status")  # from HEAD: drops that edit
    assert state(repo)["agent"]["status"] == "idle"
    run(repo, "restore", "main~1:/agent/status")
    assert run(repo, "status", "-s").out == "M /agent/n\nM /budget\n"


def test_restore_refusals_change_nothing(repo):
    run(repo, "set", "/budget", "99")
    before = (repo / "state.json").read_text()
    r = fails(repo, 3, "restore", "--source", "main~1", "/budget", "/nowhere")
    assert "no value at /nowhere" in r.err
    r = fails(repo, 2, "restore", "main~1", "/budget")
    assert "--source main~1" in r.err
    fails(repo, 2, "restore", "--source", "main~1")
    fails(repo, 2, "restore", "--source", "main~1", "/budget", "-m", "x")
    assert (repo / "state.json").read_text() == before
    run(repo, "restore", "--force", "main~1")  # the whole state as a new commit, as before
    assert run(repo, "cat", "HEAD:/budget").out == "10\n"


# ---------------------------------------------------------------- resolve several at once
def test_resolve_all_and_a_prefix(conflicted):
    out = run(conflicted, "resolve", "/agent", "--theirs").out
    assert out == "Resolved 2 conflict(s) under /agent; 2 conflict(s) left\n"
    out = run(conflicted, "resolve", "--all", "--ours").out
    assert out == "Resolved 2 conflict(s); no conflicts left: run 'statevcs merge --continue'\n"
    assert state(conflicted) == {"agent": {"n": 5, "status": "side"}, "budget": 7, "log": [1, "m"]}
    fails(conflicted, 3, "resolve", "--all", "--ours")  # none left
    run(conflicted, "merge", "--continue")


def test_resolve_all_is_all_or_nothing(conflicted):
    before = (conflicted / "state.json").read_text()
    r = fails(conflicted, 3, "resolve", "--all", "--both")  # --both combines arrays only
    assert "only array conflicts combine" in r.err
    fails(conflicted, 2, "resolve", "--all", "--value", "1")
    fails(conflicted, 2, "resolve", "--theirs")  # neither a pointer nor --all
    fails(conflicted, 3, "resolve", "/nowhere", "--theirs")
    assert (conflicted / "state.json").read_text() == before
    run(conflicted, "resolve", "/log", "--both")
    assert state(conflicted)["log"] == [1, "m", "s"]


# ---------------------------------------------------------------- merge -X
@pytest.mark.parametrize("side, budget", [("theirs", 5), ("ours", 7)])
def test_merge_x_is_a_strategy(conflicted, side, budget):
    run(conflicted, "merge", "--abort")
    run(conflicted, "merge", "-X", side, "side")
    assert run(conflicted, "cat", "HEAD:/budget").out == f"{budget}\n"
    meta = run(conflicted, "show", "--json").json()["commit"]["metadata"]
    assert meta["merge"]["strategy"] == {"theirs": "source_wins", "ours": "target_wins"}[side]


def test_merge_x_contradicting_strategy_is_a_usage_error(conflicted):
    run(conflicted, "merge", "--abort")
    r = fails(conflicted, 2, "merge", "-X", "theirs", "--strategy", "target_wins", "side")
    assert "source_wins" in r.err


# ---------------------------------------------------------------- reset, branch, tag
def test_reset_soft_keeps_the_working_file(repo):
    assert run(repo, "reset", "--soft", "HEAD~1").out.startswith("HEAD is now at ")
    assert state(repo)["budget"] == 20 and run(repo, "cat", "HEAD:/budget").out == "10\n"
    assert run(repo, "status", "-s").out == "M /agent/n\nM /budget\n"
    run(repo, "commit", "-m", "second, again")
    fails(repo, 2, "reset", "--soft", "--hard")


def test_branch_verbose_and_list_patterns(repo):
    run(repo, "branch", "exp-1")
    run(repo, "branch", "exp-2")
    verbose = run(repo, "branch", "-v").out.splitlines()
    assert len(verbose) == 3 and verbose[2].startswith("* main ") and verbose[2].endswith(" second")
    listed = run(repo, "branch", "--list", "exp-*").out.splitlines()
    assert [line.split()[0] for line in listed] == ["exp-1", "exp-2"]
    assert run(repo, "branch", "-l", "nothing*").out == ""
    fails(repo, 2, "branch", "-l", "-d", "exp-1")


def test_tag_list_patterns(repo):
    run(repo, "tag", "v1.0", "main~1")
    run(repo, "tag", "v1.1", "-m", "one one")
    run(repo, "tag", "other")
    assert [line.split()[0] for line in run(repo, "tag", "-l", "v1.*").out.splitlines()] == ["v1.0", "v1.1"]
    assert [t["name"] for t in run(repo, "tag", "-l", "o*", "--json").json()["tags"]] == ["other"]
    assert run(repo, "tag", "--list").out.count("\n") == 3
    fails(repo, 2, "tag", "-l", "-d", "v1.0")


# ---------------------------------------------------------------- --stat and --name-only
def test_diff_and_show_stat_and_name_only(repo):
    stat = " /agent/n | changed\n /budget  | changed\n 2 paths changed: 0 added, 0 removed, 2 changed\n"
    assert run(repo, "diff", "main~1", "main", "--stat").out == stat
    assert run(repo, "show", "--stat").out.endswith("    second\n\n" + stat)
    assert run(repo, "diff", "main~1", "main", "--name-only").out == "/agent/n\n/budget\n"
    assert run(repo, "show", "--name-only").out.endswith("    second\n\n/agent/n\n/budget\n")
    assert run(repo, "diff", "--stat").out == ""  # nothing changed: nothing printed, as git
    assert run(repo, "log", "--stat", "-1").out.endswith(stat)  # the same summary as log's
    fails(repo, 2, "diff", "--stat", "--name-only")


# ---------------------------------------------------------------- hints for git's options and commands
@pytest.mark.parametrize("args, hint", [
    (["commit", "-a", "-m", "x"], "there is no staging area"),
    (["commit", "--amend"], "reset --soft HEAD~1"),
    (["diff", "--cached"], "there is no staging area"),
    (["diff", "--name-status"], "--name-only"),
    (["log", "--pretty=oneline"], "--oneline"),
    (["tag", "-a", "v9"], "-m MSG"),
    (["status", "--jsn"], "did you mean '--json'?"),
    (["log", "--onelin"], "did you mean '--oneline'?"),
])
def test_unknown_options_point_to_the_right_one(repo, args, hint):
    r = fails(repo, 2, *args)
    assert hint in r.err


def test_no_far_fetched_suggestion(repo):
    r = fails(repo, 2, "status", "--verbose-ish")
    assert "did you mean" not in r.err


@pytest.mark.parametrize("command, hint", [
    ("blame", "statevcs log --path POINTER"),
    ("stash", "switch -c NAME"),
    ("add", "no staging area"),
    ("checkout", "statevcs switch BRANCH"),
])
def test_git_only_commands_say_what_to_use(repo, command, hint):
    r = fails(repo, 2, command)
    assert hint in r.err


# ---------------------------------------------------------------- merges in progress
def test_conflicts_json_names_the_pointer(conflicted):
    listed = run(conflicted, "conflicts", "--json").json()["conflicts"]
    assert [c["pointer"] for c in listed] == ["/agent/n", "/agent/status", "/budget", "/log"]
    assert all(c["path"] == c["pointer"] for c in listed)  # the version 1 name, kept for scripts


def test_continue_and_abort_name_the_operation_in_progress(conflicted):
    r = fails(conflicted, 3, "revert", "--continue")
    assert "no revert in progress: a merge of side is" in r.err and "statevcs merge --continue" in r.err
    r = fails(conflicted, 3, "cherry-pick", "--abort")
    assert "no cherry-pick in progress" in r.err
    assert run(conflicted, "status", "-s").out.count("U ") == 4  # the merge is still there
    run(conflicted, "merge", "--abort")
    r = fails(conflicted, 3, "revert", "--continue")
    assert r.err == "error: no revert in progress\n"


# ---------------------------------------------------------------- review output
def test_markdown_diff_names_both_revisions(repo):
    run(repo, "tag", "v1", "main~1")
    first, second = (run(repo, "log", "--json").json()["commits"][i]["id"][:10] for i in (1, 0))
    md = run(repo, "diff", "v1", "main", "--format", "markdown").out
    assert md.splitlines()[0] == (f"**2 changes** from `v1 ({first})` to `main ({second})` "
                                  "(0 added, 0 removed, 2 changed)")
    assert run(repo, "diff", "--format", "markdown").out == f"_No changes from `HEAD ({second})` to `working`._\n"
    md = run(repo, "diff", first, second, "--format", "markdown").out
    assert f"from `{first}` to `{second}`" in md


def test_diff_of_a_stale_working_file_shows_its_own_edits(repo):
    from statevcs import Repository

    loaded_from = run(repo, "log", "--json").json()["commits"][0]["id"]
    with Repository.open(str(repo)) as r:
        r.commit({"agent": {"status": "done"}, "moved": True}, "from python")
    r = run(repo, "diff")
    assert r.out == "" and "loaded from " + loaded_from[:10] in r.err and "statevcs refresh" in r.err
    run(repo, "set", "/budget", "21", check=False)  # refused: the branch moved
    edited = {**state(repo), "budget": 21}
    (repo / "state.json").write_text(json.dumps(edited))
    r = run(repo, "diff")
    assert r.out == "~ /budget: 20 -> 21\n"  # its own edit, not everything the commit changed


@pytest.mark.parametrize("family", ["git", "bundle", "schema"])
def test_families_list_their_commands_with_whole_sentences(tmp_path, family):
    listing = run(tmp_path, family, "--help").out.split("Commands:")[1]
    assert not [line for line in listing.splitlines() if line.endswith("...")]  # click's cut
    if family == "git":
        assert "sync" in listing and "with no force push." in listing
