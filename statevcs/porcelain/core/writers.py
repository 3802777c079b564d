"""Many writers on one branch: read-modify-commit with retries (or merges) on a lost
compare-and-swap, and watching a branch for new commits."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ...algo.history import is_ancestor
from ...algo.treemerge import merge_trees
from ...errors import MergeConflictError, RefConflictError, UpdateContentionError
from ...model import refnames
from ...model.canonical import validate
from ...model.objects import Commit
from ...model.tree import LayeredSource, write_tree
from ..merging.merges import repository_policies

if TYPE_CHECKING:
    from ..repository.facade import Repository


#: Default time budget of ``update`` in seconds: lost races are retried until it is spent.
DEFAULT_UPDATE_TIMEOUT = 30.0
_BACKOFF_FIRST = 0.001  # seconds: the first retry waits up to this long
_BACKOFF_CAP = 0.1  # no single wait is longer than this


def backoff(attempt: int, first: float = _BACKOFF_FIRST, cap: float = _BACKOFF_CAP) -> float:
    """How long to wait before retry number ``attempt`` (0-based): "full jitter", a uniform
    draw up to an exponentially growing bound, so racing writers spread out instead of
    colliding again in step."""
    return random.uniform(0, min(cap, first * 2 ** min(attempt, 32)))


def update(
    repo: "Repository",
    branch: str,
    fn: Callable[[Any], Any],
    message: str = "",
    retries: int | None = None,
    on_conflict: str = "retry",
    author: str | None = None,
    metadata: dict[str, Any] | None = None,
    timeout: float = DEFAULT_UPDATE_TIMEOUT,
) -> Commit:
    """Read ``branch``'s state, commit ``fn(state)`` on top of it, and re-run on a lost race.

    This is how many agents safely write one branch. ``fn`` gets a fresh copy it may
    mutate and returns the new state (it may run several times). With
    ``on_conflict="merge"`` a stale result is three-way merged onto the new head instead
    of re-running ``fn`` (MergeConflictError if the changes overlap).

    Lost races are retried after a jittered, exponentially growing wait (up to 0.1 s)
    for as long as ``timeout`` seconds from the call allow; the first attempt always
    runs. When the budget is spent, UpdateContentionError (a RefConflictError) is raised
    and nothing was committed. ``retries``, if given, also caps the number of retries.
    """
    if on_conflict not in ("retry", "merge"):
        raise ValueError(f"on_conflict must be 'retry' or 'merge', not {on_conflict!r}")
    if timeout < 0 or (retries is not None and retries < 0):
        raise ValueError("timeout and retries cannot be negative")
    ref = refnames.branch_ref(branch)
    started = time.monotonic()
    deadline = started + timeout
    pending: tuple[str, str, dict[str, bytes]] | None = None  # (based_on, root, objects) to merge
    attempt = 0
    while True:
        head_id = repo._ref_target(ref)
        if pending is not None and head_id is not None:
            based_on, mine, mine_objects = pending
            # Seen through a layer for this merge only: a long-running writer must not pile
            # every lost race's nodes into the repository's reader.
            merged = merge_trees(LayeredSource(repo.objects, mine_objects), repo.objects.commit(based_on).root,
                                 repo.objects.commit(head_id).root, mine,
                                 policies=repository_policies(repo, None))
            if merged.conflicts:
                raise MergeConflictError(
                    f"update of {branch} overlaps with concurrent changes at "
                    + ", ".join(c.path or "/" for c in merged.conflicts[:5]), merged.conflicts)
            root, objects = merged.root, {**mine_objects, **merged.objects}
        else:
            state = repo.get(head_id) if head_id else None
            new = fn(state)
            validate(new)
            root, objects = write_tree(new)
        try:
            return repo._commit_once(root, objects, message, author, branch, head_id, metadata, True, (),
                                     "update")
        except RefConflictError as exc:
            if on_conflict == "merge" and head_id is not None:
                pending = (head_id, root, objects)
            left = deadline - time.monotonic()
            if left <= 0 or (retries is not None and attempt >= retries):
                raise UpdateContentionError(
                    f"update of {branch} lost the race {attempt + 1} time(s) in "
                    f"{time.monotonic() - started:.1f}s (budget {timeout:g}s); try again later",
                    ref, exc.expected, exc.actual) from None
            time.sleep(min(backoff(attempt), left))
            attempt += 1


def watch(repo: "Repository", branch: str, timeout: float | None = None,
          poll_interval: float = 0.1) -> Iterator[Commit]:
    """Yield commits as they land on ``branch``, oldest first, from the moment of the call.

    PostgreSQL stores are woken by LISTEN/NOTIFY; the others poll every ``poll_interval``
    seconds. With ``timeout``, stop after that many seconds without a new commit.
    """
    ref = refnames.branch_ref(branch)
    listener = getattr(repo.store, "connect_listener", None)
    conn = listener() if listener else None  # listen first, then read: no move slips between
    seen = repo._ref_target(ref)  # read now, not at the first next(): "from now on" means now
    return _watch_loop(repo, ref, seen, conn, timeout, poll_interval)


def _watch_loop(repo: "Repository", ref: str, seen: str | None, conn: Any, timeout: float | None,
                poll_interval: float) -> Iterator[Commit]:
    try:
        idle_since = time.monotonic()
        while True:
            current = repo._ref_target(ref)
            if current is not None and current != seen:
                yield from new_commits(repo, current, seen)
                seen = current
                idle_since = time.monotonic()
            # NOTIFYs queue on the listening connection, so with one the wait can be long.
            wait = poll_interval if conn is None else 1.0
            if timeout is not None:
                left = timeout - (time.monotonic() - idle_since)
                if left <= 0:
                    return
                wait = min(wait, left)
            if conn is not None:
                for _ in conn.notifies(timeout=wait, stop_after=1):
                    break
            else:
                time.sleep(wait)
    finally:
        if conn is not None:
            release = getattr(repo.store, "release_listener", None)
            release(conn) if release else conn.close()


def new_commits(repo: "Repository", tip: str, known: str | None) -> list[Commit]:
    """Commits reachable from ``tip`` but not from ``known``, oldest first."""
    get = repo.objects.commit
    fresh: list[Commit] = []
    stack, visited = [tip], {tip}
    while stack:
        c = get(stack.pop())
        if known is not None and is_ancestor(get, c.id, known):
            continue
        fresh.append(c)
        for p in c.parents:
            if p not in visited:
                visited.add(p)
                stack.append(p)
    return sorted(fresh, key=lambda c: (c.generation, c.timestamp, c.id))
