"""Revision syntax users know from git: NAME@{N} reflog positions and A..B / A...B ranges."""

from __future__ import annotations

import pytest

from statevcs.errors import RevisionNotFoundError

from .cli_helpers import fails, run


def _history(repo):
    """main: one -> four; exp (from one): two -> three."""
    one = repo.commit({"a": 1}, message="one")
    repo.create_branch("exp")
    two = repo.commit({"a": 1, "b": 2}, message="two", branch="exp")
    three = repo.commit({"a": 1, "b": 2, "c": 3}, message="three", branch="exp")
    four = repo.commit({"a": 9}, message="four")
    return one, two, three, four


def test_reflog_positions(repo):
    one, two, three, four = _history(repo)
    assert repo.rev_parse("main@{0}") == four.id
    assert repo.rev_parse("main@{1}") == one.id
    assert repo.rev_parse("exp@{0}") == three.id and repo.rev_parse("exp@{1}") == two.id
    assert repo.rev_parse("exp@{1}~1") == one.id
    assert repo.rev_parse("HEAD@{0}") == four.id and repo.rev_parse("@{1}") == one.id
    with pytest.raises(RevisionNotFoundError, match="only"):
        repo.rev_parse("main@{5}")


def test_ranges_in_log(repo):
    one, two, three, four = _history(repo)
    assert [c.id for c in repo.log("main..exp")] == [three.id, two.id]
    assert [c.id for c in repo.log("exp..main")] == [four.id]
    assert {c.id for c in repo.log("main...exp")} == {two.id, three.id, four.id}
    assert [c.id for c in repo.log("exp..")] == [four.id]  # an empty side is HEAD
    assert list(repo.log("main..main")) == []
    with pytest.raises(RevisionNotFoundError):
        repo.log("..")


def test_cli_ranges_and_positions(tmp_path):
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"a": 1}')
    run(d, "commit", "-m", "one")
    run(d, "switch", "-c", "exp")
    run(d, "set", "/b", "2")
    run(d, "commit", "-m", "two")
    run(d, "switch", "main")
    run(d, "set", "/a", "9")
    run(d, "commit", "-m", "four")
    assert [line.split(" ", 1)[1] for line in run(d, "log", "--oneline", "main..exp").out.splitlines()] == ["two"]
    assert run(d, "diff", "main...exp", "--format", "patch").json() == [{"op": "add", "path": "/b", "value": 2}]
    assert run(d, "diff", "main..exp", "--format", "stat").out == "1 added, 0 removed, 1 changed\n"
    assert run(d, "cat", "main@{1}", "--compact").out == '{"a":1}\n'
    assert run(d, "cat", "HEAD@{1}", "--compact").out == '{"a":1}\n'  # switched to main at one
    assert run(d, "cat", "HEAD@{2}", "--compact").out == '{"a":1,"b":2}\n'  # before: on exp
    fails(d, 3, "cat", "main@{7}")
    fails(d, 3, "log", "nope..main")
