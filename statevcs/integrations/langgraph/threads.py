"""A thread's refs and its chain of checkpoints, edited as a whole: listing, deleting,
copying a thread, and rewriting its chain without some checkpoints (prune, delete_for_runs).

Split from saver.py, which keeps the checkpointer interface and its per-put fast path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from ...errors import RefConflictError
from ...model.objects import COMMIT, Commit, encode_commit
from ...model.tree import read_tree
from ...porcelain.repository.facade import Repository
from ...porcelain.rules.checks import check_branch_move
from ...store.base import ANY, Store, Transaction, check_expected
from . import naming
from .naming import LG_KEY

#: Checkpoint format version given to commits made outside LangGraph (merge, restore).
DEFAULT_CHECKPOINT_V = 4
_UUID_EPOCH_OFFSET = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01


def thread_chain(repo: Repository, head: str) -> Iterator[Commit]:
    """A thread's checkpoints, newest first (first parents from the head)."""
    oid: str | None = head
    while oid is not None:
        commit = repo.objects.commit(oid)
        yield commit
        oid = commit.parents[0] if commit.parents else None


def checkpoint_record(repo: Repository, commit: Commit) -> dict[str, Any]:
    """The LangGraph record of a commit (``metadata["langgraph"]``); for a commit made
    outside LangGraph (merge, restore, revert), one derived from its nearest LangGraph
    ancestor: that one's versions (so no node is triggered by the commit itself), a new
    time-ordered id, and metadata ``{"source": "update", "statevcs": {...}}``."""
    record = commit.metadata.get(LG_KEY)
    if isinstance(record, dict) and "checkpoint" in record:
        return record
    base: dict[str, Any] | None = None
    parent_id = None
    if commit.parents:
        base = checkpoint_record(repo, repo.objects.commit(commit.parents[0]))
        parent_id = base["checkpoint"]["id"]
    checkpoint = dict(base["checkpoint"]) if base else {
        "v": DEFAULT_CHECKPOINT_V, "channel_versions": {}, "versions_seen": {}, "updated_channels": None}
    checkpoint["id"] = synthetic_checkpoint_id(commit.id, commit.timestamp)
    checkpoint["ts"] = commit.timestamp.isoformat()
    step = _plain(base["metadata"]).get("step", -1) if base else -1
    metadata = {"source": "update", "step": step + 1 if type(step) is int else 0, "parents": {},
                "statevcs": {"commit": commit.id, "message": commit.message}}
    return {"checkpoint": checkpoint, "metadata": metadata, "parent": parent_id}


def _plain(encoded: Any) -> dict[str, Any]:
    """An encoded metadata dict as its keys (codec.py wraps one with a marker key)."""
    if isinstance(encoded, dict) and encoded.get("$lg") == "dict" and isinstance(encoded.get("v"), dict):
        return encoded["v"]
    return encoded if isinstance(encoded, dict) else {}


def synthetic_checkpoint_id(commit_id: str, timestamp: datetime) -> str:
    """A stable, time-ordered uuid6 for a commit LangGraph did not make (a merge, a restore):
    its time is the commit's, its other bits come from the commit id."""
    ns = int(timestamp.timestamp() * 1_000_000) * 10 + _UUID_EPOCH_OFFSET
    bits = int(hashlib.blake2b(commit_id.encode("ascii"), digest_size=8).hexdigest(), 16)
    value = ((ns >> 12) & 0xFFFFFFFFFFFF) << 80
    value |= (0x6000 | (ns & 0x0FFF)) << 64
    value |= (0x8000 | ((bits >> 48) & 0x3FFF)) << 48
    value |= bits & 0xFFFFFFFFFFFF
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def writes_records(repo: Repository, value: str | None) -> list[dict[str, Any]]:
    """The pending-writes records a writes ref holds: a tree of them (or, as older savers
    wrote it, a commit of that tree)."""
    if value is None:
        return []
    root = repo.objects.commit(value).root if repo.objects.kind(value) == COMMIT else value
    state = read_tree(repo.objects, root)
    return list(state) if isinstance(state, list) else []


def thread_refs(store: Store, thread_id: str) -> dict[str, str]:
    """Every ref of a thread: its branches (all namespaces) and its pending writes."""
    root, others = naming.thread_refs_prefixes(thread_id)
    refs = dict(store.list_refs(others))
    if (head := store.read_ref(root)) is not None:
        refs[root] = head
    refs.update(store.list_refs(naming.writes_thread_prefix(thread_id)))
    return refs


def move_writes_ref(tx: Transaction, name: str, new: str | None, expected: object) -> None:
    """Compare-and-swap a pending-writes ref to ``new`` (None: delete it) without a reflog
    entry: pending writes are bookkeeping LangGraph replaces at every step, and a reflog
    entry would keep each superseded set alive until it expired (two rows a step for none
    to read). Branches and tags always keep their reflog."""
    old = tx.read_ref(name)
    check_expected(name, old, expected)
    if new is None and old is None:
        raise RefConflictError(f"ref {name} does not exist", name, expected, None)
    if old != new:
        tx._write_ref(name, new)


def delete_refs(repo: Repository, refs: dict[str, str], why: str) -> None:
    """Delete ``refs`` (name -> expected value) in one transaction."""
    if not refs:
        return
    with repo.store.transaction() as tx:
        for ref, value in refs.items():
            if ref.startswith(naming.WRITES_PREFIX):
                move_writes_ref(tx, ref, None, value)
            else:
                tx.delete_ref(ref, value, repo.author, why)


def copy_thread_refs(repo: Repository, source_thread_id: str, target_thread_id: str) -> None:
    """Make ``target`` a copy of ``source``: new branches at the same commits (no object is
    copied) and the same pending writes; the copy replaces the target thread whole."""
    moves = {}
    for ref, value in thread_refs(repo.store, source_thread_id).items():
        if (parsed := naming.parse_thread_ref(ref)) is not None:
            moves[naming.thread_ref(target_thread_id, parsed[1])] = value
        elif (w := naming.parse_writes_ref(ref)) is not None:
            moves[naming.writes_ref(target_thread_id, w[1], w[2])] = value
    if not moves:
        return
    stale = {ref: value for ref, value in thread_refs(repo.store, target_thread_id).items() if ref not in moves}
    with repo.store.transaction() as tx:
        for ref, value in stale.items():
            if ref.startswith(naming.WRITES_PREFIX):
                move_writes_ref(tx, ref, None, value)
            else:
                tx.delete_ref(ref, value, repo.author, f"langgraph: replaced by a copy of {source_thread_id}")
        for ref, value in moves.items():
            if ref.startswith(naming.WRITES_PREFIX):
                move_writes_ref(tx, ref, value, ANY)
            else:
                check_branch_move(repo, tx, ref, value, tx.read_ref(ref))  # the target branch's rules
                tx.set_ref(ref, value, ANY, repo.author, f"langgraph: copied from thread {source_thread_id}")


def rewrite_thread(repo: Repository, thread_id: str, ns: str, head: str, kept: list[Commit],
                   record: Callable[[Commit], dict[str, Any]], why: str) -> dict[str, str]:
    """Point the thread's branch at a chain of ``kept`` (newest first) in one transaction;
    writes of checkpoints no longer on it are deleted (returned: ref -> value). Commits
    below the first removed one are reused, the ones above re-made on the new parents
    with the same state and record (``record`` gives a commit's LangGraph record)."""
    chain = list(thread_chain(repo, head))
    kept_ids = {c.id for c in kept}
    records = {c.id: record(c) for c in chain}
    objects: dict[str, bytes] = {}
    parent: Commit | None = None
    rewriting = False
    for commit in reversed(chain):  # oldest first
        if commit.id not in kept_ids:
            rewriting = True
            continue
        old_parent = commit.parents[0] if commit.parents else None
        if not rewriting and (parent.id if parent else None) == old_parent:
            parent = commit
            continue
        rewriting = True
        parents = ((parent.id,) if parent else ()) + tuple(commit.parents[1:])
        generation = 1 + max([parent.generation if parent else 0]
                             + [repo.objects.commit(p).generation for p in commit.parents[1:]])
        metadata = dict(commit.metadata)
        metadata[LG_KEY] = records[commit.id]
        new, raw = encode_commit(commit.root, parents, generation, commit.author, commit.timestamp,
                                 commit.message, metadata)
        objects[new.id] = raw
        parent = new
    new_head = parent.id if parent else None
    # The writes of the checkpoints removed go; not those of a checkpoint still being put
    # (LangGraph may store a step's writes before the checkpoint they belong to lands).
    removed = {records[c.id]["checkpoint"]["id"] for c in chain if c.id not in kept_ids}
    writes = {r: v for r, v in repo.store.list_refs(naming.writes_ns_prefix(thread_id, ns)).items()
              if naming.parse_writes_ref(r)[2] in removed}  # type: ignore[index]
    ref = naming.thread_ref(thread_id, ns)
    with repo.store.transaction() as tx:
        if objects:
            tx.put_objects(objects)
        if new_head is None:
            tx.delete_ref(ref, head, repo.author, why)
        elif new_head != head:
            tx.set_ref(ref, new_head, head, repo.author, why)
        for wref, value in writes.items():
            move_writes_ref(tx, wref, None, value)
    return writes
