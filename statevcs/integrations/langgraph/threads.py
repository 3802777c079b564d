"""A thread's refs and its chain of checkpoints, edited as a whole: listing, deleting,
copying a thread, and rewriting its chain without some checkpoints (prune, delete_for_runs).

Split from saver.py, which keeps the checkpointer interface and its per-put fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ...model.objects import Commit, encode_commit
from ...porcelain.repository.facade import Repository
from ...porcelain.rules.checks import check_branch_move
from ...store.base import ANY, Store
from . import naming
from .records import LG_KEY


def thread_chain(repo: Repository, head: str) -> Iterator[Commit]:
    """A thread's checkpoints, newest first (first parents from the head)."""
    oid: str | None = head
    while oid is not None:
        commit = repo.objects.commit(oid)
        yield commit
        oid = commit.parents[0] if commit.parents else None


def thread_refs(store: Store, thread_id: str) -> dict[str, str]:
    """Every ref of a thread: its branches (all namespaces) and its pending writes."""
    root, others = naming.thread_refs_prefixes(thread_id)
    refs = dict(store.list_refs(others))
    if (head := store.read_ref(root)) is not None:
        refs[root] = head
    refs.update(store.list_refs(naming.writes_thread_prefix(thread_id)))
    return refs


def delete_refs(repo: Repository, refs: dict[str, str], why: str) -> None:
    """Delete ``refs`` (name -> expected value) in one transaction."""
    if not refs:
        return
    with repo.store.transaction() as tx:
        for ref, value in refs.items():
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
            tx.delete_ref(ref, value, repo.author, f"langgraph: replaced by a copy of {source_thread_id}")
        for ref, value in moves.items():
            check_branch_move(repo, tx, ref, value, tx.read_ref(ref))  # the target branch's rules
            tx.set_ref(ref, value, ANY, repo.author, f"langgraph: copied from thread {source_thread_id}")


def rewrite_thread(repo: Repository, thread_id: str, ns: str, head: str, kept: list[Commit],
                   record: Callable[[Commit], dict[str, Any]], why: str) -> None:
    """Point the thread's branch at a chain of ``kept`` (newest first) in one transaction;
    writes of checkpoints no longer on it are deleted. Commits below the first removed
    one are reused, the ones above re-made on the new parents with the same state and
    record (``record`` gives a commit's LangGraph record)."""
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
    keep_ids = {records[c.id]["checkpoint"]["id"] for c in kept}
    writes = {r: v for r, v in repo.store.list_refs(naming.writes_ns_prefix(thread_id, ns)).items()
              if naming.parse_writes_ref(r)[2] not in keep_ids}  # type: ignore[index]
    ref = naming.thread_ref(thread_id, ns)
    with repo.store.transaction() as tx:
        if objects:
            tx.put_objects(objects)
        if new_head is None:
            tx.delete_ref(ref, head, repo.author, why)
        elif new_head != head:
            tx.set_ref(ref, new_head, head, repo.author, why)
        for wref, value in writes.items():
            tx.delete_ref(wref, value, repo.author, why)
