"""Revision syntax: names, ids, reflog positions, ancestry suffixes and ranges.

``HEAD`` (or ``@``), branch, tag, ``refs/...``, a full or short (>= 4 hex digits)
object id, or ``NAME@{N}`` (where the ref was N moves ago; ``@{N}`` is HEAD's), each
followed by any chain of ``~N``, ``~``, ``^N`` and ``^``. Ranges (for log and diff):
``A..B`` is what B has and A lacks; ``A...B`` what either has and their merge base
lacks; a missing side is HEAD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import AmbiguousRevisionError, ObjectNotFoundError, RevisionNotFoundError
from ...model import refnames
from ...model.objects import COMMIT, TAG
from ...model.refnames import BRANCH_PREFIX, HEAD, TAG_PREFIX
from ...store.base import SYMBOLIC_PREFIX

if TYPE_CHECKING:
    from ..repository.facade import Repository

_SUFFIX = re.compile(r"(~|\^)(\d*)")
_REFLOG_POSITION = re.compile(r"^(.*)@\{(\d+)\}$")
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
    position = _REFLOG_POSITION.match(base)
    if position:
        return _reflog_position(repo, position.group(1) or HEAD, int(position.group(2)), text)
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


def _reflog_position(repo: "Repository", name: str, n: int, text: str) -> str:
    """Where ref ``name`` pointed ``n`` moves ago (``0``: now), from its reflog."""
    entries = repo.reflog(HEAD if name in (HEAD, "@") else name, limit=n + 1)
    if len(entries) <= n:
        raise RevisionNotFoundError(
            f"unknown revision {text!r}: the reflog of {name} has only {len(entries)} entr"
            f"{'y' if len(entries) == 1 else 'ies'}")
    entry = entries[n]
    oid = entry.new
    if oid is not None and oid.startswith(SYMBOLIC_PREFIX):  # HEAD switched to a branch: where was it then?
        target = oid[len(SYMBOLIC_PREFIX):]
        oid = next((e.new for e in repo.store.reflog(target) if e.when <= entry.when), None)
    if oid is None or oid.startswith(SYMBOLIC_PREFIX):
        raise RevisionNotFoundError(f"unknown revision {text!r}: {name} named no commit then")
    return repo.objects.peel(oid)


@dataclass(frozen=True)
class RevisionRange:
    """What a log shows: commits reachable from ``include`` but not from ``exclude``."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]


def is_range(text: str) -> bool:
    return isinstance(text, str) and ".." in text


def split_range(text: str) -> tuple[str, str, bool]:
    """``("A", "B", symmetric)`` for ``A..B`` / ``A...B``; an empty side is HEAD."""
    symmetric = "..." in text
    left, _, right = text.partition("..." if symmetric else "..")
    if not left and not right:
        raise RevisionNotFoundError(f"unknown revision {text!r}: a range needs at least one end")
    return left or HEAD, right or HEAD, symmetric


def resolve_range(repo: "Repository", text: str) -> RevisionRange:
    """The commits ``A..B`` or ``A...B`` stands for (a plain revision is everything it reaches)."""
    if not is_range(text):
        return RevisionRange((resolve_revision(repo, text),), ())
    left, right, symmetric = split_range(text)
    a, b = resolve_revision(repo, left), resolve_revision(repo, right)
    if symmetric:
        from ...algo.history import merge_bases

        return RevisionRange((a, b), tuple(merge_bases(repo.objects.commit, a, b)))
    return RevisionRange((b,), (a,))


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


def previous_head(repo: "Repository") -> tuple[str, bool]:
    """Where HEAD was before the last switch (``switch -``, git's ``@{-1}``): (branch name,
    False), or (commit id, True) when HEAD was detached then. RevisionNotFoundError when the
    HEAD reflog records no switch."""
    current = repo.store.read_ref(HEAD)
    for entry in repo.store.reflog(HEAD):
        old = entry.old
        if old is None or old == current or old == entry.new:
            continue
        if old.startswith(SYMBOLIC_PREFIX):
            return refnames.short_name(old[len(SYMBOLIC_PREFIX):]), False
        if entry.new is not None and entry.new.startswith(SYMBOLIC_PREFIX):
            return old, True  # HEAD was detached at ``old`` and then switched to a branch
    raise RevisionNotFoundError("no previous branch: HEAD has not been switched (its reflog records no switch)")


def split_pointer(text: str) -> tuple[str, str | None]:
    """``REV:/POINTER`` (git's ``REV:PATH``) as (REV, POINTER); (text, None) without a colon.

    Ref names cannot hold ``:``, so the first colon ends the revision; ``REV:`` is the whole
    state (pointer ``""``)."""
    rev, colon, pointer = text.partition(":")
    if not colon:
        return text, None
    if not rev:
        raise RevisionNotFoundError(f"{text!r} names no revision before the ':' (REV:/POINTER, e.g. main~1:/budget)")
    return rev, pointer
