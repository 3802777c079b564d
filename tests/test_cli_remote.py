"""Remotes, PostgreSQL repositories and watch from the command line (real subprocesses)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from .cli_helpers import fails, run, run_on_tty
from .conftest import postgres_url, require_postgres, track_postgres


def test_clone_push_pull_fetch_between_directories(tmp_path):
    run(tmp_path, "init", "origin")
    a = tmp_path / "origin"
    (a / "state.json").write_text('{"n": 1}')
    run(a, "commit", "-m", "one")
    assert "Cloned" in run(tmp_path, "clone", "origin", "copy").out
    b = tmp_path / "copy"
    assert json.loads((b / "state.json").read_text()) == {"n": 1}
    assert run(b, "remote", "-v").out.strip() == f"origin\t{a}"
    assert run(b, "remote", "--json").json()["remotes"] == [{"name": "origin", "url": str(a)}]
    run(b, "set", "/n", "2")
    run(b, "commit", "-m", "two")
    out = run(b, "push", "origin", "main").out
    assert "sent 2 object(s)" in out
    assert json.loads(run(a, "cat", "main").out) == {"n": 2}
    # main is checked out at the origin: its clean working file followed the push.
    assert json.loads((a / "state.json").read_text()) == {"n": 2}
    assert "Everything up to date." in run(b, "push", "origin").out
    run(a, "set", "/m", "1")
    run(a, "commit", "-m", "at origin")
    assert "Fast-forward" in run(b, "pull", "origin", "main").out
    assert json.loads((b / "state.json").read_text()) == {"m": 1, "n": 2}
    assert "Already up to date." in run(b, "fetch", "origin").out
    # Diverge: push refuses, --force overwrites.
    run(a, "set", "/m", "2")
    run(a, "commit", "-m", "origin moves on")
    run(b, "set", "/n", "3")
    run(b, "commit", "-m", "copy moves on")
    r = fails(b, 3, "push", "origin", "main")
    assert "fetch and merge first" in r.err
    run(b, "push", "origin", "main", "--force")
    assert json.loads(run(a, "cat", "main").out)["n"] == 3
    # Uncommitted edits at the origin are never overwritten by a push.
    run(a, "set", "/m", "99")
    run(b, "set", "/n", "4")
    run(b, "commit", "-m", "four")
    run(b, "push", "origin", "main")
    assert json.loads(run(a, "cat", "main").out)["n"] == 4
    assert json.loads((a / "state.json").read_text()) == {"m": 99, "n": 3}


def test_pull_with_conflicts_enters_a_merge(tmp_path):
    run(tmp_path, "init", "origin")
    a = tmp_path / "origin"
    (a / "state.json").write_text('{"n": 1}')
    run(a, "commit", "-m", "one")
    run(tmp_path, "clone", "origin", "copy")
    b = tmp_path / "copy"
    run(a, "set", "/n", "2")
    run(a, "commit", "-m", "origin")
    run(b, "set", "/n", "3")
    run(b, "commit", "-m", "copy")
    r = run(b, "pull", "origin", "main", check=False)
    assert r.code == 1 and "CONFLICT (modify/modify) /n" in r.out
    run(b, "resolve", "/n", "--theirs")
    run(b, "merge", "--continue")
    assert json.loads((b / "state.json").read_text()) == {"n": 2}
    run(b, "set", "/n", "4")
    run(b, "commit", "-m", "four")
    run(b, "pull", "origin", "main", "--strategy", "source_wins")


def test_remote_errors(tmp_path):
    run(tmp_path, "init", "r")
    r = tmp_path / "r"
    fails(r, 3, "fetch", "nowhere")
    fails(r, 3, "push", "nowhere", "main")
    fails(r, 2, "remote", "add", "x")
    fails(r, 3, "remote", "add", "x", str(tmp_path / "missing"))  # a remote names a repository that exists
    run(tmp_path, "init", "other")
    run(r, "remote", "add", "x", str(tmp_path / "other"))
    fails(r, 3, "remote", "add", "x", str(tmp_path / "other"))  # the name is taken
    shutil.rmtree(tmp_path / "other")
    fails(r, 3, "fetch", "x")  # not a repository there any more
    run(r, "remote", "remove", "x")
    fails(r, 3, "remote", "remove", "x")
    fails(tmp_path, 3, "clone", str(tmp_path / "nothing-here"), "c")
    fails(r, 3, "-C", "postgresql://postgres@127.0.0.1:1/none?repo=x", "log")


def test_postgres_repository_from_the_command_line(tmp_path):
    require_postgres()
    url = track_postgres(postgres_url())
    run(tmp_path, "init", url)
    run(tmp_path, "-C", url, "commit", "-f", "-", "-m", "first", stdin='{"agents": {"a": {"status": "idle"}}}')
    run(tmp_path, "-C", url, "branch", "exp")
    assert json.loads(run(tmp_path, "-C", url, "cat", "exp", "/agents/a").out) == {"status": "idle"}
    fails(tmp_path, 3, "-C", url, "status")  # a URL repository has no working file
    fails(tmp_path, 3, "init", url)  # already exists
    # clone it into a directory, change it, push back
    run(tmp_path, "clone", url, "local")
    d = tmp_path / "local"
    run(d, "set", "/agents/a/status", '"running"')
    run(d, "commit", "-m", "run")
    run(d, "push", "origin", "main")
    assert "run" in run(tmp_path, "-C", url, "log", "--oneline").out
    assert run(tmp_path, "-C", url, "fsck").code == 0


def test_watch_prints_new_commits(tmp_path):
    run(tmp_path, "init", "r")
    r = tmp_path / "r"
    (r / "state.json").write_text('{"n": 0}')
    run(r, "commit", "-m", "zero")
    import os

    env = {**os.environ, "STATEVCS_AUTHOR": "watcher"}
    p = subprocess.Popen([sys.executable, "-m", "statevcs", "watch", "main", "--json", "--timeout", "6"], cwd=r,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(2.0)  # let the watcher start and read the head
    for i in range(3):
        run(r, "commit", "-f", "-", "-m", f"c{i}", stdin=json.dumps({"n": i + 1}))
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["message"] for x in lines] == ["c0", "c1", "c2"]
    assert all(x["branch"] == "main" and len(x["id"]) == 64 for x in lines)


def test_transfers_show_progress_on_a_terminal(tmp_path):
    run(tmp_path, "init", "src")
    src = tmp_path / "src"
    for i in range(5):
        run(src, "commit", "-f", "-", "-m", f"c{i}", stdin=json.dumps({"n": i, "blob": ["x" * 700, i]}))
    r = run_on_tty(tmp_path, "clone", "src", "copy")
    assert r.code == 0 and "Receiving objects" in r.out and "Cloned" in r.out
    # Not on a terminal: no bar.
    r = run(tmp_path, "clone", "src", "copy2")
    assert "Receiving objects" not in r.out + r.err
