"""Garbage collection: what is reachable from refs and reflogs, and deleting the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..algo.history import walk
from ..model.objects import TAG
from ..model.tree import walk_ids
from ..store.base import SYMBOLIC_PREFIX

if TYPE_CHECKING:
    from .repo import Repository


@dataclass(frozen=True)
class GcReport:
    """Objects kept and removed by gc."""

    kept: int
    removed: int


def reachable(repo: "Repository") -> set[str]:
    """Every object reachable from refs and from the reflogs of existing refs (as git keeps them)."""
    seen: set[str] = set()
    refs = repo.store.list_refs()
    starts = set(refs.values())
    for name in refs:
        for entry in repo.store.reflog(name):
            starts.update(v for v in (entry.old, entry.new) if v)
    commits: list[str] = []
    for value in starts:
        if value.startswith(SYMBOLIC_PREFIX) or value in seen:
            continue
        oid = value
        while repo.objects.kind(oid) == TAG:
            seen.add(oid)
            oid = repo.objects.tag(oid).target
        commits.append(oid)
    for commit in walk(repo.objects.commit, commits):
        seen.add(commit.id)
        for _ in walk_ids(repo.objects, commit.root, seen):
            pass
    return seen


def gc(repo: "Repository") -> GcReport:
    """Delete objects that nothing reachable() names."""
    keep = reachable(repo)
    garbage = [oid for oid in repo.store.iter_ids() if oid not in keep]
    removed = repo.store.delete_objects(garbage) if garbage else 0
    repo.objects.forget()
    return GcReport(kept=len(keep), removed=removed)
