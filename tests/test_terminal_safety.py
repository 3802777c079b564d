"""Hostile text (messages, authors, keys, values, ref names) never acts on the terminal.

Checked through a real pseudo-terminal: what reaches it holds no control sequence but the
colours statevcs itself writes; JSON output stays exact with every control escaped.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statevcs.cli.context import safe
from statevcs.cli.main import expand_count_shorthand
from statevcs.porcelain.presentation.escaping import json_text, terminal_text

from .cli_helpers import fails, run, run_on_tty

EVIL = "hi \x1b]0;pwned\x07 \x1b[2J\x9b31m\r\x08end"
_OWN_COLOURS = re.compile(r"\x1b\[[0-9;]*m")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _inert(out: str) -> bool:
    """Nothing but our own SGR colours, newlines, tabs and the pty's \\r\\n line ends."""
    return not _CONTROLS.search(_OWN_COLOURS.sub("", out).replace("\r\n", "\n"))


# ---------------------------------------------------------------- the pure helpers
@given(st.text())
def test_terminal_text_has_no_control_but_newline_and_tab(text):
    for multiline in (False, True):
        out = terminal_text(text, multiline=multiline)
        allowed = "\t\n" if multiline else "\t"
        assert all(ch in allowed or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in out)
        assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in out)
        out.encode("utf-8")  # printable: no lone surrogate left
    assert "\n" not in terminal_text(text)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_terminal_text_keeps_ordinary_text(text):
    if not re.search("[\u202a-\u202e\u2066-\u2069]", text):
        assert terminal_text(text) == text


@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text()),
                    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(), c, max_size=4)),
                    max_leaves=20))
def test_json_text_is_exact_and_has_no_raw_control(value):
    out = json_text(value)
    assert json.loads(out) == value
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out)  # \n and indentation only


def test_escapes_are_readable():
    assert safe("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert safe("a\x9bb\rc\nd\te") == "a\\x9bb\\rc\\nd\te"
    assert safe("a\nb", multiline=True) == "a\nb"
    assert json_text("\x9b\x1b") == '"\\u009b\\u001b"'


def test_count_shorthand_only_for_log():
    assert expand_count_shorthand(["log", "-3", "--oneline"]) == ["log", "--max-count=3", "--oneline"]
    assert expand_count_shorthand(["-C", "x", "log", "-12"]) == ["-C", "x", "log", "--max-count=12"]
    assert expand_count_shorthand(["set", "/a", "-3"]) == ["set", "/a", "-3"]
    assert expand_count_shorthand(["log", "--", "-3"]) == ["log", "--", "-3"]


# ---------------------------------------------------------------- through a terminal
@pytest.fixture
def hostile(tmp_path):
    run(tmp_path, "init", "r")
    r = tmp_path / "r"
    (r / "state.json").write_text(json.dumps({"k\x1b[2J": "v", "note": "plain"}))
    run(r, "commit", "-m", EVIL, "--author", "mallory " + EVIL)
    (r / "state.json").write_text(json.dumps({"k\x1b[2J": EVIL, "note": EVIL + "\nline2"}))
    run(r, "commit", "-m", "second " + EVIL)
    return r


@pytest.mark.parametrize("args", [
    ("log", "--no-pager"),
    ("log", "--oneline", "--graph", "--stat", "--no-pager"),
    ("log", "-p", "--no-pager"),
    ("log", "-p", "--format", "unified", "--no-pager"),
    ("log", "-p", "--format", "markdown", "--no-pager"),
    ("show", "HEAD~1", "--no-pager"),
    ("show", "--no-pager"),
    ("show", "--format", "unified", "--no-pager"),
    ("show", "--format", "patch", "--no-pager"),
    ("diff", "HEAD~1", "HEAD"),
    ("diff", "HEAD~1", "HEAD", "--full"),
    ("reflog",),
    ("log", "--json", "--no-pager"),
])
def test_hostile_text_comes_out_escaped_on_a_terminal(hostile, args):
    r = run_on_tty(hostile, *args, env={"NO_COLOR": None})
    assert r.code == 0, r.out
    assert _inert(r.out), repr(r.out)
    assert "\\x1b" in r.out or "\\u001b" in r.out  # shown, not hidden


def test_hostile_text_through_the_pager(hostile, tmp_path):
    r = run_on_tty(hostile, "log", "-p", env={"STATEVCS_PAGER": "cat -v", "NO_COLOR": None})
    assert r.code == 0 and "mallory" in r.out
    assert "^[[" in r.out  # our colours went through `cat -v`: the pager was used
    assert _inert(r.out.replace("^[", "\x1b")), r.out


def test_error_lines_are_escaped(hostile):
    for args in (("show", "nope\x1b[2J"), ("log", "nope\x1b]0;x\x07"), ("diff", "\x9b2J"),
                 ("reflog", "ghost\x1b[2J"), ("no-such-command\x1b[2J",)):
        r = run_on_tty(hostile, *args)
        assert r.code in (2, 3) and "error:" in r.out, r.out
        assert _inert(r.out) and "\\x" in r.out, repr(r.out)
        piped = fails(hostile, r.code, *args)
        assert _inert(piped.err)


def test_json_output_is_exact_and_escaped(hostile):
    out = run(hostile, "log", "--json").out
    assert "\x1b" not in out and "\x9b" not in out and "\\u009b" in out
    commits = json.loads(out)["commits"]
    assert commits[0]["message"] == "second " + EVIL and commits[1]["author"] == "mallory " + EVIL
    shown = json.loads(run(hostile, "show", "--json").out)
    assert {op["path"] for op in shown["patch"]} == {"/k\x1b[2J", "/note"}


@pytest.fixture
def conflicted(tmp_path):
    """A merge stopped on a conflict whose sides hold ESC, CSI (0x9b), OSC (0x9d) and BEL."""
    run(tmp_path, "init", "c")
    r = tmp_path / "c"
    (r / "state.json").write_text(json.dumps({"a": "base"}))
    run(r, "commit", "-m", "base")
    run(r, "switch", "-c", "side")
    (r / "state.json").write_text(json.dumps({"a": "theirs \x1b[31m\x9b2J\x9d0;pwned\x07 \u202eevil"}))
    run(r, "commit", "-m", "side")
    run(r, "switch", "main")
    (r / "state.json").write_text(json.dumps({"a": {"ours": "\x9b31m\x1b]0;x\x07"}}))
    run(r, "commit", "-m", "main")
    assert run(r, "merge", "side", check=False).code == 1
    return r


def test_conflicts_show_hostile_values_escaped(conflicted):
    for env in ({"NO_COLOR": None}, {"NO_COLOR": "1"}):  # with colour and without, on a terminal
        r = run_on_tty(conflicted, "conflicts", env=env)
        assert r.code == 0 and "unresolved" in r.out, r.out
        assert _inert(r.out), repr(r.out)
        assert "\\u009b" in r.out and "\\u001b" in r.out and "\\u202e" in r.out  # shown, not hidden
    piped = run(conflicted, "conflicts")
    assert not _CONTROLS.search(piped.out) and "\u202e" not in piped.out and "\\u009d" in piped.out
    items = run(conflicted, "conflicts", "--json").json()["conflicts"]
    assert items[0]["theirs"] == "theirs \x1b[31m\x9b2J\x9d0;pwned\x07 \u202eevil"  # the JSON stays exact
    r = run_on_tty(conflicted, "status", env={"NO_COLOR": None})
    assert _inert(r.out), repr(r.out)
