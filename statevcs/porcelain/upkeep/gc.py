"""Garbage collection: expire old reflog entries, mark what refs, reflogs and recent
objects reach, and delete the rest, safely while other processes write (docs/gc.md).

The protocol in short: objects written within the grace period (``prune``) are roots, so
a transfer's not-yet-referenced batches survive; the mark runs without locks; the sweep
holds the store's gc lock (no write transaction in flight or starting), re-marks from
whatever changed since the mark began, and deletes only candidates still unreachable and
still older than the cutoff. Everything streams in pages except the set of marked ids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ...algo.history import walk
from ...errors import ObjectNotFoundError, StateVCSError
from ...model.nodes import child_ids
from ...model.objects import COMMIT, TAG, is_object_id
from ...store.base import SYMBOLIC_PREFIX, Store
from ..worktree.merge_state import MergeState
from .ages import Age, parse_age
from .retention import expire_branches

if TYPE_CHECKING:
    from ..repository.facade import Repository

#: Unreachable objects younger than this are kept (git's default: two weeks).
DEFAULT_PRUNE = timedelta(weeks=2)
#: Reflog entries older than this are expired (git's gc.reflogExpire).
DEFAULT_EXPIRE = timedelta(days=90)
#: Reflog entries whose commit the ref's tip no longer reaches expire sooner (gc.reflogExpireUnreachable).
DEFAULT_EXPIRE_UNREACHABLE = timedelta(days=30)

_BATCH = 1000
@dataclass(frozen=True)
class GcReport:
    """What gc did: objects kept and removed, reflog entries expired."""

    kept: int
    removed: int
    reflog_expired: int = 0
    #: Branches deleted because their expiry had passed (docs/retention.md).
    branches_expired: tuple[str, ...] = ()


class _Marker:
    """The set of ids reachable from the roots given so far (each object read once, in batches)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: set[str] = set()

    def mark(self, roots: Iterable[str]) -> None:
        batch: list[str] = []
        for value in roots:
            if value in self.seen or not is_object_id(value):  # symbolic refs name no object
                continue
            batch.append(value)
            if len(batch) >= _BATCH:
                self._walk(batch)
                batch = []
        if batch:
            self._walk(batch)

    def _walk(self, frontier: list[str]) -> None:
        level = [o for o in dict.fromkeys(frontier) if o not in self.seen]
        while level:
            self.seen.update(level)
            found = self.store.get_many(level)  # verified; an absent one is fsck's business, not ours
            # ...but an id absent now may be written later in this gc: leave it unmarked, so
            # that marking it again then also walks what it links to.
            self.seen.difference_update(o for o in level if o not in found)
            nxt: dict[str, None] = {}
            for oid, raw in found.items():
                for child in child_ids(raw, oid):  # CorruptObjectError stops gc: nothing is deleted
                    if child not in self.seen:
                        nxt[child] = None
            level = list(nxt)


def _counted(ids: Iterator[str], counter: list[int]) -> Iterator[str]:
    for oid in ids:
        counter[0] += 1
        yield oid


def _merge_in_progress(repo: "Repository") -> list[str]:
    """The commits a merge waiting for conflict resolution needs (its saved state is a file,
    not a ref): ``merge --continue`` and ``--abort`` must find them after a gc."""
    if not repo.meta_dir:
        return []
    try:
        state = MergeState.load(repo.meta_dir)
    except StateVCSError:  # a damaged one is for --abort to clear; it names nothing to keep
        return []
    return [] if state is None else [state.source, state.target_head, *state.bases]


def _tick(store: Any) -> Any:
    """The store's clock once it has moved past the last write before the lock.

    Write times have a finite resolution (milliseconds on SQLite): an object written just
    before the lock may carry the same time as ``store.now()``. Waiting for the clock to
    tick (the lock keeps writers out meanwhile) makes every earlier write strictly older
    than the returned time, so ``--prune=now`` removes it, and every later one newer."""
    first = _millisecond(store.now())
    for _ in range(100):
        now = store.now()
        if _millisecond(now) > first:  # stores keep write times to the millisecond (SQLite)
            return now
        time.sleep(0.001)
    return store.now()


def _millisecond(when: Any) -> Any:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def gc(repo: "Repository", prune: Age = DEFAULT_PRUNE, expire: Age = DEFAULT_EXPIRE,
       expire_unreachable: Age = DEFAULT_EXPIRE_UNREACHABLE) -> GcReport:
    """Expire old reflog entries, then delete objects that no ref, reflog entry or object
    written within ``prune`` reaches. Safe while other processes commit, update and push."""
    store = repo.store
    grace = parse_age(prune)
    gone = expire_branches(repo)  # first: their commits become collectable like any unreachable ones
    expired = expire_reflogs(repo, expire, expire_unreachable)
    with store.gc_lock():  # no write in flight: every later write has a later time and reflog seq
        start, seq0 = _tick(store), store.reflog_seq()
    if grace is None:  # --prune=never
        return GcReport(kept=sum(1 for _ in store.iter_ids()), removed=0, reflog_expired=expired,
                        branches_expired=gone)
    cutoff = start - grace
    marker = _Marker(store)
    # Mark, without locks: refs, reflogs of existing refs, and every recent object.
    refs = store.list_refs()
    marker.mark(refs.values())
    marker.mark(_merge_in_progress(repo))
    marker.mark(store.iter_reflog_targets())
    counted = [0]
    marker.mark(_counted(store.iter_ids(written_since=cutoff), counted))
    candidates = [oid for oid in _counted(store.iter_ids(written_before=cutoff), counted) if oid not in marker.seen]
    removed = 0
    if candidates:
        with store.gc_lock():
            # Re-mark from what changed since `start`; no writer can move anything meanwhile.
            now_refs = store.list_refs()
            marker.mark(now_refs.values())
            marker.mark(_merge_in_progress(repo))
            marker.mark(store.iter_reflog_targets(after_seq=seq0))
            if new_names := set(now_refs) - set(refs):
                marker.mark(store.iter_reflog_targets(names=new_names))
            marker.mark(store.iter_ids(written_since=start))
            garbage = [oid for oid in candidates if oid not in marker.seen]
            if garbage:  # a candidate put again since the scan has a fresh time and stays
                store.bump_gc_epoch()  # a transfer that planned before this re-plans (docs/gc.md)
                removed = store.delete_objects(garbage, written_before=cutoff)
    repo.objects.forget()
    return GcReport(kept=counted[0] - removed, removed=removed, reflog_expired=expired, branches_expired=gone)


def expire_reflogs(repo: "Repository", expire: Age = DEFAULT_EXPIRE,
                   expire_unreachable: Age = DEFAULT_EXPIRE_UNREACHABLE) -> int:
    """Delete reflog entries older than ``expire``, and those older than ``expire_unreachable``
    whose commit the ref's current tip does not reach (all of a deleted ref's). Returns how many."""
    store = repo.store
    old, unreachable = parse_age(expire), parse_age(expire_unreachable)
    now = store.now()
    refs = store.list_refs()
    total = 0
    for name in store.reflog_names():
        if old is not None:
            total += store.expire_reflog(name, now - old)
        if unreachable is not None and (old is None or unreachable < old):
            total += store.expire_reflog(name, now - unreachable, _reached_by(repo, _tip(refs, name)))
    return total


def _tip(refs: dict[str, str], name: str) -> str | None:
    value = refs.get(name)
    for _ in range(10):  # symbolic refs (HEAD) name their branch's commit
        if value is None or not value.startswith(SYMBOLIC_PREFIX):
            return value
        value = refs.get(value[len(SYMBOLIC_PREFIX):])
    return None


def _reached_by(repo: "Repository", tip: str | None) -> Callable[[str | None, str | None], bool]:
    """A predicate on a reflog entry's (old, new): does the ref's ``tip`` reach both? (as git's
    expire-unreachable decides; an absent or symbolic side counts as reached). Ancestry is built on first use.

    A ref whose tip is not a commit (``refs/meta/*`` name state nodes: rules, expiries, purge
    records) has no history to reach: all its entries count as reached and expire by age alone."""
    ancestors: set[str] | None = None
    everything = False

    def reached(value: str | None) -> bool:
        nonlocal ancestors, everything
        if value is None or value.startswith(SYMBOLIC_PREFIX):  # HEAD re-pointed: no commit to judge
            return True
        if tip is None:
            return False
        if ancestors is None and not everything:
            try:
                oid = tip
                found = {oid}
                while (kind := repo.objects.kind(oid)) == TAG:
                    oid = repo.objects.tag(oid).target
                    found.add(oid)
                if kind == COMMIT:
                    found.update(c.id for c in walk(repo.objects.commit, [oid]))
                    ancestors = found
                else:
                    everything = True
            except ObjectNotFoundError:  # a damaged history: keep what cannot be judged
                return True
        return everything or value in ancestors  # type: ignore[operator]

    return lambda old, new: reached(old) and reached(new)


def reachable(repo: "Repository") -> set[str]:
    """Every object reachable from refs and from the reflogs of existing refs (as git keeps them)."""
    marker = _Marker(repo.store)
    marker.mark(repo.store.list_refs().values())
    marker.mark(repo.store.iter_reflog_targets())
    return repo.store.has_many(marker.seen)
