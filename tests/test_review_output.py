"""Review output that shows everything: --full, line diffs inside long strings, markdown that a
hostile value cannot change, unified diffs limited to --path and to the changed parts."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statevcs.algo.diff import diff_changes
from statevcs.porcelain.presentation.escaping import longest_backtick_run, md_code, md_fenced
from statevcs.porcelain.presentation.render import Diff, abbreviate, abbreviate_pair, dumps_compact

from .cli_helpers import run
from .strategies import json_values

PROMPT = "\n".join(f"Rule {i}: " + "always be careful and precise about the user's request " * 2 for i in range(15))
EDITED = PROMPT.replace("Rule 9: always", "Rule 9: never")


def _diff(a, b) -> Diff:
    return Diff(tuple(diff_changes(a, b)))


# ---------------------------------------------------------------- abbreviation
def test_edited_prompt_is_a_line_diff_not_two_identical_cells():
    d = _diff({"system": PROMPT}, {"system": EDITED})
    text = d.render("text")
    assert "-Rule 9: always" in text and "+Rule 9: never" in text
    assert "Rule 0" not in text  # only the hunk around the edit, not the whole prompt
    md = d.render("markdown")
    assert "```diff\n" in md and "-Rule 9: always" in md and "+Rule 9: never" in md
    unified = d.render("unified", labels=("v1", "v2"))
    assert unified.startswith("--- v1:/system\n+++ v2:/system\n@@ ")
    assert "-Rule 9: always" in unified and "+Rule 9: never" in unified


def test_long_single_line_strings_differ_when_abbreviated():
    old, new = "x" * 200 + "old tail", "x" * 200 + "new tail"
    line = _diff({"k": old}, {"k": new}).render("text")
    before, after = line.split(": ", 1)[1].rstrip("\n").split(" -> ")
    assert before != after and "old" in before and "new" in after and len(line) < 200
    cells = [c.strip() for c in _diff({"k": old}, {"k": new}).render("markdown").splitlines()[-1].split(" | ")]
    assert cells[2] != cells[3]


@given(json_values, json_values)
def test_abbreviations_of_different_values_never_look_the_same(a, b):
    if dumps_compact(a) == dumps_compact(b):
        return
    x, y = abbreviate_pair(a, b, 30)
    assert x != y


@given(st.text(min_size=1, max_size=300), st.text(max_size=5), st.text(max_size=5))
def test_abbreviation_around_the_first_difference(common, tail_a, tail_b):
    a, b = common * 3 + tail_a, common * 3 + tail_b
    if a == b:
        return
    x, y = abbreviate_pair(a, b)
    assert x != y


def test_full_shows_everything():
    big = {"notes": "n" * 500, "list": list(range(100))}
    d = _diff({}, big)
    assert "n" * 500 not in d.render("text") and "n" * 500 in d.render("text", full=True)
    assert "n" * 500 in d.render("markdown", full=True) and "99]" in d.render("markdown", full=True)
    assert abbreviate("n" * 500) in d.render("text")


def test_full_on_the_command_line(tmp_path):
    run(tmp_path, "init", "r")
    r = tmp_path / "r"
    (r / "state.json").write_text(json.dumps({"prompt": "p" * 300}))
    run(r, "commit", "-m", "long prompt")
    run(r, "set", "/prompt", json.dumps("p" * 299 + "q"))
    assert "p" * 299 not in run(r, "diff").out
    assert "p" * 299 + "q" in run(r, "diff", "--full").out
    assert "p" * 299 + "q" in run(r, "diff", "--full", "--format", "markdown").out
    run(r, "commit", "-m", "edit")
    assert "p" * 299 + "q" in run(r, "show", "--full").out
    assert "p" * 299 + "q" in run(r, "log", "-p", "--full", "-1").out
    assert "p" * 299 + "q" not in run(r, "log", "-p", "-1").out


# ---------------------------------------------------------------- markdown escaping
HOSTILE = ["<b>html</b>", "<script>alert(1)</script>", "a | b", "`code`", "``x``", "***bold***",
           "[link](http://evil)", "line1\nline2", "\\|", "trailing\\", "<img src=x onerror=alert(1)>",
           "&amp;", "@someone #12", " padded ", "`", "| --- |"]


def _cells(row: str) -> list[str]:
    """A GFM table row split where a GFM parser splits it: at pipes with an even run of
    backslashes (zero included) before them."""
    cells, cell, backslashes = [], [], 0
    for ch in row.strip()[1:-1]:
        if ch == "|" and backslashes % 2 == 0:
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(ch)
        backslashes = backslashes + 1 if ch == "\\" else 0
    cells.append("".join(cell))
    return [c.strip() for c in cells]


def _only_code_spans(cell: str) -> bool:
    """The cell is empty or exactly one code span whose fence appears nowhere inside it."""
    if not cell:
        return True
    m = re.fullmatch(r"(`+)(.*?)\1", cell, re.S)
    return bool(m) and longest_backtick_run(m.group(2)) < len(m.group(1))


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_cells_cannot_change_the_page(value):
    md = _diff({value: value}, {value: [value]}).render("markdown")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line[:6]]
    assert len(rows) == 2  # the header and one change: no row was split or added
    cells = _cells(rows[1])
    assert len(cells) == 4
    assert cells[1] == "changed"
    for cell in (cells[0], cells[2], cells[3]):
        assert _only_code_spans(cell), cell


@given(st.text())
def test_md_code_is_one_inert_code_span(text):
    out = md_code(text)
    assert "\n" not in out and "\r" not in out
    assert _only_code_spans(out)
    assert len(_cells(f"| {out} | x |")) == 2  # pipes never split the cell


@given(st.text())
def test_md_fenced_cannot_be_closed_by_its_content(text):
    block = md_fenced(text, "diff")
    lines = block.split("\n")
    fence = lines[0][: len(lines[0]) - len("diff")]
    assert set(fence) == {"`"} and len(fence) >= 3
    inner = lines[1:-2]
    assert lines[-2] == fence and lines[-1] == ""
    assert all(not line.lstrip(" ").startswith(fence) for line in inner)


def test_markdown_on_the_command_line_escapes_html(tmp_path):
    run(tmp_path, "init", "r")
    r = tmp_path / "r"
    (r / "state.json").write_text(json.dumps({"note": "plain"}))
    run(r, "commit", "-m", "one")
    run(r, "set", "/note", json.dumps("<b>html</b> | `tick` # heading"))
    md = run(r, "diff", "--format", "markdown").out
    row = [line for line in md.splitlines() if line.startswith("| `/note`")][0]
    assert len(_cells(row)) == 4 and all(_only_code_spans(c) for c in _cells(row)[2:])
    run(r, "set", "/note", json.dumps("two\n```\n<b>lines</b>"))
    md = run(r, "diff", "--format", "markdown").out
    assert "\n````diff\n" in md and md.rstrip("\n").endswith("````")  # the value's ``` cannot close it


# ---------------------------------------------------------------- unified: --path and cost
def test_unified_honours_path_on_every_store(repo):
    repo.commit({"a": {"x": 1, "y": "same"}, "b": {"z": [1, 2, 3]}}, "one")
    repo.commit({"a": {"x": 2, "y": "same"}, "b": {"z": [1, 2, 3, 4]}}, "two")
    out = repo.diff("HEAD~1", "HEAD", path="/a").render("unified")
    assert "/a/x" in out and "-1" in out and "+2" in out
    assert "/b" not in out and "z" not in out
    whole = repo.diff("HEAD~1", "HEAD").render("unified")
    assert "/a/x" in whole and "/b/z/3" in whole
    assert repo.diff("HEAD~1", "HEAD", path="/a/y").render("unified") == ""


def test_unified_reads_only_the_changed_parts(repo):
    big = {f"k{i}": {"text": f"value {i} " * 20, "n": i} for i in range(2000)}
    repo.commit(big, "big")
    edited = dict(big)
    edited["k1234"] = {"text": "changed", "n": 1234}
    repo.commit(edited, "small edit")
    d = repo.diff("HEAD~1", "HEAD")

    def whole_state():  # the renderer must never need the whole state
        raise AssertionError("unified read the whole state")

    shallow = Diff(d.changes, whole_state, whole_state)
    out = shallow.render("unified")
    assert len(out.splitlines()) < 20 and "k1234" in out


def test_unified_path_on_the_command_line(tmp_path):
    run(tmp_path, "init", "r")
    r = tmp_path / "r"
    (r / "state.json").write_text(json.dumps({"a": 1, "b": 1}))
    run(r, "commit", "-m", "one")
    run(r, "set", "/a", "2")
    run(r, "set", "/b", "2")
    out = run(r, "diff", "--format", "unified", "--path", "/a").out
    assert out == "--- HEAD:/a\n+++ working:/a\n@@ -1 +1 @@\n-1\n+2\n"
    run(r, "commit", "-m", "two")
    log = run(r, "log", "--path", "/b", "-p").out
    assert "~ /b: 1 -> 2" in log and "/a" not in log
    show = run(r, "show", "--path", "/b", "--format", "unified").out
    assert "--- " in show and "/b" in show and "/a" not in show
