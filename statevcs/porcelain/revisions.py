"""Revision syntax: names, ids and ancestry suffixes, resolved to commit ids.

``HEAD`` (or ``@``), branch, tag, ``refs/...``, a full or short (>= 4 hex digits)
object id, each followed by any chain of ``~N``, ``~``, ``^N`` and ``^``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import AmbiguousRevisionError, ObjectNotFoundError, RevisionNotFoundError
from ..model import refnames
from ..model.objects import COMMIT, TAG
from ..model.refnames import BRANCH_PREFIX, HEAD, TAG_PREFIX

if TYPE_CHECKING:
    from .repo import Repository

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


def resolve_revision(repo: "Repository", rev: str) -> str:
    """The full commit id ``rev`` names in ``repo``."""
    parsed = parse_revision(rev)
    oid = _resolve_base(repo, parsed.base, rev)
    for op, n in parsed.steps:
        if op == "~":
            for _ in range(n):
                parents = repo.objects.commit(oid).parents
                if not parents:
                    raise RevisionNotFoundError(f"unknown revision {rev!r}: history is not that long")
                oid = parents[0]
        else:
            if n == 0:
                continue
            parents = repo.objects.commit(oid).parents
            if len(parents) < n:
                raise RevisionNotFoundError(f"unknown revision {rev!r}: commit {oid[:10]} has no parent {n}")
            oid = parents[n - 1]
    return oid

def _resolve_base(repo: "Repository", base: str, text: str) -> str:
    if len(base) == 64 and is_hex_prefix(base):  # a full id: no ref lookups needed
        try:
            return repo.objects.peel(base.lower())
        except ObjectNotFoundError:
            pass
    if base in (HEAD, "@"):
        oid = repo._ref_target(HEAD)
        if oid is None:
            branch = repo.current_branch
            raise RevisionNotFoundError(
                f"HEAD: branch {branch!r} has no commits yet" if branch else "HEAD does not exist"
            )
        return oid
    candidates = [base] if base.startswith("refs/") else []
    candidates += [BRANCH_PREFIX + base, TAG_PREFIX + base, refnames.REMOTE_PREFIX + base]
    for name in candidates:
        oid = repo._ref_target(name)
        if oid is not None:
            commit = repo.objects.peel(oid)
            if is_hex_prefix(base) and len(base) < 64:
                # A ref named like a short id must not silently shadow the commit it abbreviates.
                by_id = _commits_with_prefix(repo, base.lower())
                others = [c for c in by_id if c != commit]
                if others:
                    raise AmbiguousRevisionError(
                        f"{base!r} is ambiguous: it is {name} (commit {commit[:12]}) and a short id of "
                        f"commit {others[0][:12]}; say {name} or give more digits of the id")
            return commit
    if is_hex_prefix(base):
        matches = _ids(repo, base.lower())
        commits = _commits_with_prefix(repo, base.lower(), matches)
        if len(commits) == 1:
            return commits[0]
        if len(commits) > 1:
            raise ambiguous(base, commits)
        if matches:
            raise RevisionNotFoundError(f"{text!r} names an object that is not a commit")
    elif all(c in "0123456789abcdefABCDEF" for c in base) and len(base) < MIN_PREFIX:
        raise RevisionNotFoundError(f"unknown revision {text!r} (short ids need at least {MIN_PREFIX} digits)")
    raise RevisionNotFoundError(f"unknown revision {text!r}")


def _ids(repo: "Repository", prefix: str) -> list[str]:
    if len(prefix) < 64:
        return repo.store.ids_with_prefix(prefix, limit=10)
    return [prefix] if repo.store.has(prefix) else []


def _commits_with_prefix(repo: "Repository", prefix: str, matches: list[str] | None = None) -> list[str]:
    """The commits whose id (or whose annotated tag's id) starts with ``prefix``, sorted."""
    commits = []
    for oid in _ids(repo, prefix) if matches is None else matches:
        kind = repo.objects.kind(oid)
        if kind == COMMIT:
            commits.append(oid)
        elif kind == TAG:
            commits.append(repo.objects.peel(oid))
    return sorted(set(commits))
