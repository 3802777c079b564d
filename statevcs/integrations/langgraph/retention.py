"""Retention per thread: keep a thread's newest checkpoints (a number of them, or those
newer than an age) and drop the older ones with their pending writes.

Used by ``StateVCSSaver(keep_last=N, max_age=AGE)`` after its puts, and by
``statevcs lg prune THREAD --keep N | --since AGE``. Each namespace of the thread keeps
its newest checkpoints (first parents from its branch head, always the head itself);
the oldest kept becomes a root commit and the kept ones are re-made on it (same states,
records and times, new commit ids), and the branch moves in one compare-and-swap
transaction that also deletes the dropped checkpoints' pending writes. Every checkpoint
holds its whole state (delta channels included: their logs are in the state, see
delta.py), so the thread resumes, replays and forks from any kept checkpoint. The old
commits stay reachable from the reflog until it expires; ``gc`` then reclaims them.

Pure JSON work: nothing here imports LangGraph.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ...errors import InvalidAgeError, InvalidPruneError, RevisionNotFoundError
from ...porcelain.repository.facade import Repository
from ...porcelain.upkeep.ages import parse_age
from . import naming
from .threads import checkpoint_record, rewrite_thread, thread_chain, thread_refs


@dataclass(frozen=True)
class ThreadPrune:
    """What pruning a thread did, per namespace (``""`` is the root graph's)."""

    thread_id: str
    kept: dict[str, int]
    dropped: dict[str, int]
    heads: dict[str, str]  # namespace -> its branch head after pruning

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())


def check_keep(keep: Any) -> int:
    """``keep`` as a number of checkpoints (at least 1); InvalidPruneError otherwise."""
    if type(keep) is not int or keep < 1:
        raise InvalidPruneError(f"keep must be a whole number of checkpoints, at least 1 (the head), not {keep!r}")
    return keep


def cutoff_time(since: Any, now: datetime | None = None) -> datetime:
    """The oldest time kept: ``since`` as a datetime, an ISO date or time (UTC when it has no
    zone), or an age (``30d``, ``12h``, a timedelta, seconds) before ``now``. InvalidAgeError
    otherwise."""
    now = now or datetime.now(timezone.utc)
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    if isinstance(since, str):
        try:
            parsed = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        age = parse_age(since)
    except InvalidAgeError:
        raise InvalidAgeError(f"cannot read {since!r} as an age or a date (use e.g. 30d, 12h, 2024-05-01)") from None
    if age is None:
        raise InvalidAgeError("an age of 'never' keeps nothing; give an age (30d) or a date")
    return now - age


def max_age(value: Any) -> timedelta | None:
    """A saver's ``max_age``: a timedelta, seconds or text (``7d``); None for no limit."""
    if value is None:
        return None
    age = parse_age(value)
    if age is None:
        raise InvalidAgeError("max_age 'never' keeps nothing; leave max_age unset for no limit")
    return age


def namespace_heads(repo: Repository, thread_id: str) -> dict[str, str]:
    """Namespace -> branch head of a thread."""
    heads = {}
    for ref, value in thread_refs(repo.store, thread_id).items():
        parsed = naming.parse_thread_ref(ref)
        if parsed is not None and not value.startswith("ref: "):
            heads[parsed[1]] = value
    return heads


def prune_namespace(repo: Repository, thread_id: str, ns: str, head: str, keep: int | None = None,
                    cutoff: datetime | None = None) -> tuple[str, int, int, dict[str, str]]:
    """Keep the newest ``keep`` checkpoints of one namespace and those made at or after
    ``cutoff`` (both limits when both are given; always the head): (new head, kept, dropped,
    the pending-writes refs deleted). RefConflictError if the branch moved meanwhile
    (nothing is written then)."""
    chain = list(thread_chain(repo, head))
    count = len(chain) if keep is None else min(keep, len(chain))
    if cutoff is not None:
        fresh = next((i for i, c in enumerate(chain) if c.timestamp < cutoff), len(chain))
        count = min(count, fresh)
    count = max(count, 1)
    if count == len(chain):
        return head, count, 0, {}
    deleted = rewrite_thread(repo, thread_id, ns, head, chain[:count], lambda c: checkpoint_record(repo, c),
                             f"langgraph: kept the newest {count} checkpoint(s)")
    return repo.store.read_ref(naming.thread_ref(thread_id, ns)) or head, count, len(chain) - count, deleted


def prune_thread(repo: Repository, thread_id: str, keep: int | None = None, since: Any = None) -> ThreadPrune:
    """Keep each namespace of a thread to its newest ``keep`` checkpoints, or to those made
    at or after ``since`` (a date or an age): exactly one of them. RevisionNotFoundError if
    the repository has no such thread; InvalidPruneError / InvalidAgeError for bad limits."""
    if (keep is None) == (since is None):
        raise InvalidPruneError("pruning a thread needs exactly one of keep (a number of checkpoints) and since "
                                "(an age or a date)")
    keep = check_keep(keep) if keep is not None else None
    cutoff = cutoff_time(since) if since is not None else None
    heads = namespace_heads(repo, thread_id)
    if not heads:
        raise RevisionNotFoundError(f"no thread {thread_id!r} in this repository (no branch "
                                    f"{naming.thread_branch(thread_id)})")
    kept, dropped, new_heads = {}, {}, {}
    for ns, head in sorted(heads.items()):
        new_heads[ns], kept[ns], dropped[ns], _ = prune_namespace(repo, thread_id, ns, head, keep, cutoff)
    return ThreadPrune(str(thread_id), kept, dropped, new_heads)
