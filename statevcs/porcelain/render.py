"""A diff between two states and its renderings: text, patch, unified, markdown, stat.

One diff model, a registry of renderers chosen by name (as Kart does). Large values
are abbreviated in text and markdown, never in patch.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..algo.diff import Change
from ..model.missing import MISSING

#: Values longer than this (as JSON) are abbreviated in text and markdown.
ABBREVIATE_AT = 80

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

    def render(self, fmt: str = "text", color: bool = False, labels: tuple[str, str] = ("a", "b")) -> str:
        """The diff as text in one of FORMATS; ``color`` adds ANSI colours (text, unified)."""
        try:
            renderer = RENDERERS[fmt]
        except KeyError:
            raise ValueError(f"unknown diff format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
        return renderer(self, color, labels)


def dumps_compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def abbreviate(value: Any, limit: int = ABBREVIATE_AT) -> str:
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


_RED, _GREEN, _YELLOW, _CYAN, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[36m", "\033[0m"


def _paint(text: str, colour: str, on: bool) -> str:
    return f"{colour}{text}{_RESET}" if on else text


def render_text(d: Diff, color: bool, labels: tuple[str, str]) -> str:
    lines = []
    for c in d.changes:
        if c.op == "add":
            lines.append(_paint(f"+ {c.path or '/'}: {abbreviate(c.new)}", _GREEN, color))
        elif c.op == "remove":
            lines.append(_paint(f"- {c.path or '/'}: {abbreviate(c.old)}", _RED, color))
        else:
            lines.append(_paint(f"~ {c.path or '/'}: {abbreviate(c.old)} -> {abbreviate(c.new)}", _YELLOW, color))
    return "\n".join(lines) + ("\n" if lines else "")


def render_patch(d: Diff, color: bool, labels: tuple[str, str]) -> str:
    return json.dumps(d.patch, ensure_ascii=False, indent=2) + "\n"


def pretty(value: Any) -> str:
    """Canonical pretty-printed JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def render_unified(d: Diff, color: bool, labels: tuple[str, str]) -> str:
    if not d.changes:
        return ""
    old, new = pretty(d._old()).splitlines(keepends=True), pretty(d._new()).splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(old, new, fromfile=labels[0], tofile=labels[1], n=3):
        if not line.endswith("\n"):
            line += "\n"
        if color:
            if line.startswith(("+++", "---")):
                line = _paint(line.rstrip("\n"), "\033[1m", True) + "\n"
            elif line.startswith("+"):
                line = _paint(line.rstrip("\n"), _GREEN, True) + "\n"
            elif line.startswith("-"):
                line = _paint(line.rstrip("\n"), _RED, True) + "\n"
            elif line.startswith("@@"):
                line = _paint(line.rstrip("\n"), _CYAN, True) + "\n"
        out.append(line)
    return "".join(out)


def _md_cell(value: Any) -> str:
    if value is MISSING:
        return ""
    text = abbreviate(value).replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if "`" not in text else text


def render_markdown(d: Diff, color: bool, labels: tuple[str, str]) -> str:
    if not d.changes:
        return "_No changes._\n"
    s = d.stat()
    lines = [
        f"**{len(d.changes)} change{'s' if len(d.changes) != 1 else ''}** "
        f"({s['added']} added, {s['removed']} removed, {s['changed']} changed)",
        "",
        "| Path | Change | Before | After |",
        "| --- | --- | --- | --- |",
    ]
    names = {"add": "added", "remove": "removed", "replace": "changed"}
    for c in d.changes:
        path = (c.path or "/").replace("|", "\\|")
        lines.append(f"| `{path}` | {names[c.op]} | {_md_cell(c.old)} | {_md_cell(c.new)} |")
    return "\n".join(lines) + "\n"


def render_stat(d: Diff, color: bool, labels: tuple[str, str]) -> str:
    s = d.stat()
    return f"{s['added']} added, {s['removed']} removed, {s['changed']} changed\n"


RENDERERS: dict[str, Callable[[Diff, bool, tuple[str, str]], str]] = {
    "text": render_text,
    "patch": render_patch,
    "unified": render_unified,
    "markdown": render_markdown,
    "stat": render_stat,
}
