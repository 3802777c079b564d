"""Repository statistics: how many objects, how many bytes (raw and as stored), how many
commits each branch has, and which paths of HEAD's state take the most encoded bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...algo.history import walk
from ...model.objects import Ref, kind_of
from ...model.pointer import format_pointer
from ...model.tree import SCALAR, node_children, view

if TYPE_CHECKING:
    from ..repository.facade import Repository

_BATCH = 1000


@dataclass(frozen=True)
class PathSize:
    """A path of the state stored as its own node(s), and the encoded bytes of its subtree."""

    path: str
    bytes: int


@dataclass(frozen=True)
class RepoStats:
    """Counts and sizes of a repository (see :func:`stats`)."""

    objects: int
    kinds: dict[str, int]
    raw_bytes: int
    stored_bytes: int
    branch_commits: dict[str, int]
    largest_paths: tuple[PathSize, ...]

    def as_json(self) -> dict[str, Any]:
        return {"version": 1, "objects": self.objects, "kinds": self.kinds, "raw_bytes": self.raw_bytes,
                "stored_bytes": self.stored_bytes, "branch_commits": self.branch_commits,
                "largest_paths": [{"path": p.path, "bytes": p.bytes} for p in self.largest_paths]}


def stats(repo: "Repository", top: int = 10) -> RepoStats:
    """Read every object once (in batches) to count and size them; count each branch's
    commits; rank HEAD's paths by the encoded size of what is stored under them."""
    store = repo.store
    count, raw_bytes = 0, 0
    kinds: dict[str, int] = {}
    batch: list[str] = []

    def flush() -> None:
        nonlocal count, raw_bytes
        for raw in store.get_many(batch).values():
            count += 1
            raw_bytes += len(raw)
            kind = kind_of(raw)
            kinds[kind] = kinds.get(kind, 0) + 1
        batch.clear()

    for oid in store.iter_ids():
        batch.append(oid)
        if len(batch) >= _BATCH:
            flush()
    flush()
    try:
        stored = store.stored_size()
    except NotImplementedError:
        stored = raw_bytes
    commits = {name: sum(1 for _ in walk(repo.objects.commit, [oid])) for name, oid in repo.branches.items()}
    head = repo.head()
    largest = largest_paths(repo, head.root, top) if head is not None else ()
    return RepoStats(count, dict(sorted(kinds.items())), raw_bytes, stored, commits, largest)


def subtree_bytes(repo: "Repository", oid: str, memo: dict[str, int]) -> int:
    """Encoded bytes of the node ``oid`` and every node below it (chunks included), each
    distinct node counted once per subtree; memoised by id across calls."""
    stack: list[tuple[str, bool]] = [(oid, False)]
    while stack:
        current, ready = stack.pop()
        if current in memo:
            continue
        kids = _ref_children(repo, current)
        if not ready:
            stack.append((current, True))
            stack.extend((k, False) for k in kids if k not in memo)
            continue
        memo[current] = len(repo.objects.raw(current)) + sum(memo[k] for k in dict.fromkeys(kids))
    return memo[oid]


def _ref_children(repo: "Repository", oid: str) -> list[str]:
    kids = node_children(repo.objects.node(oid))
    if kids is None:
        return []
    values = kids.values() if isinstance(kids, dict) else kids
    return [c.id for c in values if type(c) is Ref]


def largest_paths(repo: "Repository", root: str, top: int = 10) -> tuple[PathSize, ...]:
    """The ``top`` paths of the state at ``root`` with the most encoded bytes beneath them
    (the root itself is ``""``), among values stored as their own nodes (small values are
    inlined in their parent and counted there)."""
    memo: dict[str, int] = {}
    found: list[PathSize] = [PathSize("", subtree_bytes(repo, root, memo))]
    stack: list[tuple[tuple[str, ...], Any]] = [((), Ref(root))]
    while stack:
        tokens, child = stack.pop()
        kind, contents = view(repo.objects, child)
        if kind == SCALAR:
            continue
        items = contents.items() if kind == "object" else enumerate(contents)
        for key, sub in items:
            if type(sub) is not Ref:
                continue
            path = (*tokens, str(key))
            found.append(PathSize(format_pointer(path), subtree_bytes(repo, sub.id, memo)))
            stack.append((path, sub))
    found.sort(key=lambda p: (-p.bytes, p.path))
    return tuple(found[:top])


__all__ = ["PathSize", "RepoStats", "largest_paths", "stats", "subtree_bytes"]
