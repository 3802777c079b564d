"""LangGraph's DeltaChannel, stored as a readable log instead of an ancestor walk.

A DeltaChannel (LangGraph 1.2, beta) keeps no value in most checkpoints: LangGraph
rebuilds it from the writes made to it since the nearest checkpoint holding a snapshot
(``get_delta_channel_history``), and writes a ``_DeltaSnapshot`` of the whole value
every ``snapshot_frequency`` updates. The saver stores such a channel in each
checkpoint's state as its log::

    "messages": [{"$lg": "delta", "seed": [...]}, WRITE, WRITE, ...]

a header (with the seed: the snapshot or plain value the history starts from, if any)
followed by the values written to the channel, oldest first, each readable JSON (for a
messages channel: the messages). A checkpoint's log is its parent checkpoint's log plus
the parent's pending writes to the channel, so a turn appends its new messages to a
chunked array: it costs what it adds, diffs show the new messages, and the log answers
``get_delta_channel_history`` with one read. A snapshot that only repeats what the log
already holds (the seed and the writes, lists concatenated) is not stored again; any
other snapshot (after an ``Overwrite``, a removal, a fork) starts a new log from it.
A header later in a log (two logs merged) resets the value to its seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot

from .codec import decode_value, encode_value
from .typed import TAG

DELTA = "delta"
#: The metadata key LangGraph counts each delta channel's updates under.
COUNTERS = "counters_since_delta_snapshot"


def header(seed: Any = None, has_seed: bool = False) -> dict[str, Any]:
    """A log's first entry (``seed`` already encoded)."""
    return {TAG: DELTA, "seed": seed} if has_seed else {TAG: DELTA}


def is_header(entry: Any) -> bool:
    return type(entry) is dict and entry.get(TAG) == DELTA


def is_log(stored: Any) -> bool:
    """Whether a channel's stored value is a delta log."""
    return type(stored) is list and bool(stored) and is_header(stored[0])


def delta_channels(values: Mapping[str, Any], versions: Mapping[str, Any], metadata: Mapping[str, Any],
                   was_log: Callable[[str], bool]) -> set[str]:
    """The channels of a checkpoint stored as logs: those with a snapshot, and those with a
    version but no value that LangGraph counts as delta channels (or that were logs in the
    parent checkpoint: ``was_log``)."""
    counters = metadata.get(COUNTERS) or {}
    out = set()
    for ch in versions:
        value = values.get(ch)
        if isinstance(value, _DeltaSnapshot) or (ch not in values and (ch in counters or was_log(ch))):
            out.add(ch)
    return out


def log_of(parent_stored: Any) -> list[Any]:
    """The log a channel continues from, given its stored value in the parent checkpoint:
    the parent's log, or a new one seeded with a plain stored value (a channel that was
    not a delta channel before), or an empty one."""
    if is_log(parent_stored):
        return list(parent_stored)
    if parent_stored is None:
        return [header()]
    return [header(parent_stored, True)]


def writes_to(records: Iterable[Mapping[str, Any]], channel: str) -> list[Any]:
    """The encoded values a checkpoint's pending writes (records, in LangGraph's order)
    wrote to ``channel``."""
    return [r["value"] for r in records if r["channel"] == channel]


def redundant(snapshot: Any, stored_log: list[Any], new_writes: list[Any], serde: SerializerProtocol) -> bool:
    """Whether a snapshot's value equals what the log (plus new writes) concatenates to:
    then it is not stored, the log goes on."""
    value = snapshot.value
    if type(value) is not list:
        return False
    out: list[Any] = []
    for entry in stored_log + new_writes:
        if is_header(entry):
            seed = decode_value(entry["seed"], serde) if "seed" in entry else []
            if type(seed) is not list:
                return False
            out = list(seed)
            continue
        write = decode_value(entry, serde)
        if type(write) is list:
            out.extend(write)
        else:
            out.append(write)
        if len(out) > len(value):
            return False
    return out == value


def snapshot_log(snapshot: Any, serde: SerializerProtocol) -> list[Any]:
    """A new log seeded with a snapshot's value."""
    return [header(encode_value(snapshot.value, serde), True)]


def stored_value(log: list[Any], serde: SerializerProtocol) -> Any:
    """What ``get_tuple`` returns for a log channel: a ``_DeltaSnapshot`` when the log is
    only a seed (the checkpoint LangGraph snapshotted), else None (LangGraph asks
    ``get_delta_channel_history``)."""
    if len(log) == 1 and "seed" in log[0]:
        return _DeltaSnapshot(decode_value(log[0]["seed"], serde))
    return None


def history(channel: str, stored: Any, serde: SerializerProtocol) -> dict[str, Any]:
    """``DeltaChannelHistory`` of a channel from its stored value in the target checkpoint."""
    if stored is None:
        return {"writes": []}
    if not is_log(stored):
        return {"writes": [], "seed": decode_value(stored, serde)}
    start = max(i for i, entry in enumerate(stored) if is_header(entry))
    head = stored[start]
    out: dict[str, Any] = {"writes": [("", channel, decode_value(w, serde)) for w in stored[start + 1:]]}
    if "seed" in head:
        out["seed"] = _DeltaSnapshot(decode_value(head["seed"], serde))
    return out


def channel_values(state: Any, serde: SerializerProtocol) -> dict[str, Any]:
    """A checkpoint's ``channel_values`` from its stored state: log channels as
    ``stored_value`` gives them (absent when LangGraph rebuilds them)."""
    if not isinstance(state, dict):
        return {}
    out = {}
    for channel, stored in state.items():
        if is_log(stored):
            value = stored_value(stored, serde)
            if value is not None:
                out[channel] = value
        else:
            out[channel] = decode_value(stored, serde)
    return out
