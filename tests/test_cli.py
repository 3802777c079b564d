"""The command line, through real subprocesses: the flows users type and their error paths."""

from __future__ import annotations

import json
import os
import sqlite3

import jsonpatch
import pytest

from statevcs.cli.main import cli

from .cli_helpers import fails, run, run_on_tty
from .sqlite_rows import object_rows, set_object_row


@pytest.fixture
def demo(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text('{"agent": {"status": "idle", "memory": []}}')
    run(d, "commit", "-m", "first state")
    return d


def test_readme_flow(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    assert (d / ".statevcs").is_dir() and json.loads((d / "state.json").read_text()) == {}
    (d / "state.json").write_text('{"agent": {"status": "idle", "memory": []}}')
    assert "first state" in run(d, "commit", "-m", "first state").out
    assert "experiment" in run(d, "switch", "-c", "experiment").out
    run(d, "set", "/agent/status", '"running"')
    run(d, "commit", "-m", "try running")
    text = run(d, "diff", "main", "experiment").out
    assert text == '~ /agent/status: "idle" -> "running"\n'
    patch = run(d, "diff", "main", "experiment", "--format", "patch").json()
    assert patch == [{"op": "replace", "path": "/agent/status", "value": "running"}]
    run(d, "tag", "v1", "main", "-m", "known good")
    oneline = run(d, "log", "--oneline").out.splitlines()
    assert [line.split(" ", 1)[1] for line in oneline] == ["try running", "first state"]
    assert len(run(d, "log", "--path", "/agent/status", "--oneline").out.splitlines()) == 2
    assert run(d, "log", "--path", "/agent/memory", "--oneline").out.splitlines()[0].endswith("first state")
    assert json.loads(run(d, "cat", "v1", "/agent").out) == {"memory": [], "status": "idle"}
    run(d, "restore", "v1")
    assert json.loads(run(d, "cat", "HEAD").out) == {"agent": {"memory": [], "status": "idle"}}
    assert json.loads((d / "state.json").read_text()) == {"agent": {"memory": [], "status": "idle"}}
    assert "Working state clean" in run(d, "status").out


def test_commit_from_file_and_stdin(demo, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"x": 1}')
    run(demo, "commit", "-f", str(other), "-m", "from file", "--author", "agent-9")
    assert json.loads(run(demo, "cat", "HEAD").out) == {"x": 1}
    assert run(demo, "log", "-n", "1", "--json").json()["commits"][0]["author"] == "agent-9"
    run(demo, "commit", "-f", "-", "-m", "from stdin", stdin='{"y": [true, 1]}')
    assert json.loads(run(demo, "cat", "HEAD", "--compact").out) == {"y": [True, 1]}
    fails(demo, 3, "commit", "-f", "-", stdin='{"y": [true, 1]}')  # nothing to commit
    run(demo, "commit", "-f", "-", "--allow-empty", "-m", "again", stdin='{"y": [true, 1]}')
    fails(demo, 3, "commit", "-f", "-", stdin='{"bad": NaN}')
    fails(demo, 3, "commit", "-f", "-", stdin='{"bad": ')
    fails(demo, 3, "commit", "-f", str(tmp_path / "missing.json"))


def test_status_get_set_unset(demo):
    run(demo, "set", "/agent/memory/-", '{"role": "user"}')
    run(demo, "set", "/agent/new", "null")
    assert json.loads(run(demo, "get", "/agent/memory/0").out) == {"role": "user"}
    st = run(demo, "status", "--json").json()
    assert st["branch"] == "main" and not st["clean"]
    assert jsonpatch.apply_patch({"agent": {"status": "idle", "memory": []}}, st["changes"]) == json.loads(
        (demo / "state.json").read_text())
    run(demo, "unset", "/agent/new")
    assert "modified" in run(demo, "status").out
    fails(demo, 3, "get", "/agent/nope")
    fails(demo, 3, "unset", "/agent/nope")
    fails(demo, 3, "set", "/agent/status", "running")  # not JSON: must be quoted
    fails(demo, 3, "set", "agent", "1")  # not a pointer
    fails(demo, 3, "set", "/no/such/parent", "1")


def test_diff_working_and_exit_code(demo):
    assert run(demo, "diff", "--exit-code").out == ""
    run(demo, "set", "/agent/status", '"busy"')
    r = run(demo, "diff", "--exit-code", check=False)
    assert r.code == 1 and "busy" in r.out
    assert run(demo, "diff", "HEAD", "--format", "stat").out == "0 added, 0 removed, 1 changed\n"
    md = run(demo, "diff", "--format", "markdown").out
    assert "| `/agent/status` | changed |" in md
    uni = run(demo, "diff", "--format", "unified").out
    assert "--- HEAD:/agent/status" in uni and '-"idle"' in uni and '+"busy"' in uni
    assert run(demo, "diff", "--path", "/agent/memory").out == ""
    fails(demo, 2, "diff", "--format", "yaml")
    fails(demo, 3, "diff", "nope")


def test_show_and_log_patch(demo):
    run(demo, "set", "/agent/status", '"busy"')
    run(demo, "commit", "-m", "busy now")
    out = run(demo, "show").out
    assert "busy now" in out and '~ /agent/status: "idle" -> "busy"' in out
    root = run(demo, "show", "HEAD~1").out
    assert '+ /agent: {"memory": [], "status": "idle"}' in root
    assert run(demo, "show", "--json").json()["patch"] == [{"op": "replace", "path": "/agent/status", "value": "busy"}]
    assert '~ /agent/status' in run(demo, "log", "-p").out


def test_switch_protects_uncommitted_work(demo):
    run(demo, "branch", "exp")
    run(demo, "set", "/agent/status", '"dirty"')
    r = fails(demo, 3, "switch", "exp")
    assert "uncommitted" in r.err
    assert json.loads((demo / "state.json").read_text())["agent"]["status"] == "dirty"
    run(demo, "switch", "exp", "--force")
    assert json.loads((demo / "state.json").read_text())["agent"]["status"] == "idle"
    assert "On branch exp" in run(demo, "status").out
    fails(demo, 3, "switch", "nope")
    run(demo, "switch", "-c", "exp2")
    fails(demo, 3, "switch", "-c", "exp2")


def test_branch_and_tag_commands(demo):
    run(demo, "branch", "exp")
    run(demo, "branch", "old", "HEAD")
    listing = run(demo, "branch", "--json").json()
    assert [b["name"] for b in listing["branches"]] == ["exp", "main", "old"] and listing["current"] == "main"
    assert "* main" in run(demo, "branch").out
    fails(demo, 3, "branch", "exp")
    fails(demo, 3, "branch", "bad..name")
    fails(demo, 3, "branch", "new", "nope")
    run(demo, "branch", "-d", "old")
    fails(demo, 3, "branch", "-d", "main")
    fails(demo, 3, "branch", "-d", "ghost")
    fails(demo, 2, "branch", "-d")
    run(demo, "tag", "v1", "-m", "known good")
    run(demo, "tag", "light")
    tags = run(demo, "tag", "--json").json()["tags"]
    assert [(t["name"], t["annotated"]) for t in tags] == [("light", False), ("v1", True)]
    fails(demo, 3, "tag", "v1")
    fails(demo, 3, "tag", "x", "nope")
    run(demo, "tag", "-d", "light")
    fails(demo, 3, "tag", "-d", "light")


def test_reset_and_reflog(demo):
    first = run(demo, "log", "--json").json()["commits"][0]["id"]
    run(demo, "set", "/agent/status", '"two"')
    run(demo, "commit", "-m", "two")
    run(demo, "reset", first[:7])
    assert json.loads((demo / "state.json").read_text())["agent"]["status"] == "two"  # soft: file kept
    run(demo, "reset", "--hard", first)
    assert json.loads((demo / "state.json").read_text())["agent"]["status"] == "idle"
    entries = run(demo, "reflog", "main", "--json").json()["entries"]
    assert entries[0]["new"] == first and entries[0]["why"].startswith("reset")
    assert "reset" in run(demo, "reflog").out
    fails(demo, 3, "reflog", "ghost")


def test_not_a_repository(tmp_path):
    r = fails(tmp_path, 3, "status")
    assert "not a statevcs repository" in r.err
    fails(tmp_path, 3, "-C", str(tmp_path / "nowhere"), "log")


def test_init_twice_and_in_subdirectories(demo):
    fails(demo.parent, 3, "init", "demo")
    sub = demo / "sub" / "dir"
    sub.mkdir(parents=True)
    assert "first state" in run(sub, "log", "--oneline").out  # found above, as git finds .git
    assert "first state" in run(demo.parent, "-C", "demo", "log", "--oneline").out


def test_bad_working_file(demo):
    (demo / "state.json").write_text("{not json")
    r = fails(demo, 3, "commit", "-m", "x")
    assert "state.json is not valid JSON" in r.err and "line 1" in r.err
    fails(demo, 3, "status")
    (demo / "state.json").unlink()
    fails(demo, 3, "commit", "-m", "x")


def test_unknown_revisions_and_usage_errors(demo):
    assert "unknown revision 'nope'" in fails(demo, 3, "cat", "nope").err
    fails(demo, 3, "cat", "HEAD~5")
    fails(demo, 3, "cat", "HEAD", "/nope")
    fails(demo, 2, "log", "-n", "many")
    fails(demo, 2, "frobnicate")
    fails(demo, 2, "cat")


def test_locked_database(demo):
    conn = sqlite3.connect(demo / ".statevcs" / "statevcs.db", isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        r = fails(demo, 3, "commit", "--allow-empty", "-m", "x", env={"STATEVCS_LOCK_TIMEOUT": "0.2"})
        assert "locked" in r.err
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    run(demo, "commit", "--allow-empty", "-m", "now it works")


def test_fsck_and_gc(demo):
    assert "ok" in run(demo, "fsck").out
    assert run(demo, "fsck", "--json").json()["ok"] is True
    assert "Removed 0" in run(demo, "gc").out
    db = demo / ".statevcs" / "statevcs.db"
    conn = sqlite3.connect(db)
    rows = object_rows(conn)
    oid, data = rows[0]
    damaged = bytearray(data)
    damaged[-1] ^= 0xFF
    set_object_row(conn, oid, bytes(damaged))
    conn.commit()
    conn.close()
    r = run(demo, "fsck", check=False)
    assert r.code == 1 and oid.hex() in r.out
    fails(demo, 3, "cat", "HEAD")  # corruption is an error, never data


def test_colour_only_on_a_terminal(demo):
    run(demo, "set", "/agent/status", '"busy"')
    assert "\x1b[" not in run(demo, "diff").out  # a pipe: no colour
    on_tty = run_on_tty(demo, "diff", env={"NO_COLOR": None})
    assert on_tty.code == 0 and "\x1b[" in on_tty.out
    plain = run_on_tty(demo, "diff", env={"NO_COLOR": "1"})
    assert plain.code == 0 and "busy" in plain.out and "\x1b[" not in plain.out


def test_every_command_is_documented():
    docs = open(os.path.join(os.path.dirname(__file__), "..", "docs", "cli.md")).read()
    for name, command in cli.commands.items():
        assert f"## statevcs {name}" in docs, f"docs/cli.md lacks a section for {name}"
        assert "Example:" in (command.help or ""), f"{name} --help lacks an Example: block"


def test_more_error_paths(demo, tmp_path):
    fails(demo, 3, "show", "nope")
    fails(demo, 3, "restore", "nope")
    fails(demo, 3, "reset", "nope")
    fails(demo, 3, "log", "nope")
    fails(demo, 3, "cat", "HEAD", "not-a-pointer")
    fails(demo, 3, "switch", "--detach", "nope")
    fails(demo, 3, "diff", "--path", "bad")
    fails(tmp_path, 3, "gc")
    fails(tmp_path, 3, "fsck")
    fails(demo, 2, "tag", "-d")
    fails(demo, 3, "init", str(demo), "-b", "bad..name")


def test_no_command_prints_help(tmp_path):
    r = run(tmp_path)
    assert r.out.startswith("Usage: statevcs") and "merge" in r.out and r.err == ""
