"""Text that cannot act on whoever reads it: escaping for terminals, JSON output and markdown.

State values, keys, messages, author and ref names come from agents, remotes and other
people. Printed raw, ``ESC ]0;...`` retitles a terminal and ``ESC [2J`` clears it; put raw
into a pull-request comment, ``<b>`` or ``|`` changes the page. These pure functions make
such text inert while keeping it readable (the reader still sees every character, escaped).
"""

from __future__ import annotations

import json
import re
from typing import Any

#: C0 controls, DEL, C1 controls, lone surrogates (unprintable), and the bidirectional
#: overrides/isolates that can make a line read differently from what it is.
_UNSAFE = "\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _escape_match(m: re.Match[str]) -> str:
    ch = m.group(0)
    return ch if ch == "\t" else _escape_char(ch)


def _escape_match_multiline(m: re.Match[str]) -> str:
    ch = m.group(0)
    return ch if ch in "\n\t" else _escape_char(ch)


def terminal_text(text: str, multiline: bool = False) -> str:
    """``text`` with every control character shown escaped (``\\x1b``, ``\\x9b``, ``\\r``).

    Tabs stay; newlines stay only with ``multiline`` (a commit message body), otherwise
    they show as ``\\n`` so a one-line field stays one line.
    """
    if not _UNSAFE_RE.search(text):
        return text
    return _UNSAFE_RE.sub(_escape_match_multiline if multiline else _escape_match, text)


_JSON_UNSAFE_RE = re.compile("[\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def json_text(value: Any, indent: int | None = 2, sort_keys: bool = False, compact: bool = False) -> str:
    """``value`` as JSON that decodes to exactly ``value`` but holds no raw control character.

    ``json.dumps`` escapes C0 already; DEL, C1, lone surrogates and bidi controls are
    escaped here as ``\\u00XX`` (a terminal may act on a raw C1 character).
    """
    return json_escaped(json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys,
                                   separators=(",", ":") if compact else None))


def json_escaped(text: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1, lone surrogates
    and bidi controls written as ``\\u00XX`` escapes: the same JSON value, nothing raw."""
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


_BACKTICKS_RE = re.compile("`+")


def longest_backtick_run(text: str) -> int:
    return max((len(m.group(0)) for m in _BACKTICKS_RE.finditer(text)), default=0)


def _escape_pipes(text: str) -> str:
    """Every ``|`` preceded by an odd number of backslashes: escaped for any GFM table parser."""
    out = []
    backslashes = 0
    for ch in text:
        if ch == "|" and backslashes % 2 == 0:
            out.append("\\")
        out.append(ch)
        backslashes = backslashes + 1 if ch == "\\" else 0
    return "".join(out)


def md_code(text: str, in_table: bool = True) -> str:
    """``text`` as one markdown code span that nothing in it can close or break.

    Inside a code span a hosting site renders no HTML, emphasis, link, mention or
    autolink. The fence is longer than any backtick run in ``text``; newlines and other
    controls are escaped so a table row stays one row; in a table, pipes are escaped.
    """
    content = terminal_text(text)
    if not content:
        return ""
    if in_table:
        content = _escape_pipes(content)
    fence = "`" * (longest_backtick_run(content) + 1)
    pad = content[0] == "`" or content[-1] == "`" or (
        content[0] == " " and content[-1] == " " and content.strip(" ") != "")
    if pad:
        content = f" {content} "
    return f"{fence}{content}{fence}"


def md_fenced(body: str, info: str = "") -> str:
    """``body`` in a fenced code block whose fence no line of ``body`` can close."""
    content = terminal_text(body, multiline=True)
    fence = "`" * max(3, longest_backtick_run(content) + 1)
    if not content.endswith("\n"):
        content += "\n"
    return f"{fence}{info}\n{content}{fence}\n"


__all__ = ["terminal_text", "json_text", "json_escaped", "md_code", "md_fenced", "longest_backtick_run"]
