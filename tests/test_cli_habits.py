"""Git's habits on the command line: commit messages, hints that name real options,
shell completion of names, destroying a repository, terminal-safe output of every command."""

from __future__ import annotations

import pytest

from .cli_helpers import fails, run, run_on_tty
from .conftest import postgres_url, require_postgres, track_postgres


@pytest.fixture
def demo(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text('{"a": 1}')
    run(d, "commit", "-m", "first")
    return d


def test_commit_without_a_message_is_refused_off_a_terminal(demo):
    run(demo, "set", "/a", "2")
    r = fails(demo, 2, "commit")
    assert "-m MSG" in r.err and "--allow-empty-message" in r.err
    assert run(demo, "log", "--oneline").out.count("\n") == 1
    run(demo, "commit", "--allow-empty-message")
    assert run(demo, "show", "--json").json()["commit"]["message"] == ""
    # "nothing to commit" is said before asking for a message, as git does
    r = fails(demo, 3, "commit")
    assert "nothing to commit" in r.err


def test_commit_opens_the_editor_on_a_terminal(demo, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written in the editor\\n# a comment\\n" > "$1"\n')
    editor.chmod(0o755)
    run(demo, "set", "/a", "3")
    r = run_on_tty(demo, "commit", env={"EDITOR": str(editor), "VISUAL": str(editor)})
    assert r.code == 0 and "written in the editor" in r.out
    assert run(demo, "show", "--json").json()["commit"]["message"] == "written in the editor"


def test_hints_name_options_that_exist(demo):
    run(demo, "switch", "-c", "side")
    run(demo, "set", "/a", "5")
    run(demo, "commit", "-m", "side")
    run(demo, "switch", "main")
    r = fails(demo, 3, "branch", "-d", "side")
    assert "statevcs branch -D side" in r.err and "force=True" not in r.err
    run(demo, "set", "/b", "1")
    r = fails(demo, 3, "merge", "side")
    assert "--force" not in r.err and "reset --hard" in r.err
    r = fails(demo, 2, "stash")
    assert "status" not in r.err.split("(see")[0]


def test_completion_scripts_and_names(demo):
    for shell in ("bash", "zsh", "fish"):
        assert "_STATEVCS_COMPLETE" in run(demo, "completion", shell).out
    fails(demo, 2, "completion", "tcsh")
    run(demo, "branch", "experiment")
    run(demo, "tag", "v1")
    env = {"_STATEVCS_COMPLETE": "bash_complete", "COMP_WORDS": "statevcs switch ex", "COMP_CWORD": "2"}
    out = run(demo, stdin=None, env=env, check=False).out
    assert "experiment" in out and "main" not in out
    env = {"_STATEVCS_COMPLETE": "bash_complete", "COMP_WORDS": "statevcs diff ", "COMP_CWORD": "2"}
    out = run(demo, env=env, check=False).out
    assert "v1" in out and "experiment" in out and "main" in out


def test_destroy_a_directory_repository(demo):
    fails(demo.parent, 2, "destroy", "demo")
    assert (demo / ".statevcs").is_dir()
    run(demo.parent, "destroy", "demo", "--yes")
    assert not (demo / ".statevcs").exists() and (demo / "state.json").exists()
    fails(demo.parent, 3, "destroy", "demo", "--yes")


def test_destroy_a_postgres_repository(tmp_path):
    require_postgres()
    url = track_postgres(postgres_url())
    run(tmp_path, "init", url)
    fails(tmp_path, 2, "destroy", url)
    run(tmp_path, "-C", url, "log", check=False)
    run(tmp_path, "destroy", url, "--yes")
    fails(tmp_path, 3, "-C", url, "log")
    fails(tmp_path, 3, "destroy", url, "--yes")


HOSTILE = "x\x1b]0;pwned\x07\x1b[2J\x9b31m"


def test_every_command_shows_hostile_text_escaped(demo):
    """Branch, tag and conflict text from a repository reaches stdout escaped (no raw ESC or C1)."""
    from statevcs import Repository

    with Repository.open(str(demo)) as repo:
        repo.commit({"a": 1, "k" + HOSTILE: HOSTILE}, message="m" + HOSTILE, author="au" + HOSTILE)
    run(demo, "reset", "--hard")
    outputs = [run(demo, *args).out for args in (
        ["status"], ["branch"], ["cat", "HEAD"], ["cat", "HEAD", "--compact"], ["get", ""], ["tag", "t1"],
        ["tag"], ["log"], ["show"], ["reset", "HEAD"],
    )]
    for out in outputs:
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out, out


def test_a_refused_push_names_the_cli_option_and_the_api_argument(tmp_path):
    from statevcs import NotFastForwardError, Repository

    run(tmp_path, "init", "origin")
    (tmp_path / "origin" / "state.json").write_text('{"a": 1}')
    run(tmp_path / "origin", "commit", "-m", "one")
    run(tmp_path, "clone", "origin", "mine")
    run(tmp_path / "origin", "set", "/a", "2")
    run(tmp_path / "origin", "commit", "-m", "theirs")
    run(tmp_path / "mine", "set", "/a", "3")
    run(tmp_path / "mine", "commit", "-m", "mine")
    r = fails(tmp_path / "mine", 3, "push", "origin", "main")
    assert "'statevcs push --force'" in r.err and "force=True" not in r.err
    with Repository.open(str(tmp_path / "mine")) as repo:
        with pytest.raises(NotFastForwardError, match="force=True"):
            repo.push("origin", "main")


def test_dash_c_runs_as_if_started_there(demo, tmp_path):
    """As git -C: file arguments are relative to the -C directory too."""
    (demo / "snap.json").write_text('{"from": "file"}')
    run(tmp_path, "-C", "demo", "commit", "-f", "snap.json", "-m", "from -C")
    assert run(demo, "cat", "HEAD", "--compact").out == '{"from":"file"}\n'
    fails(tmp_path, 3, "-C", "nowhere", "status")
