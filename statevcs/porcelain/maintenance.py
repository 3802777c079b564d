"""Looking after a repository: what is reachable, garbage collection, integrity checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..algo.history import walk
from ..errors import CorruptObjectError, StateVCSError, UnsupportedObjectError
from ..model.objects import TAG, child_ids, kind_of
from ..model.refnames import BRANCH_PREFIX
from ..model.tree import walk_ids
from ..store.base import SYMBOLIC_PREFIX

if TYPE_CHECKING:
    from .repo import Repository


@dataclass(frozen=True)
class FsckReport:
    """What fsck found: objects checked and problems (empty when the repository is sound)."""

    objects: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


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


def fsck(repo: "Repository") -> FsckReport:
    """Re-hash every object and follow every link from every ref; report what is wrong."""
    problems: list[str] = []
    links: dict[str, list[str]] = {}
    tags: set[str] = set()
    for oid in repo.store.iter_ids():
        try:
            raw = repo.store.get(oid)  # verifies the hash
            links[oid] = child_ids(raw)
            if kind_of(raw) == "tag":
                tags.add(oid)
        except (CorruptObjectError, UnsupportedObjectError) as exc:
            problems.append(f"corrupt object {oid}: {exc}")
        except (StateVCSError, ValueError, KeyError, TypeError, IndexError) as exc:
            problems.append(f"corrupt object {oid}: cannot be decoded ({exc})")
    count = len(links) + len(problems)
    reported = {p.split()[2].rstrip(":") for p in problems}
    for name, value in repo.store.list_refs().items():
        if value.startswith(SYMBOLIC_PREFIX):
            continue
        if name.startswith(BRANCH_PREFIX) and value in tags:
            problems.append(f"branch {name} points at a tag object {value}")
        stack, seen = [value], set()
        while stack:
            oid = stack.pop()
            if oid in seen:
                continue
            seen.add(oid)
            if oid not in links:
                if oid not in reported:
                    reported.add(oid)
                    problems.append(f"missing object {oid} (reachable from {name})")
                continue
            stack.extend(links[oid])
    return FsckReport(objects=count, problems=tuple(problems))
