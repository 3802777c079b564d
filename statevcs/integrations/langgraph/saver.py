"""StateVCSSaver: a LangGraph checkpointer whose checkpoints are statevcs commits.

A thread (and namespace) is the branch ``threads/<thread>[/<ns>]``; each ``put`` is a
commit on it whose parent is the thread's previous checkpoint and whose state is the
channel values as readable JSON, so the normal statevcs API and CLI (log, diff, tag,
branch, merge) work on agent runs. See docs/langgraph.md.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ...errors import NotARepositoryError, RefConflictError, RepositoryExistsError
from ...gcpause import gc_paused
from ...limits import saver_cache_bytes
from ...model.canonical import validate
from ...model.objects import Commit
from ...model.tree import read_tree, write_tree
from ...porcelain.repository.facade import Repository
from ...porcelain.upkeep.ages import Age
from ...store.paths import DIR_NAME, is_url
from . import naming
from .checkpoints import CheckpointWrites, Put, stored_channel
from .codec import decode_value, encode_value
from .delta import channel_values, history, is_log
from .incremental import LRU, ThreadMemo, list_memo
from .naming import LG_KEY
from .records import merge_writes, metadata_matches, split_checkpoint
from .retention import check_keep
from .retention import max_age as max_age_of
from .threads import (
    checkpoint_record,
    copy_thread_refs,
    delete_refs,
    move_writes_ref,
    rewrite_thread,
    thread_chain,
    thread_refs,
    writes_records,
)
from .worker import StoreThread

#: How many threads' last checkpoints a saver remembers (see incremental.py).
MEMO_THREADS = 64
#: How often a put retries after another writer moved the thread (compare-and-swap lost).
CAS_RETRIES = 20


def _on_store_thread(method: Any) -> Any:
    """Run a saver operation on the saver's own thread, so the store keeps one connection
    (LangGraph calls savers from short-lived worker threads: each would open its own, and
    a store keeps a connection per thread until it is closed)."""

    @functools.wraps(method)
    def run(self: StateVCSSaver, *args: Any, **kwargs: Any) -> Any:
        if getattr(self._local, "store_thread", False):
            return method(self, *args, **kwargs)
        if self._pid != os.getpid():  # a forked child has no copy of the parent's thread
            self._start_worker()
        return self._worker.call(method, self, *args, **kwargs)

    return run


class StateVCSSaver(CheckpointWrites, BaseCheckpointSaver[int]):
    """Checkpoints in a statevcs repository (embedded SQLite, PostgreSQL or memory).

    The async methods run the sync ones on the calling thread (fine for scripts and
    tests); ``AsyncStateVCSSaver`` runs them in a worker thread instead."""

    def __init__(self, repo: Repository, *, serde: SerializerProtocol | None = None, keep_last: int | None = None,
                 max_age: Age | None = None) -> None:
        """A saver on ``repo``. With ``keep_last=N`` each thread (each namespace) keeps its
        newest N checkpoints, with ``max_age`` (a timedelta, seconds or ``"7d"``) those newer
        than that; older ones are dropped in batches (retention.py, docs/langgraph.md).
        InvalidPruneError / InvalidAgeError for a limit that cannot be used."""
        super().__init__(serde=serde)
        self.repo = repo
        self.keep_last = check_keep(keep_last) if keep_last is not None else None
        self.max_age = max_age_of(max_age)
        self._lock = threading.RLock()  # one repository (reader cache, connection) per saver
        self._start_worker()
        #: (thread ref) -> its last checkpoint as written or read here: puts on it rewrite what changed.
        self._threads: LRU[str, ThreadMemo] = LRU(MEMO_THREADS)
        #: (writes ref) -> (its commit, its records) as last written or read here.
        self._writes_memo: LRU[str, tuple[str, list[dict[str, Any]]]] = LRU(4 * MEMO_THREADS)

    def _start_worker(self) -> None:
        self._local = threading.local()
        self._pid = os.getpid()
        self._worker = StoreThread("statevcs-saver", self._mark_store_thread)

    def _mark_store_thread(self) -> None:
        self._local.store_thread = True

    def close(self) -> None:
        """Stop the saver's thread (the repository stays open: it is the caller's)."""
        self._worker.shutdown()

    # ------------------------------------------------------------------ opening
    @classmethod
    @contextlib.contextmanager
    def from_conn_string(cls, conn_string: str, *, serde: SerializerProtocol | None = None,
                         keep_last: int | None = None, max_age: Age | None = None,
                         cache_bytes: int | None = None) -> Iterator[StateVCSSaver]:
        """A saver on the repository at ``conn_string``, closed on exit.

        A directory opens (or creates) the embedded repository there; a
        ``postgresql://...?repo=NAME`` URL the shared one; ``memory:`` a throw-away one.
        Its object cache holds ``cache_bytes`` (default ``$STATEVCS_CACHE_BYTES``, else 4 MiB:
        docs/langgraph.md, "Memory"); InvalidLimitError for a size that cannot be used."""
        repo = open_or_create(conn_string, cache_bytes)
        saver = None
        try:
            saver = cls(repo, serde=serde, keep_last=keep_last, max_age=max_age)
            yield saver
        finally:
            if saver is not None:
                saver.close()
            repo.close()

    # ------------------------------------------------------------------ reading
    @_on_store_thread
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (its ``checkpoint_id``, else the thread's latest), or None."""
        conf = config["configurable"]
        thread_id, ns = conf["thread_id"], conf.get("checkpoint_ns", "")
        checkpoint_id = get_checkpoint_id(config)
        with self._lock:
            ref = naming.thread_ref(thread_id, ns)
            head = self.repo.store.read_ref(ref)
            if head is None:
                return None
            found = self._find(head, checkpoint_id)
            if found is None:
                return None
            commit, record = found
            writes = self.repo.store.read_ref(naming.writes_ref(thread_id, ns, record["checkpoint"]["id"]))
            state = read_tree(self.repo.objects, commit.root)
            tup = self._tuple(commit, record, thread_id, ns, writes, state)
            if commit.id == head and commit.metadata.get(LG_KEY) is record:
                # The thread's latest checkpoint, made by LangGraph: the next put builds on it.
                values = tup.checkpoint["channel_values"]
                stored = state if isinstance(state, dict) else {}
                self._remember(ref, head, tup.checkpoint["id"], commit.root,
                               dict(tup.checkpoint.get("channel_versions") or {}), stored.keys(),
                               {ch: m for ch, v in values.items() if (m := list_memo(v)) is not None},
                               {ch for ch, v in stored.items() if is_log(v)},
                               record["checkpoint"].get("versions_seen") or {})
            return tup

    def _find(self, head: str, checkpoint_id: str | None) -> tuple[Commit, dict[str, Any]] | None:
        """(commit, record) of a checkpoint on the chain from ``head`` (None: the head's)."""
        for commit in self._chain(head):
            record = self._record(commit)
            if checkpoint_id is None or record["checkpoint"]["id"] == checkpoint_id:
                return commit, record
        return None

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of one thread (one namespace if the config names it), or all."""
        # Every checkpoint read is kept until the caller is done: the collector paused while
        # they are made walks them once afterwards, not at every snapshot (gcpause.py).
        with self._lock, gc_paused():
            found = self._list(config, filter, before, limit)
        yield from found

    @_on_store_thread
    def _list(self, config: RunnableConfig | None, query: dict[str, Any] | None, before: RunnableConfig | None,
              limit: int | None) -> list[CheckpointTuple]:
        wanted_id = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        found: list[CheckpointTuple] = []
        for (thread_id, ns), head in self._thread_heads(config).items():
            writes = {naming.parse_writes_ref(r)[2]: v  # type: ignore[index]
                      for r, v in self.repo.store.list_refs(naming.writes_ns_prefix(thread_id, ns)).items()}
            for commit in self._chain(head):
                if limit is not None and len(found) >= limit:
                    return found
                record = self._record(commit)
                cid = record["checkpoint"]["id"]
                if wanted_id and cid != wanted_id:
                    continue
                if before_id and cid >= before_id:
                    continue
                if not metadata_matches(decode_value(record["metadata"], self.serde), query):
                    continue
                found.append(self._tuple(commit, record, thread_id, ns, writes.get(cid)))
        return found

    def _thread_heads(self, config: RunnableConfig | None) -> dict[tuple[str, str], str]:
        """(thread, namespace) -> head commit of the threads ``config`` selects."""
        store = self.repo.store
        if config is None:
            refs = store.list_refs(naming.THREADS_REF_PREFIX)
        else:
            conf = config["configurable"]
            thread_id, ns = conf["thread_id"], conf.get("checkpoint_ns")
            if ns is not None:
                ref = naming.thread_ref(thread_id, ns)
                head = store.read_ref(ref)
                return {(str(thread_id), ns): head} if head else {}
            root, others = naming.thread_refs_prefixes(thread_id)
            refs = dict(store.list_refs(others))
            if (head := store.read_ref(root)) is not None:
                refs[root] = head
        heads = {}
        for ref, value in sorted(refs.items()):
            parsed = naming.parse_thread_ref(ref)
            if parsed is not None and not value.startswith("ref: "):
                heads[parsed] = value
        return heads

    def _chain(self, head: str) -> Iterator[Commit]:
        """A thread's checkpoints, newest first (first parents from the head)."""
        return thread_chain(self.repo, head)

    def _record(self, commit: Commit) -> dict[str, Any]:
        """The LangGraph record of a commit; for a commit made outside LangGraph (merge,
        restore, revert), one derived from its nearest LangGraph ancestor with a new id."""
        return checkpoint_record(self.repo, commit)

    def _tuple(self, commit: Commit, record: dict[str, Any], thread_id: str, ns: str,
               writes_head: str | None, state: Any = None) -> CheckpointTuple:
        checkpoint = decode_value(record["checkpoint"], self.serde)
        with gc_paused():  # the state's JSON and the values made from it: gcpause.py
            if state is None:
                state = read_tree(self.repo.objects, commit.root)
            checkpoint["channel_values"] = channel_values(state, self.serde)
            del state  # its containers go before the collector runs again
        parent = record.get("parent")
        return CheckpointTuple(
            config=_config(thread_id, ns, checkpoint["id"]),
            checkpoint=checkpoint,
            metadata=decode_value(record["metadata"], self.serde),
            parent_config=_config(thread_id, ns, parent) if parent else None,
            pending_writes=[(w["task_id"], w["channel"], decode_value(w["value"], self.serde))
                            for w in self._writes(writes_head)],
        )

    def _writes(self, writes_head: str | None) -> list[dict[str, Any]]:
        return writes_records(self.repo, writes_head)

    @_on_store_thread
    def get_delta_channel_history(self, *, config: RunnableConfig,
                                  channels: Sequence[str]) -> Mapping[str, DeltaChannelHistory]:
        """Each delta channel's history at a checkpoint, from the log its state holds (one read)."""
        if not channels:
            return {}
        conf = config["configurable"]
        with self._lock:
            head = self.repo.store.read_ref(naming.thread_ref(conf["thread_id"], conf.get("checkpoint_ns", "")))
            found = self._find(head, get_checkpoint_id(config)) if head else None
            get = stored_channel(self.repo.objects, found[0].root if found else None)
            return {ch: history(ch, get(ch), self.serde) for ch in channels}  # type: ignore[misc]

    async def aget_delta_channel_history(self, *, config: RunnableConfig,
                                         channels: Sequence[str]) -> Mapping[str, DeltaChannelHistory]:
        return self.get_delta_channel_history(config=config, channels=channels)

    # ------------------------------------------------------------------ writing
    @_on_store_thread
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Commit ``checkpoint`` on its thread's branch; the parent checkpoint is the config's."""
        conf = config["configurable"]
        values, rest = split_checkpoint(dict(checkpoint))
        full = dict(get_checkpoint_metadata(config, metadata))
        record = {"checkpoint": encode_value(rest, self.serde), "metadata": encode_value(full, self.serde),
                  "parent": conf.get("checkpoint_id")}
        put = Put(conf["thread_id"], conf.get("checkpoint_ns", ""), checkpoint["id"], conf.get("checkpoint_id"),
                  values, dict(checkpoint.get("channel_versions") or {}), set(new_versions), full, record,
                  record["checkpoint"].get("versions_seen") or {})
        with self._lock:
            memo = self._threads.get(put.ref)
            if memo is not None and memo.checkpoint_id == put.parent_id:
                try:  # the parent is the checkpoint last written or read here: rewrite what changed
                    self._put_on(memo, put)
                    return _config(put.thread_id, put.ns, put.checkpoint_id)
                except RefConflictError:  # the thread moved meanwhile: write it whole below
                    self._threads.pop(put.ref)
            for attempt in range(CAS_RETRIES):
                try:
                    self._put_whole(put, self.repo.store.read_ref(put.ref))
                    break
                except RefConflictError:  # another writer moved the thread: append after it
                    if attempt == CAS_RETRIES - 1:
                        self._threads.pop(put.ref)
                        raise
        return _config(put.thread_id, put.ns, put.checkpoint_id)

    @_on_store_thread
    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Keep ``writes`` of one task as pending writes of the config's checkpoint."""
        conf = config["configurable"]
        thread_id, ns, checkpoint_id = conf["thread_id"], conf.get("checkpoint_ns", ""), conf["checkpoint_id"]
        encoded = [(channel, encode_value(value, self.serde)) for channel, value in writes]
        ref = naming.writes_ref(thread_id, ns, checkpoint_id)
        with self._lock:
            # First try on what this saver last wrote there (or on no writes yet), without
            # reading: the compare-and-swap refuses it if the ref holds anything else.
            known = self._writes_memo.get(ref)
            old, existing = known if known is not None else (None, [])
            merged = merge_writes(existing, task_id, task_path, encoded)
            if merged != existing:
                try:
                    self._writes_memo.put(ref, (self._store_writes(ref, merged, old), merged))
                    return
                except RefConflictError:
                    self._writes_memo.pop(ref)
            for attempt in range(CAS_RETRIES):
                old = self.repo.store.read_ref(ref)
                existing = self._writes(old)
                merged = merge_writes(existing, task_id, task_path, encoded)
                if merged == existing:
                    if old is not None:
                        self._writes_memo.put(ref, (old, existing))
                    return
                try:
                    new = self._store_writes(ref, merged, old)
                    self._writes_memo.put(ref, (new, merged))
                    return
                except RefConflictError:
                    if attempt == CAS_RETRIES - 1:
                        raise

    def _store_writes(self, ref: str, records: list[dict[str, Any]], expected: str | None) -> str:
        """Point ``ref`` at a tree of ``records`` if it holds ``expected`` (one transaction,
        no reflog entry: see threads.move_writes_ref); returns the tree's id."""
        validate(records)
        root, objects = write_tree(records)
        with self.repo.store.transaction() as tx:
            tx.assume_refs({ref: expected})  # checked at commit: one round trip on PostgreSQL
            tx.put_objects(objects)
            move_writes_ref(tx, ref, root, expected)
        return root

    # ------------------------------------------------------------------ threads
    @_on_store_thread
    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread's branches (every namespace) and pending writes; its commits stay
        until ``gc`` (tags and other branches keep them for good)."""
        with self._lock:
            self._forget()
            self._delete_refs(self._thread_refs(thread_id), f"langgraph: deleted thread {thread_id}")

    def _forget(self) -> None:
        """Drop the memos of written checkpoints and writes (refs are about to move)."""
        self._threads.clear()
        self._writes_memo.clear()

    def _thread_refs(self, thread_id: str) -> dict[str, str]:
        return thread_refs(self.repo.store, thread_id)

    def _delete_refs(self, refs: dict[str, str], why: str) -> None:
        delete_refs(self.repo, refs, why)

    @_on_store_thread
    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Make ``target`` a copy of ``source``: new branches at the same commits (no object
        is copied), and the same pending writes."""
        with self._lock:
            self._forget()
            copy_thread_refs(self.repo, source_thread_id, target_thread_id)

    @_on_store_thread
    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: each namespace of each thread keeps only its latest checkpoint
        (and its writes); ``delete``: the threads are deleted."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r} (keep_latest or delete)")
        with self._lock:
            self._forget()
            for thread_id in thread_ids:
                if strategy == "delete":
                    self.delete_thread(thread_id)
                    continue
                for (tid, ns), head in self._thread_heads({"configurable": {"thread_id": thread_id}}).items():
                    latest = self.repo.objects.commit(head)
                    self._rewrite(tid, ns, head, [latest], keep=True)

    @_on_store_thread
    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete every checkpoint (and its writes) whose metadata ``run_id`` is one of ``run_ids``;
        later checkpoints of the same thread are re-linked to the ones kept."""
        runs = set(run_ids)
        if not runs:
            return
        with self._lock:
            self._forget()
            for (thread_id, ns), head in self._thread_heads(None).items():
                chain = list(self._chain(head))
                kept = [c for c in chain
                        if decode_value(self._record(c)["metadata"], self.serde).get("run_id") not in runs]
                if len(kept) != len(chain):
                    self._rewrite(thread_id, ns, head, kept, keep=False)

    def _rewrite(self, thread_id: str, ns: str, head: str, kept: list[Commit], keep: bool) -> None:
        rewrite_thread(self.repo, thread_id, ns, head, kept, self._record, "langgraph: pruned" if keep
                       else "langgraph: deleted runs")

    # ------------------------------------------------------------------ async (same thread)
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.prune(thread_ids, strategy=strategy)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)


def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}


def open_or_create(location: str, cache_bytes: int | None = None) -> Repository:
    """The repository at a directory (created there if it has none), a store URL (created
    if absent) or ``memory:``, its object cache sized for a saver (limits.saver_cache_bytes)."""
    budget = saver_cache_bytes(cache_bytes)
    repo = _open_or_create(location)
    repo.objects.resize(budget)
    return repo


def _open_or_create(location: str) -> Repository:
    if location == "memory:":
        return Repository.memory()
    if is_url(location):
        try:
            return Repository.open(location)
        except NotARepositoryError:
            try:
                return Repository.init(location)
            except RepositoryExistsError:  # created meanwhile by another process
                return Repository.open(location)
    if os.path.isdir(os.path.join(location, DIR_NAME)):
        return Repository.open(location)
    try:
        return Repository.init(location)
    except RepositoryExistsError:
        return Repository.open(location)
