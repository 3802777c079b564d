"""The durable record of a purge in progress: what it erases, where it got to, the old->new map.

``refs/meta/purge-journal`` names a state tree written before any ref moves and advanced by
compare-and-swap as each step finishes (the step that moves the refs advances it in its own
transaction), so a purge killed at any point is finished by ``statevcs purge --continue``
or by running the same purge again. It holds ids and the pointer, never the erased value;
ids are strings in it, not links, so it keeps no old object alive. Its reflog is the trail.
``status`` and ``fsck`` report it while it exists (docs/erasure.md).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...errors import PurgeError, StateVCSError
from ...model.tree import read_tree, write_tree

if TYPE_CHECKING:
    from ...store.base import Transaction
    from ..repository.facade import Repository

#: The ref naming the journal of an unfinished purge (absent when none is).
JOURNAL_REF = "refs/meta/purge-journal"
#: The steps, in order; the journal names the last one finished.
STEPS = ("started", "refs-moved", "reflogs-expired", "recorded", "working-file", "collected", "wiped")
CONTINUE = "statevcs purge --continue"
#: Tests only: kill this process (SIGKILL) just before the named step (or "finish").
ENV_KILL_AT = "STATEVCS_TEST_PURGE_KILL_AT"


@dataclass(frozen=True)
class UnfinishedPurge:
    """A purge that started and has not finished: what it erases and where it stopped."""

    pointer: str
    step: str
    started: str
    who: str
    scope: str

    def describe(self) -> str:
        return (f"an interrupted purge of {self.pointer} ({self.scope}; step {self.step}, "
                f"started {self.started} by {self.who})")


def read_journal(repo: "Repository") -> tuple[str, dict[str, Any]] | None:
    """(node id, record) of the journal, or None when no purge is unfinished."""
    oid = repo.store.read_ref(JOURNAL_REF)
    if oid is None:
        return None
    try:
        record = read_tree(repo.objects, oid)
    except StateVCSError as exc:
        raise PurgeError(f"the journal of an unfinished purge ({JOURNAL_REF}) is unreadable: {exc}") from None
    if not isinstance(record, dict) or record.get("version") != 1 or record.get("step") not in STEPS:
        raise PurgeError(f"the journal of an unfinished purge ({JOURNAL_REF}) is not one this statevcs writes")
    return oid, record


def unfinished_purge(repo: "Repository") -> UnfinishedPurge | None:
    """The unfinished purge, if any (``status`` and ``fsck`` report it)."""
    found = read_journal(repo)
    if found is None:
        return None
    record = found[1]
    return UnfinishedPurge(record["pointer"], record["step"], record["started"], record["who"],
                           describe_scope(record["scope"]))


def describe_scope(scope: dict[str, Any]) -> str:
    if scope.get("all"):
        return "--all"
    if scope.get("branches"):
        return "--branch " + " --branch ".join(scope["branches"])
    return f"branch {scope.get('ref', '?')}"


def new_record(pointer: str, scope: dict[str, Any], who: str) -> dict[str, Any]:
    return {"version": 1, "pointer": pointer, "scope": scope, "who": who,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "step": "started",
            "map": {}, "tags": {}, "refs": {}, "scope_refs": [], "holding": 0, "still_held_by": [], "reflog_expired": 0,
            "removed": 0, "working_file": ""}


def stage(tx: "Transaction", record: dict[str, Any], old: str | None, who: str) -> str:
    """Write ``record`` as the journal in ``tx`` (compare-and-swap from ``old``); its new id."""
    root, objects = write_tree(record)
    tx.put_objects(objects)
    tx.set_ref(JOURNAL_REF, root, old, who, f"purge: {record['pointer']}: {record['step']}")
    return root


def advance(repo: "Repository", record: dict[str, Any], old: str, step: str, **changes: Any) -> str:
    """Mark ``step`` finished (with ``changes`` to the record), by compare-and-swap; the new
    id. ``record`` changes only once that is stored."""
    staged = {**record, **changes, "step": step}
    with repo.store.transaction() as tx:
        oid = stage(tx, staged, old, repo.author)
    record.update(staged)
    return oid


def finish(repo: "Repository", old: str) -> None:
    """Remove the journal: the purge is complete (its reflog keeps the trail)."""
    kill_point("finish")
    repo.store.delete_ref(JOURNAL_REF, old, repo.author, "purge: finished")


def kill_point(step: str) -> None:
    """Tests only: die here, as a crash would, when ``STATEVCS_TEST_PURGE_KILL_AT`` names ``step``."""
    if os.environ.get(ENV_KILL_AT) == step:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


__all__ = ["CONTINUE", "JOURNAL_REF", "STEPS", "UnfinishedPurge", "read_journal", "unfinished_purge"]
