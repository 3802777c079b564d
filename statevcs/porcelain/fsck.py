"""Integrity checks: every object re-hashed, every link from every ref followed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import CorruptObjectError, StateVCSError, UnsupportedObjectError
from ..model.objects import child_ids, kind_of
from ..model.refnames import BRANCH_PREFIX
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
