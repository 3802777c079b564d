"""Erasure: remove the value at one pointer from every version of the state (docs/erasure.md).

A right-to-erasure request cannot be met by a new commit: history keeps the old value. Purge
rewrites history instead, as ``git filter-repo`` does (purge_rewrite.py), in steps recorded
in a journal (purge_journal.py) so that a purge killed at any point is finished by
``purge --continue`` or by running it again:

1. ``started``: the journal is written (pointer, scope) before anything moves;
2. ``refs-moved``: the rewritten commits are stored and the branches, tags and a detached
   HEAD move to them by compare-and-swap, with the old->new map in the journal, all in one
   transaction (commits made meanwhile are rewritten inside it; a lost race is retried
   with backoff, as ``update`` does);
3. ``reflogs-expired``: reflog entries that still reach old commits are deleted;
4. ``recorded``: the map goes to ``refs/meta/purges`` and each moved ref's reflog (with the
   journal's step, in one transaction: never twice);
5. ``working-file``: the working file's base follows the rewrite;
6. ``collected``: gc runs with ``prune=now``;
7. the store's free space is wiped (wipe.py) and the journal removed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...errors import PurgeError, PurgeInterruptedError, RefConflictError, StateVCSError
from ...model.pointer import parse_pointer
from ...model.refnames import HEAD, TAG_PREFIX
from ...model.tree import read_tree, write_tree
from ..core.writers import DEFAULT_UPDATE_TIMEOUT, backoff
from ..worktree.merge_state import refuse_during_merge
from . import purge_journal as journal
from .gc import gc
from .purge_rewrite import PURGED_KEY, Rewriter, expire_reflogs, scope_refs, still_held
from .wipe import settle, wipe_free_space

if TYPE_CHECKING:
    from ..repository.facade import Repository

#: The ref naming the record of past purges (a state tree: ``{"purges": [...]}``).
PURGES_REF = "refs/meta/purges"


@dataclass(frozen=True)
class PurgeReport:
    """What a purge did (or, with ``dry_run``, would do).

    ``map`` is old commit id -> new commit id for every rewritten commit; ``refs`` is
    ref -> (old value, new value) for every ref moved; ``holding`` counts the commits whose
    state held the pointer. ``still_held_by`` names refs outside the chosen history that
    still reach the value (it stays in the store until they are purged too)."""

    pointer: str
    map: dict[str, str]
    refs: dict[str, tuple[str, str]]
    holding: int
    reflog_expired: int = 0
    removed: int = 0
    still_held_by: tuple[str, ...] = ()
    working_file: str = ""
    dry_run: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    #: Always "": a free-space wipe that fails leaves the purge unfinished (PurgeInterruptedError).
    wipe_error: str = ""

    @property
    def rewritten(self) -> int:
        return len(self.map)


def purge(repo: "Repository", pointer: str, branches: list[str] | None = None, everything: bool = False,
          dry_run: bool = False, timeout: float = DEFAULT_UPDATE_TIMEOUT) -> PurgeReport:
    """Erase the value at ``pointer`` from the chosen history and from the store (module docstring).

    The same purge run again while its journal exists continues it; a different one is
    refused until that one finishes. ``timeout`` bounds the retries of the ref move."""
    tokens = list(parse_pointer(pointer))
    if not tokens:
        raise PurgeError("purge erases one value: the pointer '' names the whole state (give e.g. /users/42)")
    if everything and branches:
        raise PurgeError("purge takes branches or all=True, not both")
    refuse_during_merge(repo.meta_dir, "purging")
    spec = {"all": everything, "branches": list(branches) if branches else None,
            "ref": None if everything or branches else (repo.head_ref() or HEAD)}
    found = journal.read_journal(repo)
    if found is not None:
        record = found[1]
        if record["pointer"] != pointer or record["scope"] != spec:
            raise PurgeError(f"{journal.unfinished_purge(repo).describe()} must finish first: "  # type: ignore[union-attr]
                             f"run '{journal.CONTINUE}'")
        if dry_run:
            return _report(record, dry_run=True)
        return _drive(repo, found, None, timeout)
    scope, phrase = scope_refs(repo, spec["branches"], everything, spec["ref"])
    rewriter = Rewriter(repo, pointer, tokens)
    history = rewriter.history(scope)
    if not any(rewriter.holds(c.root) for c in history):
        raise PurgeError(f"{pointer} is in no commit reachable from {phrase}; nothing changed")
    rewriter.commits(history)
    moves = rewriter.moves(scope, repo.store.list_refs(TAG_PREFIX))
    still = still_held(repo, rewriter, set(moves) | set(scope))
    if dry_run:
        return PurgeReport(pointer, dict(rewriter.map), moves, rewriter.holding, still_held_by=still,
                           dry_run=True, tags=dict(rewriter.tags))
    record = journal.new_record(pointer, spec, repo.author)
    record["still_held_by"] = list(still)
    try:
        with repo.store.transaction() as tx:
            oid = journal.stage(tx, record, None, repo.author)
    except RefConflictError:  # another process started a purge meanwhile
        raise PurgeError(f"{journal.unfinished_purge(repo).describe()} must finish first: "  # type: ignore[union-attr]
                         f"run '{journal.CONTINUE}'") from None
    return _drive(repo, (oid, record), rewriter, timeout)


def purge_continue(repo: "Repository", timeout: float = DEFAULT_UPDATE_TIMEOUT) -> PurgeReport:
    """Finish the purge a crash or an error interrupted (PurgeError if none is unfinished)."""
    found = journal.read_journal(repo)
    if found is None:
        raise PurgeError("no purge to continue: none is unfinished")
    return _drive(repo, found, None, timeout)


def _drive(repo: "Repository", found: tuple[str, dict[str, Any]], rewriter: Rewriter | None,
           timeout: float) -> PurgeReport:
    """Run every step the journal does not yet name as done; errors name ``purge --continue``."""
    oid, record = found
    try:
        step = record["step"]
        if step == "started":
            journal.kill_point("refs")
            oid = _move_refs(repo, oid, record, rewriter, timeout)
        rewriter = Rewriter(repo, record["pointer"], list(parse_pointer(record["pointer"])), record["map"],
                            record["tags"], record["holding"])
        if _before(record, "reflogs-expired"):
            journal.kill_point("expire")
            expired = expire_reflogs(repo, rewriter, record["scope"]["all"], set(record["scope_refs"]))
            oid = journal.advance(repo, record, oid, "reflogs-expired", reflog_expired=record["reflog_expired"] + expired)
        if _before(record, "recorded"):
            journal.kill_point("record")
            oid = _record(repo, record, oid)
        if _before(record, "working-file"):
            journal.kill_point("working")
            oid = journal.advance(repo, record, oid, "working-file",
                                  working_file=_update_working_file(repo, record["map"]))
        if _before(record, "collected"):
            journal.kill_point("gc")
            removed = gc(repo, prune="now", expire="never", expire_unreachable="never").removed
            oid = journal.advance(repo, record, oid, "collected", removed=record["removed"] + removed)
        journal.kill_point("wipe")
        problem = wipe_free_space(repo.store)
        if problem:
            raise PurgeError(f"the erased bytes may linger in the database's free space: {problem}")
        journal.finish(repo, oid)
        settle(repo.store)
    except (StateVCSError, OSError) as exc:
        if isinstance(exc, PurgeInterruptedError):
            raise
        raise PurgeInterruptedError(
            f"the purge of {record['pointer']} stopped after step {record['step']}: {exc}; "
            f"run '{journal.CONTINUE}' to finish it") from exc
    finally:
        repo.objects.forget()
    return _report(record)


def _before(record: dict[str, Any], step: str) -> bool:
    return journal.STEPS.index(record["step"]) < journal.STEPS.index(step)


def _move_refs(repo: "Repository", oid: str, record: dict[str, Any], rewriter: Rewriter | None,
               timeout: float) -> str:
    """Step 2, the commit point: store the rewritten commits, move every ref of the scope and
    record the map in the journal, in one transaction. Refs that moved since the rewrite are
    read locked inside it and their new commits rewritten there; a lost race is retried."""
    pointer, spec, who = record["pointer"], record["scope"], repo.author
    rewriter = rewriter or Rewriter(repo, pointer, list(parse_pointer(pointer)))
    head_ref = repo.head_ref()
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        seen, _ = scope_refs(repo, spec["branches"], spec["all"], spec["ref"])
        rewriter.commits(rewriter.history(seen))
        try:
            with repo.store.transaction() as tx:
                scope, _ = scope_refs(repo, spec["branches"], spec["all"], spec["ref"])
                tags = repo.store.list_refs(TAG_PREFIX)
                locked = tx.lock_refs(list(dict.fromkeys([*scope, *tags])))
                scope = {n: v for n in scope if (v := locked[n]) is not None}
                tags = {n: v for n in tags if (v := locked[n]) is not None}
                changed = {n: v for n, v in scope.items() if seen.get(n) != v}
                if changed:  # commits made since the rewrite: rewritten here, where no writer moves them
                    rewriter.commits(rewriter.history(changed))
                moves = rewriter.moves(scope, tags)
                tx.put_objects(rewriter.objects)
                for name, (old, new) in moves.items():
                    tx.set_ref(name, new, old, who, f"purge: {pointer}")
                    if name == head_ref:
                        tx.log_ref(HEAD, old, new, who, f"purge: {pointer}")
                staged = {**record, "step": "refs-moved", "map": dict(rewriter.map), "tags": dict(rewriter.tags),
                          "refs": {k: list(v) for k, v in moves.items()}, "scope_refs": sorted(scope),
                          "holding": rewriter.holding}
                new_oid = journal.stage(tx, staged, oid, who)
            record.update(staged)
            return new_oid
        except RefConflictError as exc:
            if exc.ref == journal.JOURNAL_REF:
                raise PurgeError("another process is finishing this purge (its journal moved)") from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise PurgeError(f"the refs kept moving: lost the race {attempt + 1} time(s) in {timeout:g}s") from None
            time.sleep(min(backoff(attempt), left))
            attempt += 1


def _record(repo: "Repository", record: dict[str, Any], oid: str) -> str:
    """Step 4: keep the old->new map (``refs/meta/purges`` and a reflog entry per moved ref),
    in the transaction that marks the step done, so a resumed purge never records twice."""
    who = repo.author
    old_record = repo.store.read_ref(PURGES_REF)
    doc: Any = read_tree(repo.objects, old_record) if old_record else {}
    history = list(doc.get("purges", [])) if isinstance(doc, dict) else []
    history.append({"pointer": record["pointer"], "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "who": who, "map": dict(record["map"]), "refs": dict(record["refs"])})
    root, objects = write_tree({"purges": history})
    head_ref = repo.head_ref()
    staged = {**record, "step": "recorded"}
    with repo.store.transaction() as tx:
        tx.put_objects(objects)
        tx.set_ref(PURGES_REF, root, old_record, who, f"purge: {record['pointer']}")
        for name, (old, new) in record["refs"].items():
            why = f"purge: {record['pointer']} rewrote {len(record['map'])} commit(s); tip {old[:10]} -> {new[:10]}"
            tx.log_ref(name, None, new, who, why)
            if name == head_ref:
                tx.log_ref(HEAD, None, new, who, why)
        new_oid = journal.stage(tx, staged, oid, who)
    record.update(staged)
    return new_oid


def _report(record: dict[str, Any], dry_run: bool = False) -> PurgeReport:
    return PurgeReport(record["pointer"], dict(record["map"]), {k: (v[0], v[1]) for k, v in record["refs"].items()},
                       record["holding"], record["reflog_expired"], record["removed"],
                       tuple(record["still_held_by"]), record["working_file"], dry_run, dict(record["tags"]))


def purge_history(repo: "Repository") -> list[dict[str, Any]]:
    """The recorded purges, oldest first: pointer, time, who, map (old -> new commit), refs."""
    oid = repo.store.read_ref(PURGES_REF)
    doc = read_tree(repo.objects, oid) if oid else {}
    return list(doc.get("purges", [])) if isinstance(doc, dict) else []


def _update_working_file(repo: "Repository", mapping: dict[str, str]) -> str:
    """Move the working file's base to the rewritten commit; reload it when it had no edits."""
    if not repo.workdir:
        return ""
    try:
        wf = repo.working_file
        base = wf.base()
        if not isinstance(base, str) or base not in mapping:
            return ""
        with wf.locked():
            if repo.working_root() == repo.objects.commit(base).root:
                wf.load(repo.get(mapping[base]), mapping[base])
                return "reloaded"
            wf.record_base(mapping[base])
            return "has edits: check it for the erased value"
    except StateVCSError:
        return "not updated (unreadable)"


__all__ = ["PURGED_KEY", "PURGES_REF", "PurgeReport", "purge", "purge_continue", "purge_history",
           "wipe_free_space"]
