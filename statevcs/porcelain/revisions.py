"""Revision syntax: names, ids and ancestry suffixes, resolved to commit ids.

``HEAD`` (or ``@``), branch, tag, ``refs/...``, a full or short (>= 4 hex digits)
object id, each followed by any chain of ``~N``, ``~``, ``^N`` and ``^``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import AmbiguousRevisionError, RevisionNotFoundError

_SUFFIX = re.compile(r"(~|\^)(\d*)")
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
MIN_PREFIX = 4


@dataclass(frozen=True)
class Revision:
    """A parsed revision: a base name and the ancestry steps after it."""

    base: str
    steps: tuple[tuple[str, int], ...]  # ("~", n) n-th first-parent ancestor, ("^", n) n-th parent


def parse_revision(text: str) -> Revision:
    """Split ``main~2^2`` into ``Revision("main", (("~", 2), ("^", 2)))``."""
    if not isinstance(text, str) or not text.strip():
        raise RevisionNotFoundError("empty revision")
    cut = len(text)
    for i, ch in enumerate(text):
        if ch in "~^":
            cut = i
            break
    base, rest = text[:cut], text[cut:]
    if not base:
        raise RevisionNotFoundError(f"unknown revision {text!r}")
    steps = []
    pos = 0
    while pos < len(rest):
        m = _SUFFIX.match(rest, pos)
        if not m:
            raise RevisionNotFoundError(f"unknown revision {text!r}: cannot parse {rest[pos:]!r}")
        steps.append((m.group(1), int(m.group(2)) if m.group(2) else 1))
        pos = m.end()
    return Revision(base, tuple(steps))


def is_hex_prefix(text: str) -> bool:
    return bool(_HEX.match(text))


def ambiguous(text: str, matches: list[str]) -> AmbiguousRevisionError:
    shown = ", ".join(m[:12] for m in matches[:5])
    return AmbiguousRevisionError(f"short id {text!r} is ambiguous: it matches {shown}; give more digits")
