"""Choosing commits for ``log``: several starting points, path, author, message and date filters.

Pure selection over the commit graph; printing is the CLI's job. Dates accept ISO 8601
(``2024-05-01``, ``2024-05-01T12:00:00Z``) and git's relative forms (``2 days ago``,
``2.days``, ``3 hours``, ``yesterday``, ``now``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import TYPE_CHECKING, Iterator, Sequence

from ...algo.history import walk
from ...model.objects import Commit
from ...model.pointer import parse_pointer

if TYPE_CHECKING:
    from ..repository.facade import Repository

_UNITS = {
    "second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1),
    "day": timedelta(days=1), "week": timedelta(weeks=1), "month": timedelta(days=30),
    "year": timedelta(days=365),
}
_ABBREVIATIONS = {"s": "second", "sec": "second", "secs": "second", "m": "minute", "min": "minute",
                  "mins": "minute", "h": "hour", "hr": "hour", "hrs": "hour", "d": "day", "w": "week",
                  "mo": "month", "y": "year", "yr": "year", "yrs": "year"}
_RELATIVE_RE = re.compile(r"^(\d+)[\s._]*([a-z]+?)s?(?:[\s._]+ago)?$")


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """A point in time from an ISO date/time or a relative phrase; ValueError if neither.

    Dates without a zone are taken as UTC, as every commit time is stored in UTC.
    """
    now = now or datetime.now(timezone.utc)
    spec = text.strip().lower()
    if spec == "now":
        return now
    if spec in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - (timedelta(days=1) if spec == "yesterday" else timedelta())
    m = _RELATIVE_RE.match(spec)
    if m:
        unit = _ABBREVIATIONS.get(m.group(2), m.group(2))
        if unit in _UNITS:
            return now - int(m.group(1)) * _UNITS[unit]
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use e.g. 2024-05-01, 2024-05-01T12:00:00Z, "
                         "'2 days ago' or 2.days)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def compile_pattern(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A regular expression as git's ``--author``/``--grep`` take; plain text matches as a substring.

    A pattern that is not a valid regular expression is searched for literally.
    """
    flags = re.IGNORECASE if ignore_case else 0
    try:
        return re.compile(pattern, flags)
    except re.error:
        return re.compile(re.escape(pattern), flags)


@dataclass(frozen=True)
class CommitFilter:
    """Which commits ``log`` keeps: every given criterion must hold."""

    author: re.Pattern[str] | None = None
    grep: re.Pattern[str] | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, c: Commit) -> bool:
        if self.author is not None and not self.author.search(c.author):
            return False
        if self.grep is not None and not self.grep.search(c.message):
            return False
        if self.since is not None and c.timestamp < self.since:
            return False
        if self.until is not None and c.timestamp > self.until:
            return False
        return True


def changed_at(repo: "Repository", commit: Commit, path: str) -> bool:
    """Did ``commit`` change the value at ``path`` relative to every parent?"""
    mine = repo.path_token(commit.root, path)
    if not commit.parents:
        return mine is not None
    return all(repo.path_token(repo.objects.commit(p).root, path) != mine for p in commit.parents)


def select_commits(repo: "Repository", starts: Sequence[str], path: str | None = None,
                   first_parent: bool = False, criteria: CommitFilter = CommitFilter(),
                   limit: int | None = None, exclude: Sequence[str] = ()) -> Iterator[Commit]:
    """Commits reachable from the commit ids ``starts`` but not from ``exclude``, newest first
    (children before parents), kept by ``path`` and ``criteria``, at most ``limit`` of them."""
    if path is not None:
        parse_pointer(path)
    hidden = {c.id for c in walk(repo.objects.commit, list(exclude))} if exclude else set()
    chosen = (c for c in walk(repo.objects.commit, list(starts), first_parent=first_parent)
              if c.id not in hidden and criteria.matches(c) and (path is None or changed_at(repo, c, path)))
    return islice(chosen, limit) if limit is not None else chosen


def all_starts(repo: "Repository") -> list[str]:
    """Every branch tip, remote-tracking branch, tag target and HEAD: where ``log --all`` starts."""
    starts = set(repo.branches.values()) | set(repo.tags.values())
    starts |= set(repo.store.list_refs("refs/remotes/").values())
    head = repo.head()
    if head is not None:
        starts.add(head.id)
    return sorted(starts)


__all__ = ["parse_when", "compile_pattern", "CommitFilter", "changed_at", "select_commits", "all_starts"]
