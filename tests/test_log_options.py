"""log as git users expect it: -N, --all, --graph, --author, --grep, --since/--until, --stat,
and a pager on a terminal only."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

import pytest

from statevcs import Repository
from statevcs.cli.graph import graph_rows
from statevcs.porcelain.core.logview import parse_when

from .cli_helpers import fails, run, run_on_tty

NOW = datetime(2024, 5, 10, 12, 0, 0, tzinfo=timezone.utc)


# ---------------------------------------------------------------- dates
@pytest.mark.parametrize("text, expected", [
    ("2 days ago", NOW - timedelta(days=2)),
    ("2.days", NOW - timedelta(days=2)),
    ("2.days.ago", NOW - timedelta(days=2)),
    ("1 day", NOW - timedelta(days=1)),
    ("3 hours ago", NOW - timedelta(hours=3)),
    ("90 minutes ago", NOW - timedelta(minutes=90)),
    ("1 week ago", NOW - timedelta(weeks=1)),
    ("2 months ago", NOW - timedelta(days=60)),
    ("1 year ago", NOW - timedelta(days=365)),
    ("now", NOW),
    ("yesterday", datetime(2024, 5, 9, tzinfo=timezone.utc)),
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=timezone.utc)),
    ("2024-05-01T08:30:00Z", datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc)),
    ("2024-05-01T10:30:00+02:00", datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc)),
])
def test_parse_when(text, expected):
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "2 fortnights ago", "2024-13-01", "days ago"])
def test_parse_when_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        parse_when(text, NOW)


# ---------------------------------------------------------------- the graph drawing
def _draw(commits):
    return [row + (" " + commits[i][0] if i is not None else "") for row, i in graph_rows(commits)]


def test_graph_of_a_merge_looks_like_gits():
    commits = [("M", ("A", "B")), ("A", ("base",)), ("B", ("base",)), ("base", ())]
    assert _draw(commits) == ["* M", "|\\", "* | A", "| * B", "|/", "* base"]


def test_graph_of_two_branch_tips():
    commits = [("x", ("a",)), ("y", ("b",)), ("a", ("r",)), ("b", ("r",)), ("r", ())]
    assert _draw(commits) == ["* x", "| * y", "* | a", "| * b", "|/", "* r"]


def test_graph_of_a_line_and_of_hidden_parents():
    assert _draw([("c", ("b",)), ("b", ("a",)), ("a", ())]) == ["* c", "* b", "* a"]
    assert _draw([("c", ("hidden",))]) == ["* c"]


# ---------------------------------------------------------------- the command
@pytest.fixture
def history(tmp_path):
    """main: base -> alice's budget -> bob's prompt -> merge of 'side' (carol's note)."""
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    repo = Repository.open(str(d))
    try:
        repo.commit({"budget": 10}, "base state", author="alice")
        repo.create_branch("side")
        repo.commit({"budget": 20}, "Raise budget", author="alice <a@x>")
        repo.commit({"budget": 20, "prompt": "hi"}, "prompt: greet", author="bob")
        repo.commit({"budget": 10, "note": "n"}, "side note", author="carol", branch="side")
        repo.merge("side", message="Merge side")
    finally:
        repo.close()
    return d


def _summaries(out: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in out.splitlines()]


def test_count_limits(history):
    assert len(run(history, "log", "--oneline", "-2").out.splitlines()) == 2
    assert len(run(history, "log", "--oneline", "-n", "3").out.splitlines()) == 3
    assert len(run(history, "log", "--oneline", "--max-count=1").out.splitlines()) == 1
    assert run(history, "log", "--oneline", "-0").out == ""


def test_all_starts_from_every_ref(history):
    run(history, "branch", "later", "HEAD")
    run(history, "switch", "side", "--force")
    assert "Raise budget" not in run(history, "log", "--oneline").out
    assert "Raise budget" in run(history, "log", "--oneline", "--all").out
    assert len(run(history, "log", "--oneline", "--all").out.splitlines()) == 5


def test_graph(history):
    lines = run(history, "log", "--oneline", "--graph").out.splitlines()
    shapes = [line.split(" ")[0] if not line.startswith("|") else line for line in lines]
    assert lines[0].startswith("* ") and lines[0].endswith("Merge side")
    assert lines[1] == "|\\"
    assert lines[-1].startswith("* ") and lines[-1].endswith("base state")
    assert "|/" in lines and sum(1 for s in shapes if "*" in s) == 5
    full = run(history, "log", "--graph").out
    assert "* commit " in full and "|     Merge side" in full


def test_author_and_grep(history):
    assert _summaries(run(history, "log", "--oneline", "--author", "alice").out) == ["Raise budget", "base state"]
    assert _summaries(run(history, "log", "--oneline", "--author", "^b.b$").out) == ["prompt: greet"]
    assert _summaries(run(history, "log", "--oneline", "--author", "<a@").out) == ["Raise budget"]
    assert _summaries(run(history, "log", "--oneline", "--grep", "budget|note").out) == ["side note", "Raise budget"]
    assert run(history, "log", "--oneline", "--grep", "BUDGET").out == ""
    assert _summaries(run(history, "log", "--oneline", "-i", "--grep", "BUDGET").out) == ["Raise budget"]
    assert _summaries(run(history, "log", "--oneline", "--grep", "greet", "--author", "bob").out) == ["prompt: greet"]
    assert run(history, "log", "--oneline", "--grep", "budget (").out == ""  # not a regex: searched as text
    assert _summaries(run(history, "log", "--oneline", "--author", "alice", "-1").out) == ["Raise budget"]


def test_since_and_until(history):
    assert len(run(history, "log", "--oneline", "--since", "1 hour ago").out.splitlines()) == 5
    assert len(run(history, "log", "--oneline", "--since", "2.days", "--until", "now").out.splitlines()) == 5
    assert run(history, "log", "--oneline", "--until", "2000-01-01").out == ""
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert run(history, "log", "--oneline", "--after", tomorrow).out == ""
    r = fails(history, 2, "log", "--since", "the day before")
    assert "--since" in r.err


def test_stat(history):
    out = run(history, "log", "--stat", "-1", "HEAD~1").out
    assert " /prompt | added" in out and "1 path changed: 1 added, 0 removed, 0 changed" in out
    oneline = run(history, "log", "--oneline", "--stat", "-2").out.splitlines()
    assert oneline[0].endswith("Merge side") and oneline[1] == " /note | added"


def test_path_with_patch_shows_only_that_path(history):
    out = run(history, "log", "--path", "/budget", "-p").out
    assert "~ /budget: 10 -> 20" in out and "/prompt" not in out and "/note" not in out
    assert "prompt: greet" not in out


def _pager_script(tmp_path) -> str:
    script = tmp_path / "pager.py"
    script.write_text("import sys\nopen(sys.argv[1], 'w').write(sys.stdin.read())\n")
    return f"{sys.executable} {script} {tmp_path / 'paged.txt'}"


def test_pager_on_a_terminal_only(history, tmp_path):
    pager, paged = _pager_script(tmp_path), tmp_path / "paged.txt"
    r = run_on_tty(history, "log", "--oneline", env={"STATEVCS_PAGER": pager})
    assert r.code == 0 and "Merge side" in paged.read_text() and "Merge side" not in r.out
    paged.unlink()
    run(history, "log", "--oneline", env={"STATEVCS_PAGER": pager})  # a pipe: never a pager
    assert not paged.exists()
    r = run_on_tty(history, "log", "--oneline", "--no-pager", env={"STATEVCS_PAGER": pager})
    assert not paged.exists() and "Merge side" in r.out
    r = run_on_tty(history, "show", env={"STATEVCS_PAGER": None, "PAGER": pager})
    assert r.code == 0 and "Merge side" in paged.read_text()


@pytest.mark.parametrize("pager", ["/no/such/pager -x", "", "cat", "'unterminated"])
def test_missing_or_empty_pager_prints_plainly(history, pager):
    r = run_on_tty(history, "log", "--oneline", env={"STATEVCS_PAGER": pager})
    assert r.code == 0 and "Merge side" in r.out and "error" not in r.out


def test_log_json_with_filters(history):
    commits = run(history, "log", "--json", "--author", "carol").json()["commits"]
    assert [c["message"] for c in commits] == ["side note"]
    assert json.loads(run(history, "log", "--json", "-1").out)["commits"][0]["message"] == "Merge side"
