"""The merge driver (statevcs merge-file), the diff driver (textconv) and diff --no-index,
through the real git binary: merge, rebase and cherry-pick all go through the driver."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from statevcs.errors import WorkingStateError
from statevcs.gitbridge.driver import merge_file, resolve_file
from statevcs.gitbridge.textconv import textconv

from .cli_helpers import fails, run

STATE = "team.state.json"


def git(cwd, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_EDITOR": "true"}
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {p.returncode}: {p.stdout} {p.stderr}")
    return p


def write(path, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


BASE = {"a": 1, "b": 2, "messages": ["m1"], "agents": {"alice": {"status": "idle"}}}


@pytest.fixture
def project(tmp_path):
    """A git work tree with the drivers installed and a state file on main, branch 'other' beside it."""
    work = tmp_path / "project"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    out = run(work, "git", "install-driver", env={"HOME": str(work)}).out
    assert "merge.statevcs.driver" in out and "added to" in out
    write(work / STATE, BASE)
    git(work, "add", ".")
    git(work, "commit", "-qm", "base")
    git(work, "branch", "other")
    return work


def commit_state(work, branch: str, value, message: str) -> None:
    git(work, "switch", "-q", branch)
    write(work / STATE, value)
    git(work, "commit", "-qam", message)


# ---------------------------------------------------------------- the library


def test_merge_file_merges_and_writes_conflict_markers(tmp_path):
    for name, value in (("base", BASE), ("ours", {**BASE, "a": 10, "messages": ["m1", "o"]}),
                        ("theirs", {**BASE, "b": 20, "a": 30, "messages": ["m1", "t"]})):
        write(tmp_path / f"{name}.json", value)
    outcome = merge_file(str(tmp_path / "ours.json"), str(tmp_path / "base.json"), str(tmp_path / "theirs.json"))
    assert sorted((c.path, c.kind) for c in outcome.conflicts) == [("/a", "modify/modify"), ("/messages", "array")]
    merged = read(tmp_path / "ours.json")
    assert merged["b"] == 20
    assert merged["a"] == {"$conflict": {"kind": "modify/modify", "base": 1, "ours": 10, "theirs": 30}}
    assert resolve_file(str(tmp_path / "ours.json"), "/messages", side="both") == ["/a"]
    assert resolve_file(str(tmp_path / "ours.json"), "/a", value=7) == []
    assert read(tmp_path / "ours.json") == {**BASE, "a": 7, "b": 20, "messages": ["m1", "o", "t"]}


def test_merge_file_refuses_a_side_that_is_not_json(tmp_path):
    write(tmp_path / "base.json", BASE)
    write(tmp_path / "ours.json", BASE)
    (tmp_path / "theirs.json").write_text('{"a": 1,}')
    with pytest.raises(WorkingStateError, match=r"theirs \(%B\) of ours.json is not valid JSON"):
        merge_file(str(tmp_path / "ours.json"), str(tmp_path / "base.json"), str(tmp_path / "theirs.json"))
    assert read(tmp_path / "ours.json") == BASE  # untouched


def test_policies_and_strategies_apply(tmp_path):
    write(tmp_path / "base.json", {"n": 1, "tags": ["x"]})
    write(tmp_path / "ours.json", {"n": 2, "tags": ["x", "o"]})
    write(tmp_path / "theirs.json", {"n": 3, "tags": ["x", "t"]})
    (tmp_path / ".statevcs-attributes").write_text("/tags union\n")
    r = run(tmp_path, "merge-file", "ours.json", "base.json", "theirs.json", "--strategy", "source_wins")
    assert r.code == 0 and read(tmp_path / "ours.json") == {"n": 3, "tags": ["x", "o", "t"]}


def test_an_empty_base_means_added_on_both_sides(tmp_path):
    (tmp_path / "base.json").write_text("")
    write(tmp_path / "ours.json", {"a": 1})
    write(tmp_path / "theirs.json", {"b": 2})
    run(tmp_path, "merge-file", "ours.json", "base.json", "theirs.json")
    assert read(tmp_path / "ours.json") == {"a": 1, "b": 2}


def test_textconv_prints_canonical_pretty_json(tmp_path):
    (tmp_path / "s.json").write_text('{"b": [1, 2], "a": {"y": 1, "x": 2}}')
    assert textconv(str(tmp_path / "s.json")) == b'{\n  "a": {\n    "x": 2,\n    "y": 1\n  },\n  "b": [\n    1,\n    2\n  ]\n}\n'
    (tmp_path / "bad.json").write_text("{nope")
    assert textconv(str(tmp_path / "bad.json")) == b"{nope"


def _driver(cwd, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``statevcs ARGS`` as git runs its drivers; (the process, the modules it imported)."""
    import sys

    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "statevcs", *args], cwd=cwd, capture_output=True,
                       text=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in p.stderr.splitlines() if line.startswith("import time:")}
    p.stderr = "".join(line + "\n" for line in p.stderr.splitlines() if not line.startswith("import time:"))
    return p, imported


def test_drivers_called_as_git_calls_them_skip_the_command_line(tmp_path):
    """git runs textconv once per file version and merge-file once per file: called that way
    they do not load click or the command table, and answer as the full command does."""
    (tmp_path / "s.json").write_text('{"b": 1, "a": 2}')
    p, imported = _driver(tmp_path, "git", "textconv", "s.json")
    assert p.returncode == 0 and p.stdout == '{\n  "a": 2,\n  "b": 1\n}\n'
    assert "click" not in imported and "statevcs.cli.main" not in imported
    write(tmp_path / "base.json", {"a": 1, "b": 1})
    write(tmp_path / "ours.json", {"a": 2, "b": 1})
    write(tmp_path / "theirs.json", {"a": 1, "b": 3})
    p, imported = _driver(tmp_path, "merge-file", "ours.json", "base.json", "theirs.json", "--path-name", "x.json")
    assert p.returncode == 0 and read(tmp_path / "ours.json") == {"a": 2, "b": 3}
    assert "click" not in imported and "statevcs.model.treegraft" not in imported
    # A merge of plain files needs no stored trees, chunks, hashing or object codecs.
    assert not imported & {"statevcs.model.tree", "statevcs.model.objects", "statevcs.model.chunks",
                           "statevcs.algo.diff", "statevcs.algo.treemerge", "orjson", "blake3"}
    write(tmp_path / "ours.json", {"a": 2, "b": 9})
    p, imported = _driver(tmp_path, "merge-file", "ours.json", "base.json", "theirs.json", "--path-name", "x.json")
    assert p.returncode == 1 and "click" not in imported
    assert p.stderr.startswith("CONFLICT (statevcs): 1 conflict(s) in x.json:\n  /b (modify/modify)\n")
    assert read(tmp_path / "ours.json")["b"] == {"$conflict": {"kind": "modify/modify", "base": 1, "ours": 9,
                                                               "theirs": 3}}
    # What the drivers cannot do goes to the full command line, which says why as always.
    p, imported = _driver(tmp_path, "git", "textconv", "missing.json")
    assert p.returncode == 3 and p.stderr == "error: No such file or directory: missing.json\n"
    assert "click" in imported
    p, _ = _driver(tmp_path, "git", "textconv", ".")
    assert p.returncode == 2 and p.stderr.startswith("error: Invalid value for 'FILE'")
    (tmp_path / "bad.json").write_text("{nope")
    before = (tmp_path / "theirs.json").read_text()
    p, _ = _driver(tmp_path, "merge-file", "theirs.json", "bad.json", "base.json")
    assert p.returncode == 3 and p.stderr.startswith("error: base (%O) of theirs.json is not valid JSON")
    assert p.stderr.count("\n") == 1 and (tmp_path / "theirs.json").read_text() == before


def test_version_is_what_click_prints_without_loading_it(tmp_path):
    from statevcs import __version__

    p, imported = _driver(tmp_path, "--version")
    assert p.returncode == 0 and p.stdout == f"statevcs, version {__version__}\n" and "click" not in imported
    p, imported = _driver(tmp_path, "-C", str(tmp_path), "--version")  # through click's own option
    assert p.returncode == 0 and p.stdout == f"statevcs, version {__version__}\n" and "click" in imported


def test_diff_no_index_needs_no_repository(tmp_path):
    write(tmp_path / "a.json", {"x": 1, "y": [1]})
    write(tmp_path / "b.json", {"x": 2, "y": [1, 2]})
    r = run(tmp_path, "diff", "--no-index", "a.json", "b.json")
    assert r.out == "~ /x: 1 -> 2\n+ /y/1: 2\n"
    patch = run(tmp_path, "diff", "--no-index", "a.json", "b.json", "--format", "patch", check=False)
    assert patch.code == 0 and json.loads(patch.out)[0] == {"op": "replace", "path": "/x", "value": 2}
    assert run(tmp_path, "diff", "--no-index", "a.json", "b.json", "--exit-code", check=False).code == 1
    assert run(tmp_path, "diff", "--no-index", "a.json", "a.json", "--exit-code").out == ""
    (tmp_path / "bad.json").write_text("[1,")
    fails(tmp_path, 3, "diff", "--no-index", "a.json", "bad.json")
    fails(tmp_path, 2, "diff", "--no-index", "a.json")


# ---------------------------------------------------------------- real git


def test_git_merge_uses_the_driver_for_a_clean_merge(project):
    # adjacent lines: git's line merge would conflict here, the JSON merge does not
    commit_state(project, "main", {**BASE, "a": 10}, "main edits a")
    commit_state(project, "other", {**BASE, "b": 20, "agents": {"alice": {"status": "busy"}}}, "other edits b")
    git(project, "switch", "-q", "main")
    git(project, "merge", "-q", "--no-edit", "other")
    assert read(project / STATE) == {**BASE, "a": 10, "b": 20, "agents": {"alice": {"status": "busy"}}}
    assert git(project, "status", "--porcelain").stdout == ""


def test_git_merge_conflicts_land_as_documented(project):
    commit_state(project, "main", {**BASE, "a": 10}, "main edits a")
    commit_state(project, "other", {**BASE, "a": 30, "b": 20}, "other edits a and b")
    git(project, "switch", "-q", "main")
    p = git(project, "merge", "--no-edit", "other", check=False)
    assert p.returncode == 1 and "CONFLICT" in p.stdout + p.stderr
    assert git(project, "status", "--porcelain").stdout.startswith(f"UU {STATE}")
    merged = read(project / STATE)  # still JSON: the clean change is in, the conflict is a marker
    assert merged["b"] == 20
    assert merged["a"] == {"$conflict": {"kind": "modify/modify", "base": 1, "ours": 10, "theirs": 30}}
    r = run(project, "git", "resolve", STATE, "/a", "--theirs")
    assert "no conflicts left" in r.out
    git(project, "add", STATE)
    git(project, "commit", "-q", "--no-edit")
    assert read(project / STATE) == {**BASE, "a": 30, "b": 20}


def test_invalid_json_on_a_side_is_refused_not_picked(project):
    commit_state(project, "main", {**BASE, "a": 10}, "main edits a")
    git(project, "switch", "-q", "other")
    (project / STATE).write_text('{"a": 1, "b": 2')
    git(project, "commit", "-qam", "broken")
    git(project, "switch", "-q", "main")
    p = git(project, "merge", "--no-edit", "other", check=False)
    assert p.returncode == 1 and "is not valid JSON" in p.stdout + p.stderr
    assert read(project / STATE) == {**BASE, "a": 10}  # ours, untouched, and the path is conflicted
    assert git(project, "status", "--porcelain").stdout.startswith(f"UU {STATE}")


def test_rebase_and_cherry_pick_use_the_driver(project):
    commit_state(project, "main", {**BASE, "a": 10}, "main edits a")
    commit_state(project, "other", {**BASE, "b": 20}, "other edits b")
    git(project, "rebase", "-q", "main")
    assert read(project / STATE) == {**BASE, "a": 10, "b": 20}
    git(project, "switch", "-q", "-c", "picker", "main~1")
    write(project / STATE, {**BASE, "a": 1, "b": 2, "messages": ["m1", "m2"]})
    git(project, "commit", "-qam", "picker edits messages")
    git(project, "cherry-pick", "other")
    assert read(project / STATE) == {**BASE, "b": 20, "messages": ["m1", "m2"]}


def test_git_diff_shows_values_not_formatting(project):
    (project / STATE).write_text(json.dumps({**BASE, "a": 5}))  # compact, unsorted: formatting noise
    diff = git(project, "diff").stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ['-  "a": 1,', '+  "a": 5,']


def test_install_driver_global_and_idempotent(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    run(tmp_path, "git", "install-driver", "--global", "--pattern", "*.agent.json", env=env)
    again = run(tmp_path, "git", "install-driver", "--global", "--pattern", "*.agent.json", env=env).out
    assert "already in" in again
    attributes = (home / ".config" / "git" / "attributes").read_text()
    assert attributes == "*.agent.json merge=statevcs diff=statevcs\n"
    config = (home / ".gitconfig").read_text()
    assert "merge-file %A %O %B --path-name %P" in config and "git textconv" in config
    fails(tmp_path, 3, "git", "install-driver", env=env)  # not in a git work tree


def test_the_default_install_covers_the_working_file_name(tmp_path):
    """state.json, the repository's own working file, merges through the driver out of the box."""
    work = tmp_path / "plain"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    r = run(work, "git", "install-driver", env={"HOME": str(work)})
    assert "warning: no tracked file matches state.json or *.state.json yet" in r.err
    assert "git config diff.statevcs.cachetextconv 'true'" in r.out
    assert git(work, "config", "--get", "diff.statevcs.cachetextconv").stdout.strip() == "true"
    assert (work / ".gitattributes").read_text() == ("state.json merge=statevcs diff=statevcs\n"
                                                     "*.state.json merge=statevcs diff=statevcs\n")
    # adjacent lines edited on two branches: git's line merge would conflict, the driver does not
    write(work / "state.json", {"budget": 10, "status": "idle"})
    (work / "agents").mkdir()
    write(work / "agents" / "a.state.json", {})
    git(work, "add", ".")
    git(work, "commit", "-qm", "base")
    assert git(work, "check-attr", "merge", "diff", "--", "state.json").stdout == \
        "state.json: merge: statevcs\nstate.json: diff: statevcs\n"
    again = run(work, "git", "install-driver", env={"HOME": str(work)})
    assert "already in" in again.out and again.err == ""
    assert "the drivers apply to 2 tracked file(s): agents/a.state.json, state.json" in again.out
    git(work, "switch", "-qc", "feature")
    write(work / "state.json", {"budget": 25, "status": "idle"})
    git(work, "commit", "-qam", "more budget")
    git(work, "switch", "-q", "main")
    write(work / "state.json", {"budget": 10, "status": "busy"})
    git(work, "commit", "-qam", "busy")
    git(work, "merge", "-q", "--no-edit", "feature")
    assert read(work / "state.json") == {"budget": 25, "status": "busy"}


def test_install_driver_names_only_what_its_patterns_match(tmp_path):
    work = tmp_path / "custom"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    write(work / "state.json", {})
    write(work / "x.agent.json", {})
    git(work, "add", ".")
    git(work, "commit", "-qm", "files")
    r = run(work, "git", "install-driver", "--pattern", "*.agent.json", env={"HOME": str(work)})
    assert r.out.endswith("the drivers apply to 1 tracked file(s): x.agent.json\n") and r.err == ""
    assert (work / ".gitattributes").read_text() == "*.agent.json merge=statevcs diff=statevcs\n"
