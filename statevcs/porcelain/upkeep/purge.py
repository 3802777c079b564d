"""Erasure: remove the value at one pointer from every version of the state (docs/erasure.md).

A right-to-erasure request cannot be met by a new commit: history keeps the old value. Purge
rewrites history instead, as ``git filter-repo`` does:

1. every commit of the chosen history, oldest first (by generation, so parents come first),
   is rewritten with the pointer removed from its state and its parents mapped to their new
   ids; merges stay merges, author/time/message/metadata are kept, and a ``purged`` note
   lists the pointers erased from that commit's state. A commit whose state did not hold the
   pointer is rewritten only when a parent was (its parents changed);
2. branches, tags (annotated ones re-created, pointing at the new commit) and a detached HEAD
   move to the rewritten commits by compare-and-swap, in one transaction;
3. reflog entries that still reach old commits are expired, the old->new map is recorded
   (a reflog entry per moved ref and ``refs/meta/purges``), and gc runs with ``prune=now``;
4. the store's free space is wiped: SQLite checkpoints its WAL and VACUUMs, PostgreSQL runs
   ``VACUUM FULL`` on its objects and reflog tables, so the bytes are gone from the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable

from ...algo.history import walk
from ...errors import ObjectNotFoundError, PurgeError, RevisionNotFoundError, StateVCSError
from ...model import refnames
from ...model.missing import MISSING
from ...model.objects import COMMIT, TAG, Commit, Ref, encode_commit, encode_tag, is_object_id
from ...model.pointer import parse_pointer
from ...model.refnames import BRANCH_PREFIX, HEAD, REMOTE_PREFIX, TAG_PREFIX
from ...model.tree import child_at, read_tree, write_tree
from ...model.treegraft import graft
from ...store.base import SYMBOLIC_PREFIX
from ..worktree.merge_state import refuse_during_merge
from .gc import gc

if TYPE_CHECKING:
    from ..repository.facade import Repository

#: The ref naming the record of past purges (a state tree: ``{"purges": [...]}``).
PURGES_REF = "refs/meta/purges"
#: The metadata key a rewritten commit lists its erased pointers under.
PURGED_KEY = "purged"


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
    #: Why the database's free space could not be wiped ("" when it was).
    wipe_error: str = ""

    @property
    def rewritten(self) -> int:
        return len(self.map)


def _scope(repo: "Repository", branches: list[str] | None, everything: bool) -> tuple[dict[str, str], str]:
    """The refs whose history is rewritten (name -> value), and a phrase naming them."""
    if everything:
        refs = {name: value for name, value in repo.store.list_refs().items()
                if name.startswith((BRANCH_PREFIX, TAG_PREFIX, REMOTE_PREFIX))}
        head = repo.store.read_ref(HEAD)
        if head is not None and not head.startswith(SYMBOLIC_PREFIX):
            refs[HEAD] = head
        return refs, "any branch, tag or remote-tracking ref"
    if branches:
        refs = {}
        for branch in branches:
            ref = refnames.branch_ref(branch)
            value = repo.store.read_ref(ref)
            if value is None:
                raise RevisionNotFoundError(f"no branch named {branch!r}")
            refs[ref] = value
        return refs, "branch " + ", ".join(branches)
    ref = repo.head_ref() or HEAD
    value = repo._ref_target(ref)
    if value is None:
        raise PurgeError(f"{refnames.short_name(ref)} has no commits: nothing to purge")
    return {ref: value}, refnames.short_name(ref)


def _peel(repo: "Repository", oid: str) -> str | None:
    """The commit an id names through annotated tags, or None (a node, or a missing object)."""
    try:
        for _ in range(100):
            kind = repo.objects.kind(oid)
            if kind == TAG:
                oid = repo.objects.tag(oid).target
            elif kind == COMMIT:
                return oid
            else:
                return None
    except ObjectNotFoundError:
        return None
    return None


class _Rewriter:
    """Rewrites commits and tags of one purge, remembering old -> new ids and new objects."""

    def __init__(self, repo: "Repository", pointer: str, tokens: list[str]) -> None:
        self.repo = repo
        self.pointer = pointer
        self.tokens = tokens
        self.map: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.objects: dict[str, bytes] = {}
        self._roots: dict[str, str] = {}
        self._holds: dict[str, bool] = {}
        self.holding = 0

    def holds(self, root: str) -> bool:
        found = self._holds.get(root)
        if found is None:
            found = self._holds[root] = child_at(self.repo.objects, Ref(root), self.tokens) is not MISSING
        return found

    def new_root(self, root: str) -> str:
        new = self._roots.get(root)
        if new is None:
            new, objects = graft(self.repo.objects, root, self.tokens, MISSING)
            self.objects.update(objects)
            self._roots[root] = new
        return new

    def commits(self, commits: Iterable[Commit]) -> None:
        for c in sorted(commits, key=lambda c: c.generation):  # parents before children
            parents = tuple(self.map.get(p, p) for p in c.parents)
            holds = self.holds(c.root)
            root = self.new_root(c.root) if holds else c.root
            if root == c.root and parents == c.parents:
                continue
            self.holding += holds
            metadata = {k: self.map.get(v, v) if isinstance(v, str) else v for k, v in c.metadata.items()}
            if holds:
                noted = metadata.get(PURGED_KEY)
                metadata[PURGED_KEY] = (list(noted) if isinstance(noted, list) else []) + [self.pointer]
            commit, raw = encode_commit(root, parents, c.generation, c.author, c.timestamp, c.message, metadata)
            self.objects[commit.id] = raw
            self.map[c.id] = commit.id

    def ref_value(self, value: str) -> str | None:
        """The new value for a ref holding ``value`` (a commit or an annotated tag), or None if unchanged."""
        if value in self.map:
            return self.map[value]
        if value in self.tags:
            return self.tags[value]
        try:
            if not is_object_id(value) or self.repo.objects.kind(value) != TAG:
                return None
        except ObjectNotFoundError:
            return None
        tag = self.repo.objects.tag(value)
        target = self.ref_value(tag.target)
        if target is None:
            return None
        new, raw = encode_tag(target, tag.name, tag.tagger, tag.timestamp, tag.message)
        self.objects[new.id] = raw
        self.tags[value] = new.id
        return new.id


def purge(repo: "Repository", pointer: str, branches: list[str] | None = None, everything: bool = False,
          dry_run: bool = False) -> PurgeReport:
    """Erase the value at ``pointer`` from the chosen history and from the store (module docstring)."""
    tokens = list(parse_pointer(pointer))
    if not tokens:
        raise PurgeError("purge erases one value: the pointer '' names the whole state (give e.g. /users/42)")
    if everything and branches:
        raise PurgeError("purge takes branches or all=True, not both")
    refuse_during_merge(repo.meta_dir, "purging")
    scope, phrase = _scope(repo, branches, everything)
    starts = [c for c in (_peel(repo, v) for v in scope.values()) if c is not None]
    history = list(walk(repo.objects.commit, list(dict.fromkeys(starts))))
    rewriter = _Rewriter(repo, pointer, tokens)
    if not any(rewriter.holds(c.root) for c in history):
        raise PurgeError(f"{pointer} is in no commit reachable from {phrase}; nothing changed")
    rewriter.commits(history)

    # Refs to move: the chosen ones, and every tag whose commit was rewritten.
    candidates = dict(scope)
    for name, value in repo.store.list_refs(TAG_PREFIX).items():
        candidates.setdefault(name, value)
    moves: dict[str, tuple[str, str]] = {}
    for name, value in candidates.items():
        new = rewriter.ref_value(value)
        if new is not None:
            moves[name] = (value, new)
    still = _still_held(repo, rewriter, set(moves) | set(scope))
    report = PurgeReport(pointer, dict(rewriter.map), moves, rewriter.holding, still_held_by=still,
                         dry_run=dry_run, tags=dict(rewriter.tags))
    if dry_run:
        return report

    who = repo.author
    head_ref = repo.head_ref()
    with repo.store.transaction() as tx:
        tx.put_objects(rewriter.objects)
        for name, (old, new) in moves.items():
            tx.set_ref(name, new, old, who, f"purge: {pointer}")
            if name == head_ref:
                tx.log_ref(HEAD, old, new, who, f"purge: {pointer}")
    expired = _expire_reflogs(repo, rewriter, everything, set(scope))
    _record(repo, report, moves)
    working = _update_working_file(repo, rewriter.map)
    collected = gc(repo, prune="now", expire="never", expire_unreachable="never")
    wipe_error = wipe_free_space(repo.store)
    repo.objects.forget()
    return PurgeReport(report.pointer, report.map, moves, report.holding, expired, collected.removed, still,
                       working, False, report.tags, wipe_error)


def _still_held(repo: "Repository", rewriter: _Rewriter, moved: set[str]) -> tuple[str, ...]:
    """Refs left where they are whose history still holds the value (a rewritten commit, or
    one whose state holds the pointer)."""
    out = []
    for name, value in repo.store.list_refs().items():
        if name in moved or not name.startswith((BRANCH_PREFIX, TAG_PREFIX, REMOTE_PREFIX)):
            continue
        tip = _peel(repo, value)
        if tip is not None and _tainted(repo, rewriter, tip, {}):
            out.append(name)
    return tuple(out)


def _tainted(repo: "Repository", rewriter: _Rewriter, oid: str, memo: dict[str, bool]) -> bool:
    """Does commit ``oid``'s history reach the erased value (an old rewritten commit, or any
    commit whose state holds the pointer)?"""
    if oid in memo:
        return memo[oid]
    seen: list[str] = []
    found = False
    try:
        for c in walk(repo.objects.commit, [oid]):
            seen.append(c.id)
            if c.id in rewriter.map or memo.get(c.id) or rewriter.holds(c.root):
                found = True
                break
    except ObjectNotFoundError:  # part of the history is gone: what is left is judged
        pass
    if not found:
        for s in seen:
            memo[s] = False
    memo[oid] = found
    return found


def _expire_reflogs(repo: "Repository", rewriter: _Rewriter, everything: bool, scope: set[str]) -> int:
    """Delete reflog entries naming an old (rewritten) commit or tag, in every reflog; in the
    reflogs of the purged refs (all of them with ``everything``), also entries naming any
    commit whose history holds the value (e.g. one a reset left behind)."""
    store = repo.store
    memo: dict[str, bool] = {}

    def bad(value: str | None, deep: bool) -> bool:
        if value is None or value.startswith(SYMBOLIC_PREFIX):
            return False
        if value in rewriter.map or value in rewriter.tags:
            return True
        if not deep:
            return False
        tip = _peel(repo, value)
        return tip is not None and _tainted(repo, rewriter, tip, memo)

    later = store.now() + timedelta(days=1)
    total = 0
    for name in store.reflog_names():
        deep = everything or name in scope or name == HEAD
        total += store.expire_reflog(name, later, lambda old, new, d=deep: not bad(old, d) and not bad(new, d))
    return total


def _record(repo: "Repository", report: PurgeReport, moves: dict[str, tuple[str, str]]) -> None:
    """Keep the old->new map: one reflog entry per moved ref, and an entry in ``refs/meta/purges``."""
    who = repo.author
    now = datetime.now(timezone.utc)
    old_record = repo.store.read_ref(PURGES_REF)
    doc: Any = read_tree(repo.objects, old_record) if old_record else {}
    history = list(doc.get("purges", [])) if isinstance(doc, dict) else []
    history.append({"pointer": report.pointer, "time": now.isoformat(timespec="seconds"), "who": who,
                    "map": dict(report.map), "refs": {k: list(v) for k, v in moves.items()}})
    root, objects = write_tree({"purges": history})
    head_ref = repo.head_ref()
    with repo.store.transaction() as tx:
        tx.put_objects(objects)
        tx.set_ref(PURGES_REF, root, old_record, who, f"purge: {report.pointer}")
        for name, (old, new) in moves.items():
            why = f"purge: {report.pointer} rewrote {report.rewritten} commit(s); tip {old[:10]} -> {new[:10]}"
            tx.log_ref(name, None, new, who, why)
            if name == head_ref:
                tx.log_ref(HEAD, None, new, who, why)


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


def wipe_free_space(store: Any) -> str:
    """Make deleted rows unrecoverable from the database files: SQLite checkpoints the WAL
    and VACUUMs; PostgreSQL rewrites the objects and reflog tables (``VACUUM FULL``).

    Returns "" when done, else why the free space could not be wiped (the purge itself
    stands: the objects are deleted, but their bytes may linger in free pages)."""
    from ...store.sqlite import SQLiteStore

    while hasattr(store, "inner"):  # a wrapping store (encryption at rest): wipe the files below it
        store = store.inner
    if isinstance(store, SQLiteStore):
        conn = store._conn()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return ""
    try:
        from ...store.postgres import PostgresStore
    except ImportError:  # pragma: no cover - psycopg missing: no PostgreSQL store either
        return ""
    if isinstance(store, PostgresStore):
        with store._guard():
            conn = store._conn()
            for table in ("statevcs_objects", "statevcs_reflog"):
                try:
                    conn.execute(f"VACUUM FULL {table}")
                except Exception as exc:  # e.g. not the table's owner: say so, never pretend
                    return f"VACUUM FULL {table} failed ({str(exc).splitlines()[0]}); run it as the table's owner"
    return ""


__all__ = ["PURGES_REF", "PurgeReport", "purge", "purge_history", "wipe_free_space"]
