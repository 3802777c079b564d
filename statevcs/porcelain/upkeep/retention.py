"""Retention: branches that expire, and squashing a branch's old history into one commit.

Branch expiry is repository data every store keeps: the ref ``refs/meta/expiry`` points at
a state node holding ``{branch: {"expires", "set", "by"}}`` (docs/retention.md). It moves by
compare-and-swap in the same transaction as the branch it describes, so its reflog is the
audit trail, and gc (which calls ``expire_branches``) deletes expired branches with a
reflog entry naming the expiry.

``prune`` rewrites a branch as one root commit holding the state of the newest dropped
commit, with the kept commits replayed on top (same states, authors, times, messages; new
ids). All objects are written, then the branch moves by one compare-and-swap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Union

from ...algo.history import walk
from ...errors import (
    InvalidAgeError,
    InvalidPruneError,
    RefConflictError,
    RefExistsError,
    RevisionNotFoundError,
    SharedHistoryError,
)
from ...model import refnames
from ...model.objects import Commit, encode_commit, format_time, parse_time
from ...model.refnames import BRANCH_PREFIX, HEAD
from ...model.tree import read_tree, write_tree
from ...store.base import ANY, SYMBOLIC_PREFIX
from .ages import parse_age

if TYPE_CHECKING:
    from ..repository.facade import Repository

#: The ref whose node holds every branch's expiry.
EXPIRY_REF = "refs/meta/expiry"

#: When a branch expires: an age from now (timedelta, seconds, ``"2h"``), a datetime, or None/``"never"``.
Expiry = Union[timedelta, datetime, int, float, str, None]

_RETRIES = 20


@dataclass(frozen=True)
class BranchExpiry:
    """A branch's expiry: when, and who set it when."""

    branch: str
    expires: datetime
    set_at: datetime
    set_by: str

    @property
    def expired(self) -> bool:
        return self.expires <= datetime.now(timezone.utc)


def expiry_time(expires: Expiry, now: datetime | None = None) -> datetime | None:
    """The moment ``expires`` names (None for ``None``/``"never"``); InvalidAgeError otherwise."""
    if expires is None:
        return None
    if isinstance(expires, datetime):
        return expires.astimezone(timezone.utc) if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
    age = parse_age(expires)
    if age is None:
        return None
    return (now or datetime.now(timezone.utc)) + age


def _decode(value: str | None, repo: "Repository") -> dict[str, Any]:
    if value is None:
        return {}
    table = read_tree(repo.objects, value)
    return table if isinstance(table, dict) else {}


def branch_expiries(repo: "Repository") -> dict[str, BranchExpiry]:
    """Branch name -> its expiry, for the branches that have one (and still exist)."""
    table = _decode(repo.store.read_ref(EXPIRY_REF), repo)
    branches = repo.store.list_refs(BRANCH_PREFIX)
    out = {}
    for name, entry in sorted(table.items()):
        if BRANCH_PREFIX + name in branches and not _stale(repo, name, entry):
            out[name] = _entry(name, entry)
    return out


def _entry(name: str, entry: dict[str, Any]) -> BranchExpiry:
    return BranchExpiry(name, parse_time(entry["expires"]), parse_time(entry["set"]), str(entry.get("by", "")))


def _stale(repo: "Repository", name: str, entry: Any) -> bool:
    """Is an expiry entry left over from a branch of that name that was deleted since it was set?"""
    try:
        set_at = parse_time(entry["set"])
        parse_time(entry["expires"])
    except (KeyError, TypeError, ValueError):
        return True  # not an entry this version wrote: ignore it rather than delete a branch
    for log in repo.store.reflog(BRANCH_PREFIX + name):
        if log.when < set_at:
            break
        if log.new is None:
            return True
    return False


def _write_table(repo: "Repository", name: str, entry: dict[str, Any] | None,
                 branch_move: tuple[str, str, object] | None, why: str) -> None:
    """In one transaction: optionally move a branch, and set (or drop) ``name``'s expiry entry.
    A lost race on the expiry ref alone (another branch's expiry set meanwhile) is retried."""
    for attempt in range(_RETRIES):
        old = repo.store.read_ref(EXPIRY_REF)
        table = _decode(old, repo)
        if entry is None:
            table.pop(name, None)
        else:
            table[name] = entry
        moves: list[tuple[str, str | None, object]] = []
        if branch_move is not None:
            moves.append(branch_move)
        objects: dict[str, bytes] = {}
        if table != _decode(old, repo):
            if table:
                root, objects = write_tree(table)
                moves.append((EXPIRY_REF, root, old))
            elif old is not None:
                moves.append((EXPIRY_REF, None, old))
        if not moves:
            return
        try:
            repo._write(objects, moves, why)
            return
        except RefExistsError:
            raise
        except RefConflictError as exc:
            if exc.ref != EXPIRY_REF or attempt == _RETRIES - 1:
                raise


def create_branch(repo: "Repository", name: str, start: Any = HEAD, force: bool = False,
                  expires: Expiry = None) -> str:
    """Create branch ``name`` at ``start`` with an expiry (or none: any left from a deleted
    branch of that name is cleared), branch and expiry in one transaction."""
    ref = refnames.branch_ref(name)
    target = repo.rev_parse(start)
    when = expiry_time(expires)
    entry = None
    if when is not None:
        entry = {"expires": format_time(when), "set": format_time(datetime.now(timezone.utc)), "by": repo.author}
    label = start if isinstance(start, str) else target[:10]
    why = f"branch: created from {label}" + (f", expires {format_time(when)}" if when else "")
    try:
        _write_table(repo, name, entry, (ref, target, ANY if force else None), why)
    except RefExistsError as exc:
        if exc.ref == EXPIRY_REF:
            raise
        raise RefExistsError(f"a branch named {name!r} already exists", ref) from None
    return target


def set_branch_expiry(repo: "Repository", name: str, expires: Expiry) -> datetime | None:
    """Set (or with None/``"never"`` clear) an existing branch's expiry; returns the moment."""
    if repo.store.read_ref(refnames.branch_ref(name)) is None:
        raise RevisionNotFoundError(f"no branch named {name!r}")
    when = expiry_time(expires)
    entry = None
    if when is not None:
        entry = {"expires": format_time(when), "set": format_time(datetime.now(timezone.utc)), "by": repo.author}
    _write_table(repo, name, entry, None,
                 f"expiry: {name} expires {format_time(when)}" if when else f"expiry: {name} no longer expires")
    return when


def expire_branches(repo: "Repository", now: datetime | None = None) -> tuple[str, ...]:
    """Delete every branch whose expiry has passed (never the current branch), each with a
    reflog entry naming its expiry, and drop entries of branches that are gone. One
    transaction; returns the names of the branches deleted."""
    for attempt in range(_RETRIES):
        old = repo.store.read_ref(EXPIRY_REF)
        if old is None:
            return ()
        now_ = now or datetime.now(timezone.utc)
        table = _decode(old, repo)
        keep: dict[str, Any] = {}
        deletes: list[tuple[str, str, BranchExpiry]] = []
        current = repo.current_branch
        for name, entry in table.items():
            value = repo.store.read_ref(BRANCH_PREFIX + name)
            if value is None or _stale(repo, name, entry):
                continue
            info = _entry(name, entry)
            if info.expires > now_ or name == current:
                keep[name] = entry
            else:
                deletes.append((BRANCH_PREFIX + name, value, info))
        if keep == table:
            return ()
        try:
            with repo.store.transaction() as tx:
                if keep:
                    root, objects = write_tree(keep)
                    tx.put_objects(objects)
                    tx.set_ref(EXPIRY_REF, root, old, repo.author, f"expiry: {len(deletes)} branch(es) expired")
                else:
                    tx.delete_ref(EXPIRY_REF, old, repo.author, f"expiry: {len(deletes)} branch(es) expired")
                for ref, value, info in deletes:
                    tx.delete_ref(ref, value, repo.author,
                                  f"branch: expired (expiry {format_time(info.expires)}, set by {info.set_by} "
                                  f"at {format_time(info.set_at)})")
            return tuple(ref[len(BRANCH_PREFIX):] for ref, _, _ in deletes)
        except RefConflictError:
            if attempt == _RETRIES - 1:
                raise
    return ()


# ---------------------------------------------------------------- prune (squash old history)


@dataclass(frozen=True)
class PruneReport:
    """What prune did: the branch, its old and new tip, how many commits were squashed into
    the new root, and the old -> new id of every kept commit (oldest first)."""

    branch: str
    old_tip: str
    new_tip: str
    squashed: int
    rewritten: tuple[tuple[str, str], ...]
    root: str

    @property
    def id_map(self) -> dict[str, str]:
        return dict(self.rewritten)


def _first_parent_line(repo: "Repository", tip: str) -> list[Commit]:
    line, oid = [], tip
    while oid:
        commit = repo.objects.commit(oid)
        line.append(commit)
        oid = commit.parents[0] if commit.parents else ""
    return line


def since_time(since: Any) -> datetime:
    """The moment ``--since`` names: an ISO date or time, or an age back from now; InvalidAgeError otherwise."""
    if isinstance(since, datetime):
        return since.astimezone(timezone.utc) if since.tzinfo else since.replace(tzinfo=timezone.utc)
    text = str(since).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            age = parse_age(text)
        except InvalidAgeError:
            raise InvalidAgeError(f"cannot read the date {since!r} (use an ISO date such as 2024-05-01, "
                                  "or an age such as 30d)") from None
        if age is None:
            raise InvalidAgeError("--since never keeps nothing; give a date or an age") from None
        return datetime.now(timezone.utc) - age
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def sharing_refs(repo: "Repository", branch_ref: str, history: set[str]) -> list[str]:
    """Other refs (branches, tags, remote-tracking refs) whose history meets ``history``."""
    out = []
    for ref, value in repo.store.list_refs("refs/").items():
        if ref == branch_ref or ref.startswith("refs/meta/") or value.startswith(SYMBOLIC_PREFIX):
            continue
        try:
            tip = repo.objects.peel(value)
        except Exception:  # a ref naming no commit (integration metadata) shares no history
            continue
        if tip in history or any(c.id in history for c in walk(repo.objects.commit, [tip])):
            out.append(ref)
    return out


def prune(repo: "Repository", branch: str, keep: int | None = None, since: Any = None,
          force: bool = False, author: str | None = None) -> PruneReport:
    """Squash ``branch``'s history older than the newest ``keep`` first-parent commits (or
    than those made at or after ``since``) into one root commit, and replay the kept
    commits on top of it. Refused (SharedHistoryError) when another ref reaches the squashed
    or kept commits, unless ``force``; nothing is written unless the branch still holds its
    old tip when it moves (RefConflictError otherwise)."""
    if (keep is None) == (since is None):
        raise InvalidPruneError("prune needs exactly one of keep (a number of commits) and since (a date)")
    if keep is not None and keep < 1:
        raise InvalidPruneError(f"keep must be at least 1 (the branch's head is always kept), not {keep}")
    ref = refnames.branch_ref(branch)
    tip = repo.store.read_ref(ref)
    if tip is None:
        raise RevisionNotFoundError(f"no branch named {branch!r}")
    line = _first_parent_line(repo, tip)
    if keep is not None:
        kept = line[:keep]
    else:
        cutoff = since_time(since)
        kept = []
        for commit in line:
            if commit.timestamp < cutoff:
                break
            kept.append(commit)
        if not kept:
            kept = line[:1]  # the head always stays
    if len(kept) == len(line):
        return PruneReport(branch, tip, tip, 0, (), line[-1].id)
    boundary = line[len(kept)]  # the newest commit whose history is squashed
    history = {c.id for c in walk(repo.objects.commit, [tip])}
    if not force:
        others = sharing_refs(repo, ref, history)
        if others:
            shown = ", ".join(refnames.short_name(r) for r in others[:5]) + (" ..." if len(others) > 5 else "")
            raise SharedHistoryError(
                f"cannot prune {branch}: {shown} share{'s' if len(others) == 1 else ''} its history, and would keep "
                f"the old commits alive (and no longer share ids with {branch}); delete or move "
                f"{'it' if len(others) == 1 else 'them'} first, or force the prune (--force; Python: force=True)")
    squashed = len(history) - len(kept)
    who = author or repo.author
    now = datetime.now(timezone.utc)
    meta = {"pruned": {"squashed": squashed, "up_to": boundary.id, "branch": branch}}
    root, raw = encode_commit(boundary.root, (), 1, who, now,
                              f"Squashed history of {branch} up to {boundary.short_id} ({squashed} commit(s))", meta)
    objects = {root.id: raw}
    parent, generation = root.id, 1
    mapping: list[tuple[str, str]] = []
    for old in reversed(kept):
        generation += 1
        metadata = {**old.metadata, "pruned_from": old.id}
        new, raw = encode_commit(old.root, (parent,), generation, old.author, old.timestamp, old.message, metadata)
        objects[new.id] = raw
        mapping.append((old.id, new.id))
        parent = new.id
    why = f"prune: squashed {squashed} commit(s) up to {boundary.short_id}; rewrote {json.dumps(dict(mapping))}"
    repo._write(objects, [(ref, parent, tip)], why, who)
    _follow_working_file(repo, ref, tip, parent)
    return PruneReport(branch, tip, parent, squashed, tuple(mapping), root.id)


def _follow_working_file(repo: "Repository", ref: str, old: str, new: str) -> None:
    """A working file loaded from the old tip holds the new tip's state too: record it so."""
    if not repo.workdir or repo.head_ref() != ref:
        return
    wf = repo.working_file
    if wf.base() == old:
        wf.record_base(new)


__all__ = ["BranchExpiry", "EXPIRY_REF", "PruneReport", "branch_expiries", "create_branch", "expire_branches",
           "expiry_time", "prune", "set_branch_expiry", "sharing_refs"]
