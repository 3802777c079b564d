"""A diff between two states and its renderings: text, patch, unified, markdown, stat.

One diff model, a registry of renderers chosen by name (as Kart does). Large values
are abbreviated in text and markdown (never in patch, never with ``full``); an edited
multi-line string is shown as a line diff inside the value, so a prompt edit reads
like a code edit. Everything a value or key carries is escaped for the medium: control
characters for a terminal, markup for a hosting site's markdown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ...model.missing import MISSING
from .escaping import json_escaped, json_text, md_code, md_fenced, terminal_text

if TYPE_CHECKING:
    from ...algo.diff import Change

#: Values longer than this (as JSON) are abbreviated in text and markdown.
ABBREVIATE_AT = 80
#: Characters kept before the first difference when two abbreviations would look alike.
_LEAD = 20

FORMATS = ("text", "patch", "unified", "markdown", "stat")


@dataclass(frozen=True)
class Diff:
    """The changes from one state to another; ``patch`` is RFC 6902 JSON Patch."""

    changes: tuple[Change, ...]
    _old: Callable[[], Any] = field(repr=False, compare=False, default=lambda: None)
    _new: Callable[[], Any] = field(repr=False, compare=False, default=lambda: None)

    @property
    def patch(self) -> list[dict[str, Any]]:
        return [c.as_patch_op() for c in self.changes]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def stat(self) -> dict[str, int]:
        """Counts of added, removed and changed paths."""
        counts = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            counts[{"add": "added", "remove": "removed", "replace": "changed"}[c.op]] += 1
        return counts

    def render(self, fmt: str = "text", color: bool = False, labels: tuple[str, str] = ("a", "b"),
               full: bool = False, summarize: Summarizer | None = None) -> str:
        """The diff as text in one of FORMATS; ``color`` adds ANSI colours (text, unified);
        ``full`` shows every value whole instead of abbreviating long ones; ``summarize``
        (a view's, see statevcs.integrations) gives lines standing for a value in the
        abbreviated text and markdown output."""
        try:
            renderer = RENDERERS[fmt]
        except KeyError:
            raise ValueError(f"unknown diff format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
        return renderer(self, Style(color, labels, full, summarize))

    def without(self, hidden: Callable[[str], bool]) -> Diff:
        """The diff without the changes at pointers ``hidden`` names (a view's bookkeeping)."""
        return Diff(tuple(c for c in self.changes if not hidden(c.path)), self._old, self._new)


#: Lines standing for a value in abbreviated output, or None to show its JSON.
Summarizer = Callable[[Any], "list[str] | None"]


@dataclass(frozen=True)
class Style:
    """How a renderer shows a diff: colours, the two sides' names, abbreviation."""

    color: bool = False
    labels: tuple[str, str] = ("a", "b")
    full: bool = False
    summarize: Summarizer | None = None

    def summary(self, value: Any) -> list[str] | None:
        """The summary lines of a value when abbreviating, else None."""
        if self.full or self.summarize is None or value is MISSING:
            return None
        return self.summarize(value) or None


# ---------------------------------------------------------------- values as text
def dumps_compact(value: Any) -> str:
    """``value`` as one line of JSON, with DEL, C1 and bidi controls escaped as json_text
    does (``json.dumps`` escapes C0 only), so no abbreviated value can act on a terminal."""
    return json_escaped(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": ")))


def abbreviate(value: Any, limit: int = ABBREVIATE_AT) -> str:
    """``value`` as compact JSON, cut to about ``limit`` characters with a size summary."""
    text = dumps_compact(value)
    if len(text) <= limit:
        return text
    if isinstance(value, dict):
        summary = f"{{... {len(value)} keys}}"
    elif isinstance(value, list):
        summary = f"[... {len(value)} items]"
    else:
        summary = ""
    head = text[: limit - len(summary) - 4]
    return f"{head} ... {summary}".rstrip() if summary else text[: limit - 4] + " ..."


def abbreviate_pair(old: Any, new: Any, limit: int = ABBREVIATE_AT) -> tuple[str, str]:
    """Both sides of a change, abbreviated so that different values never look the same.

    When the usual cut would hide the difference, both sides are cut around the first
    character where their JSON texts differ.
    """
    a, b = abbreviate(old, limit), abbreviate(new, limit)
    ta, tb = dumps_compact(old), dumps_compact(new)
    if a != b or ta == tb:
        return a, b
    first = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
    start = max(0, first - _LEAD)
    width = max(limit - 8, _LEAD + 8)
    return _window(ta, start, width), _window(tb, start, width)


def _window(text: str, start: int, width: int) -> str:
    end = start + width
    return ("... " if start else "") + text[start:end] + (" ..." if end < len(text) else "")


def pretty(value: Any) -> str:
    """Canonical pretty-printed JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def is_text(value: Any) -> bool:
    """A string worth showing line by line (it has several lines)."""
    return isinstance(value, str) and "\n" in value


def value_lines(value: Any) -> list[str]:
    """A value as lines for a line diff: a multi-line string's own lines, else pretty JSON."""
    if value is MISSING:
        return []
    if is_text(value):
        return value.split("\n")
    return pretty(value).rstrip("\n").split("\n")


def line_hunks(old: list[str], new: list[str], headers: tuple[str, str] | None = None) -> list[str]:
    """Unified-diff lines (with 3 lines of context) turning ``old`` into ``new``."""
    import difflib  # loaded for unified line hunks only

    fromfile, tofile = headers or ("", "")
    lines = list(difflib.unified_diff(old, new, fromfile=fromfile, tofile=tofile, n=3, lineterm=""))
    return lines if headers else lines[2:]


_RED, _GREEN, _YELLOW, _CYAN, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[36m", "\033[1m", "\033[0m"


def _paint(text: str, colour: str, on: bool) -> str:
    return f"{colour}{text}{_RESET}" if on else text


def _paint_hunk_line(line: str, on: bool) -> str:
    """One unified-diff line, escaped for a terminal and coloured by its kind."""
    line = terminal_text(line)
    if not on:
        return line
    if line.startswith(("+++", "---")):
        return _paint(line, _BOLD, True)
    if line.startswith("+"):
        return _paint(line, _GREEN, True)
    if line.startswith("-"):
        return _paint(line, _RED, True)
    if line.startswith("@@"):
        return _paint(line, _CYAN, True)
    return line


def _lines(n: int) -> str:
    return f"{n} line{'s' if n != 1 else ''}"


def _text_edit(c: Change) -> bool:
    """A change best shown as a line diff inside the value: an edited multi-line string."""
    return c.op == "replace" and isinstance(c.old, str) and isinstance(c.new, str) and (is_text(c.old) or is_text(c.new))


# ---------------------------------------------------------------- renderers
def _summarized(mark: str, path: str, summary: list[str], colour: str, on: bool) -> list[str]:
    """A value's summary lines: the first after the path, the others indented below."""
    out = [_paint(f"{mark} {path}: {terminal_text(summary[0])}", colour, on)]
    out.extend(_paint(f"    {terminal_text(line)}", colour, on) for line in summary[1:])
    return out


def render_text(d: Diff, s: Style) -> str:
    lines = []
    for c in d.changes:
        path = terminal_text(c.path or "/")
        if c.op == "add":
            if (summary := s.summary(c.new)) is not None:
                lines.extend(_summarized("+", path, summary, _GREEN, s.color))
                continue
            new = dumps_compact(c.new) if s.full else abbreviate(c.new)
            lines.append(_paint(f"+ {path}: {terminal_text(new)}", _GREEN, s.color))
        elif c.op == "remove":
            if (summary := s.summary(c.old)) is not None:
                lines.extend(_summarized("-", path, summary, _RED, s.color))
                continue
            old = dumps_compact(c.old) if s.full else abbreviate(c.old)
            lines.append(_paint(f"- {path}: {terminal_text(old)}", _RED, s.color))
        elif _text_edit(c):
            before, after = value_lines(c.old), value_lines(c.new)
            lines.append(_paint(f"~ {path}: text, {len(before)} -> {_lines(len(after))}", _YELLOW, s.color))
            lines.extend("    " + _paint_hunk_line(h, s.color) for h in line_hunks(before, after))
        else:
            before, after = s.summary(c.old), s.summary(c.new)
            if before is not None and after is not None and len(before) == len(after) == 1 and before != after:
                old, new = before[0], after[0]
            else:
                old, new = (dumps_compact(c.old), dumps_compact(c.new)) if s.full else abbreviate_pair(c.old, c.new)
            lines.append(_paint(f"~ {path}: {terminal_text(old)} -> {terminal_text(new)}", _YELLOW, s.color))
    return "\n".join(lines) + ("\n" if lines else "")


def render_patch(d: Diff, s: Style) -> str:
    return json_text(d.patch) + "\n"


def _unified_lines(d: Diff, s: Style) -> Iterator[str]:
    """One section per changed path, like one file each in a git diff.

    Only the changed values are rendered, so the cost follows the size of the change,
    never the size of the state; a ``path`` limit on the diff limits this as well.
    """
    a, b = s.labels
    for c in d.changes:
        path = c.path or "/"
        headers = (f"{a}:{path}", f"{b}:{path}")
        for line in line_hunks(value_lines(c.old), value_lines(c.new), headers):
            yield _paint_hunk_line(line, s.color)


def render_unified(d: Diff, s: Style) -> str:
    return "".join(line + "\n" for line in _unified_lines(d, s))


def _md_cell(value: Any, shown: str | None = None) -> str:
    if value is MISSING:
        return ""
    return md_code(shown if shown is not None else abbreviate(value))


def _between(s: Style) -> str:
    """`` from `A` to `B` `` naming the two sides, when the caller named them."""
    if s.labels == Style().labels:
        return ""
    return f" from {md_code(s.labels[0], in_table=False)} to {md_code(s.labels[1], in_table=False)}"


def render_markdown(d: Diff, s: Style) -> str:
    if not d.changes:
        return f"_No changes{_between(s)}._\n"
    st = d.stat()
    lines = [
        f"**{len(d.changes)} change{'s' if len(d.changes) != 1 else ''}**{_between(s)} "
        f"({st['added']} added, {st['removed']} removed, {st['changed']} changed)",
        "",
        "| Path | Change | Before | After |",
        "| --- | --- | --- | --- |",
    ]
    names = {"add": "added", "remove": "removed", "replace": "changed"}
    details = []
    for c in d.changes:
        path = md_code(c.path or "/")
        if _text_edit(c):
            before, after = value_lines(c.old), value_lines(c.new)
            lines.append(f"| {path} | {names[c.op]} | text, {_lines(len(before))} | text, {_lines(len(after))} (diff below) |")
            details.append(f"Text diff of {md_code(c.path or '/', in_table=False)}:\n\n"
                           + md_fenced("\n".join(line_hunks(before, after)), "diff"))
            continue
        if s.full:
            old, new = (dumps_compact(c.old) if c.old is not MISSING else None,
                        dumps_compact(c.new) if c.new is not MISSING else None)
        elif c.op == "replace":
            old, new = abbreviate_pair(c.old, c.new)
        else:
            old = new = None
        if (summary := s.summary(c.old)) is not None:
            old = "; ".join(summary)
        if (summary := s.summary(c.new)) is not None:
            new = "; ".join(summary)
        lines.append(f"| {path} | {names[c.op]} | {_md_cell(c.old, old)} | {_md_cell(c.new, new)} |")
    out = "\n".join(lines) + "\n"
    if details:
        out += "\n" + "\n".join(details)
    return out


def render_stat(d: Diff, s: Style) -> str:
    st = d.stat()
    return f"{st['added']} added, {st['removed']} removed, {st['changed']} changed\n"


RENDERERS: dict[str, Callable[[Diff, Style], str]] = {
    "text": render_text,
    "patch": render_patch,
    "unified": render_unified,
    "markdown": render_markdown,
    "stat": render_stat,
}
