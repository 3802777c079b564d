"""Commit-graph algorithms: ancestry and merge bases, bounded by generation numbers.

A commit's generation is 1 + the largest of its parents' (1 for a root), so an
ancestor always has a smaller generation than its descendants. Walks stop as soon
as generations prove nothing further down can matter, instead of visiting the
whole history.
"""

from __future__ import annotations

import heapq
from typing import Callable, Iterator, Sequence

from ..model.objects import Commit

GetCommit = Callable[[str], Commit]

_P1, _P2, _STALE = 1, 2, 4


def is_ancestor(get: GetCommit, ancestor: str, descendant: str) -> bool:
    """True if ``ancestor`` is ``descendant`` or reachable from it through parents."""
    if ancestor == descendant:
        return True
    floor = get(ancestor).generation
    seen = {descendant}
    stack = [descendant]
    while stack:
        commit = get(stack.pop())
        for parent in commit.parents:
            if parent == ancestor:
                return True
            if parent not in seen and get(parent).generation > floor:
                seen.add(parent)
                stack.append(parent)
    return False


def merge_bases(get: GetCommit, a: str, b: str) -> list[str]:
    """The best common ancestors of two commits (none is an ancestor of another).

    Sorted by generation (highest first), then id, so ties break the same way everywhere.
    """
    if a == b:
        return [a]
    flags: dict[str, int] = {a: _P1, b: _P2}
    heap: list[tuple[int, str]] = [(-get(a).generation, a), (-get(b).generation, b)]
    heapq.heapify(heap)
    candidates: list[str] = []
    while heap and any(not flags[oid] & _STALE for _, oid in heap):
        _, oid = heapq.heappop(heap)
        f = flags[oid] & (_P1 | _P2 | _STALE)
        if f & (_P1 | _P2) == (_P1 | _P2):
            if not flags[oid] & _STALE:
                candidates.append(oid)
            f |= _STALE
            flags[oid] |= _STALE
        for parent in get(oid).parents:
            old = flags.get(parent, 0)
            if old & f == f:
                continue
            if old == 0:
                # Generations order the heap, so a commit pops only after every child that
                # could flag it: one push per commit is enough.
                heapq.heappush(heap, (-get(parent).generation, parent))
            flags[parent] = old | f
    bases = [c for c in candidates if not any(o != c and is_ancestor(get, c, o) for o in candidates)]
    bases = sorted(set(bases), key=lambda oid: (-get(oid).generation, oid))
    return bases


def walk(get: GetCommit, starts: Sequence[str], first_parent: bool = False) -> Iterator[Commit]:
    """Commits reachable from ``starts``, newest first: by generation, then time, then id."""
    heap: list[tuple[int, float, str]] = []
    seen: set[str] = set()
    for oid in starts:
        if oid not in seen:
            seen.add(oid)
            c = get(oid)
            heapq.heappush(heap, (-c.generation, -c.timestamp.timestamp(), oid))
    while heap:
        _, _, oid = heapq.heappop(heap)
        commit = get(oid)
        yield commit
        parents = commit.parents[:1] if first_parent else commit.parents
        for parent in parents:
            if parent not in seen:
                seen.add(parent)
                p = get(parent)
                heapq.heappush(heap, (-p.generation, -p.timestamp.timestamp(), parent))
