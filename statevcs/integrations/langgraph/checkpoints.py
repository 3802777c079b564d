"""Writing one checkpoint: what its commit records and the transaction that lands it.

A checkpoint's commit holds the channel values as readable JSON (delta channels as
logs, delta.py), LangGraph's record in ``metadata["langgraph"]`` (plus the nodes that
ran in the step), the merge policies its threads want (``metadata["policies"]``: a
message list merges by message id, a delta log as a union), and a one-line message
naming the step, its nodes and a preview of the newest message. The commit, the move
of the thread's branch (compare-and-swap) and the removal of the pending writes the
checkpoint supersedes happen in one store transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from ...errors import PathNotFoundError, RefConflictError, StateVCSError
from ...model.canonical import escape_token, validate
from ...model.objects import Commit, encode_commit
from ...model.refnames import HEAD, short_name
from ...model.tree import NodeSource, lookup, write_tree
from ...porcelain.repository.facade import Repository
from ...porcelain.rules.checks import check_rules
from ...porcelain.rules.files import SCHEMA_REF
from ...store.base import SYMBOLIC_PREFIX
from . import naming
from .codec import encode_channels, encode_value
from .delta import delta_channels, is_header, is_log, log_of, redundant, snapshot_log, writes_to
from .incremental import LRU, ListMemo, LogEdit, ThreadMemo, edit_checkpoint, list_memo
from .naming import LG_KEY
from .records import commit_message
from .retention import prune_namespace
from .review import message_line
from .threads import move_writes_ref

#: How often (in checkpoints of a namespace) a saver with ``max_age`` looks for old ones.
AGE_CHECK_EVERY = 16
#: The merge policy of a list channel holding messages: by each message's own id.
MESSAGES_POLICY = "keyed:/kwargs/id"
#: The merge policy of a delta log: both sides' writes, replayed by the channel's reducer.
LOG_POLICY = "union"


def stored_channel(source: NodeSource, root: str | None) -> Callable[[str], Any]:
    """A reader of one channel's stored JSON in the state ``root`` (None when absent)."""
    def get(channel: str) -> Any:
        if root is None:
            return None
        try:
            return lookup(source, root, "/" + escape_token(channel))
        except PathNotFoundError:
            return None

    return get


def plan_logs(deltas: Iterable[str], values: Mapping[str, Any], parent_logs: Callable[[str], bool],
              parent_get: Callable[[str], Any], records: list[dict[str, Any]], serde: SerializerProtocol,
              ) -> dict[str, LogEdit]:
    """How each delta channel's log changes from the parent checkpoint: the parent's
    pending writes to it appended, or a new log (a snapshot not already in the log, a
    channel that was not a log before)."""
    plans: dict[str, LogEdit] = {}
    for channel in sorted(deltas):
        new = writes_to(records, channel)
        value = values.get(channel)
        was_log = parent_logs(channel)
        if isinstance(value, _DeltaSnapshot):
            if was_log and redundant(value, parent_get(channel), new, serde):
                plans[channel] = ("append", new)
            else:
                plans[channel] = ("set", snapshot_log(value, serde))
        elif was_log:
            plans[channel] = ("append", new)
        else:
            plans[channel] = ("set", log_of(parent_get(channel)) + new)
    return plans


def whole_logs(plans: Mapping[str, LogEdit], parent_get: Callable[[str], Any]) -> dict[str, list[Any]]:
    """The full logs of a checkpoint written whole (appends made onto the parent's log)."""
    return {ch: (list(parent_get(ch)) + entries if how == "append" else entries)
            for ch, (how, entries) in plans.items()}


def ran(seen: Mapping[str, Any], before: Mapping[str, Any] | None) -> list[str]:
    """The nodes whose ``versions_seen`` changed since the parent: the ones that ran."""
    if before is None:
        return []
    return sorted(n for n, v in seen.items() if n != "__input__" and before.get(n) != v)


def newest_message(values: Mapping[str, Any], new_versions: Iterable[str], plans: Mapping[str, LogEdit],
                   serde: SerializerProtocol) -> Any:
    """The JSON form of the newest message this checkpoint adds (None if none): the last
    one written to a delta log, else the last item of a changed message list, else the
    last message of a graph's input."""
    for _, entries in plans.values():
        for entry in reversed(entries):
            items = entry if type(entry) is list else [entry]
            for item in reversed(items):
                if type(item) is dict and item.get("lc") == 1 and not is_header(item):
                    return item
    for channel in sorted(new_versions):
        value = values.get(channel)
        if type(value) is list and value and isinstance(value[-1], BaseMessage):
            return encode_value(value[-1], serde)
    for channel in sorted(new_versions):  # a graph's input (``__start__``): {"messages": [...]}
        value = values.get(channel)
        if type(value) is dict:
            for inner in value.values():
                if type(inner) is list and inner:
                    message = _as_message(inner[-1])
                    if message is not None:
                        return encode_value(message, serde)
    return None


def _as_message(item: Any) -> BaseMessage | None:
    """A message, or what LangChain reads as one in a graph's input (``("user", "hi")``,
    ``{"role": "user", "content": "hi"}``); None for anything else."""
    if isinstance(item, BaseMessage):
        return item
    if type(item) is tuple and len(item) == 2 and all(type(x) is str for x in item) or (
            type(item) is dict and isinstance(item.get("role"), str) and "content" in item):
        try:
            return convert_to_messages([item])[0]
        except (ValueError, TypeError, NotImplementedError):
            return None
    return None


def policies(values: Mapping[str, Any], logs: Iterable[str]) -> dict[str, str]:
    """The merge policies a checkpoint's channels want (see the module docstring)."""
    out = {"/" + escape_token(ch): LOG_POLICY for ch in logs}
    for channel, value in values.items():
        if type(value) is list and value and isinstance(value[-1], BaseMessage):
            out["/" + escape_token(channel)] = MESSAGES_POLICY
    return out


def commit_metadata(record: dict[str, Any], full_metadata: Mapping[str, Any], nodes: list[str], newest: Any,
                    wanted: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(message, metadata) of a checkpoint commit."""
    if nodes:
        record = {**record, "nodes": nodes}
    metadata: dict[str, Any] = {LG_KEY: record}
    if wanted:
        metadata["policies"] = wanted
    return commit_message(full_metadata, nodes, message_line(newest) if newest is not None else None), metadata


def land(repo: Repository, ref: str, root: str, objects: dict[str, bytes], message: str, metadata: dict[str, Any],
         expected: str | None, drop: Mapping[str, str], assumed: Mapping[str, str | None] | None = None,
         ) -> tuple[Commit, dict[str, str | None]]:
    """Commit ``root`` on the thread's branch ``ref`` if it is at ``expected``, and delete the
    pending-writes refs in ``drop`` (name -> value), all in one transaction; the repository's
    rules are checked as for any commit. RefConflictError if a ref moved: nothing written.

    With ``assumed`` (HEAD's and the rules ref's values as the last landing saw them), the
    branch and the pending-writes refs are taken to hold what the saver expects too, and a
    store whose reads cost a round trip checks all of them when the transaction commits
    (Transaction.assume_refs): a checkpoint on PostgreSQL then costs one round trip.
    Returns the commit and HEAD's and the rules ref's values, for the next landing."""
    who = repo.author
    with repo.store.transaction() as tx:
        if assumed is not None:
            tx.assume_refs({**assumed, ref: expected, **drop})
        refs = tx.read_refs((HEAD, ref, SCHEMA_REF))
        head = refs[ref]
        if head != expected:
            raise RefConflictError(f"{short_name(ref)} moved: the checkpoint was based on "
                                   f"{expected[:10] if expected else 'no commit'}, the branch is at "
                                   f"{head[:10] if head else 'no commit'}", ref, expected, head)
        parent = repo.objects.commit(head) if head else None
        check_rules(repo, tx, ref, root, objects, parent.root if parent else None)
        commit, raw = encode_commit(root, (head,) if head else (), 1 + (parent.generation if parent else 0), who,
                                    datetime.now(timezone.utc), message, metadata)
        tx.put_objects({**objects, commit.id: raw})
        why = f"commit: {commit.summary}"
        tx.set_ref(ref, commit.id, head, who, why)
        if refs[HEAD] == SYMBOLIC_PREFIX + ref:
            tx.log_ref(HEAD, head, commit.id, who, why)
        for name, value in drop.items():  # superseded by this checkpoint
            move_writes_ref(tx, name, None, value)
    repo.objects._commits.put(commit.id, commit)
    repo.objects.remember(objects)
    return commit, {HEAD: refs[HEAD], SCHEMA_REF: refs[SCHEMA_REF]}


@dataclass
class Put:
    """One ``put`` as the write path sees it (LangGraph's arguments, taken apart)."""

    thread_id: str
    ns: str
    checkpoint_id: str
    parent_id: str | None
    values: dict[str, Any]          # channel values as LangGraph gives them
    versions: dict[str, Any]        # channel_versions
    new_versions: set[str]          # the channels LangGraph says changed
    metadata: dict[str, Any]        # LangGraph's checkpoint metadata, config merged in
    record: dict[str, Any]          # what the commit's metadata["langgraph"] holds
    seen: dict[str, Any]            # versions_seen (encoded)

    @property
    def ref(self) -> str:
        return naming.thread_ref(self.thread_id, self.ns)


class CheckpointWrites:
    """The saver's write path (a mixin of StateVCSSaver): a put built on the remembered
    parent checkpoint (only what changed), or whole; then landed and remembered."""

    repo: Repository
    serde: SerializerProtocol
    _threads: LRU[str, ThreadMemo]
    keep_last: int | None
    max_age: timedelta | None
    _writes_memo: LRU[str, tuple[str, list[dict[str, Any]]]]
    #: HEAD's and the rules ref's values as the last landing read them (None: read them).
    _land_refs: dict[str, str | None] | None = None

    _writes: Callable[[str | None], list[dict[str, Any]]]  # a writes commit's records (the saver's)
    _find: Callable[[str, str | None], tuple[Commit, dict[str, Any]] | None]  # (commit, record) of a checkpoint

    def _put_on(self, memo: ThreadMemo, put: Put) -> None:
        """A put whose parent is ``memo``'s checkpoint: only what changed is written."""
        source = self.repo.objects
        wref = naming.writes_ref(put.thread_id, put.ns, put.parent_id) if put.parent_id else None
        known = self._writes_memo.get(wref) if wref else None
        deltas = delta_channels(put.values, put.versions, put.metadata, memo.deltas.__contains__)
        if known is None and deltas and wref is not None:  # the parent's writes feed the logs
            value = self.repo.store.read_ref(wref)
            known = (value, self._writes(value)) if value is not None else None
        get = stored_channel(source, memo.root)
        logs = plan_logs(deltas, put.values, memo.deltas.__contains__, get, known[1] if known else [], self.serde)
        plain = {ch: v for ch, v in put.values.items() if ch not in deltas}
        root, objects, lists = edit_checkpoint(source, memo, plain, put.versions, put.new_versions, self.serde, logs)
        drop = {wref: known[0]} if known is not None and wref is not None else {}
        self._land(put, root, objects, memo.head, drop, memo.seen, logs, plain, lists)

    def _put_whole(self, put: Put, head: str | None) -> None:
        """A put written whole on the branch at ``head`` (its parent read from the store);
        every other pending-writes ref of the namespace is superseded."""
        source = self.repo.objects
        parent = self._find(head, put.parent_id) if head is not None and put.parent_id else None
        get = stored_channel(source, parent[0].root if parent else None)
        refs = self.repo.store.list_refs(naming.writes_ns_prefix(put.thread_id, put.ns))
        records = self._writes(refs.get(naming.writes_ref(put.thread_id, put.ns, put.parent_id))) \
            if put.parent_id else []
        own = naming.writes_ref(put.thread_id, put.ns, put.checkpoint_id)  # may be stored before it lands
        drop = {name: value for name, value in refs.items() if name != own}

        def was_log(channel: str) -> bool:
            return is_log(get(channel))

        deltas = delta_channels(put.values, put.versions, put.metadata, was_log)
        logs = plan_logs(deltas, put.values, was_log, get, records, self.serde)
        plain = {ch: v for ch, v in put.values.items() if ch not in deltas}
        state = {**encode_channels(plain, self.serde), **whole_logs(logs, get)}
        validate(state)
        root, objects = write_tree(state)
        lists = {ch: m for ch, v in plain.items() if (m := list_memo(v)) is not None}
        seen = parent[1]["checkpoint"].get("versions_seen") if parent else None
        self._land(put, root, objects, head, drop, seen, logs, plain, lists)

    def _land(self, put: Put, root: str, objects: dict[str, bytes], expected: str | None, drop: dict[str, str],
              parent_seen: dict[str, Any] | None, logs: dict[str, LogEdit], plain: dict[str, Any],
              lists: dict[str, ListMemo]) -> None:
        """Commit a built checkpoint (one transaction, see checkpoints.land) and remember it."""
        nodes = ran(put.seen, parent_seen)
        newest = newest_message(plain, put.new_versions, logs, self.serde)
        message, metadata = commit_metadata(put.record, put.metadata, nodes, newest, policies(plain, logs))
        assumed = self._land_refs if self.repo.store.remote_reads else None
        try:
            commit, self._land_refs = land(self.repo, put.ref, root, objects, message, metadata, expected, drop,
                                           assumed)
        except StateVCSError:
            if assumed is None:
                raise
            self._land_refs = None  # HEAD or the rules ref may have moved: land again from fresh reads
            commit, self._land_refs = land(self.repo, put.ref, root, objects, message, metadata, expected, drop)
        for name in drop:
            self._writes_memo.pop(name)
        self._remember(put.ref, commit.id, put.checkpoint_id, root, put.versions, plain.keys() | logs.keys(),
                       lists, logs.keys(), put.seen)
        self._retain(put, commit)

    def _retain(self, put: Put, commit: Commit) -> None:
        """Drop the thread's oldest checkpoints when ``keep_last`` or ``max_age`` says so, in
        batches: with ``keep_last=N`` once the namespace holds N + N/4 of them (so a put
        rarely pays for it), with ``max_age`` checked every ``AGE_CHECK_EVERY`` checkpoints.
        A separate transaction after the put; skipped when another writer moved the thread
        (the next put tries again)."""
        keep, age = self.keep_last, self.max_age
        if keep is None and age is None:
            return
        due = keep is not None and commit.generation > keep + max(1, keep // 4)
        due = due or (age is not None and commit.generation % AGE_CHECK_EVERY == 0)
        if not due:
            return
        cutoff = datetime.now(timezone.utc) - age if age is not None else None
        try:
            head, _, dropped, deleted = prune_namespace(self.repo, put.thread_id, put.ns, commit.id, keep, cutoff)
        except RefConflictError:
            return
        if dropped:
            for name in deleted:  # (LangGraph may have put the next step's writes already: those stay)
                self._writes_memo.pop(name)
            memo = self._threads.get(put.ref)
            if memo is not None and memo.head == commit.id:
                memo.head = head

    def _remember(self, ref: str, head: str, checkpoint_id: str, root: str, versions: dict[str, Any],
                  keys: Iterable[str], lists: dict[str, ListMemo], deltas: Iterable[str],
                  seen: dict[str, Any]) -> None:
        self._threads.put(ref, ThreadMemo(head, checkpoint_id, root, versions, frozenset(keys), lists,
                                          frozenset(deltas), seen))
