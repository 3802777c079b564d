"""Pure pieces of the checkpoint <-> commit mapping: metadata records, writes, ids.

A checkpoint commit carries ``metadata["langgraph"] = {"checkpoint": {...}, "metadata":
{...}, "parent": id | None}``: the checkpoint without its channel values (those are
the commit's state), LangGraph's checkpoint metadata, and the parent checkpoint id.
Pending writes of one checkpoint are a small state of their own (a list of records).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.checkpoint.base import WRITES_IDX_MAP


def split_checkpoint(checkpoint: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(channel values, everything else) of a LangGraph checkpoint."""
    rest = {k: v for k, v in checkpoint.items() if k != "channel_values"}
    return dict(checkpoint.get("channel_values") or {}), rest


def commit_message(metadata: Mapping[str, Any], nodes: Sequence[str] = (), newest: str | None = None) -> str:
    """A one-line summary for ``statevcs log``: the step, the nodes that ran in it and the
    newest message (``loop step 3 agent: ai "Paris is sunny"``)."""
    source = metadata.get("source", "checkpoint")
    step = metadata.get("step")
    line = f"{source} step {step}" if step is not None else str(source)
    if nodes:
        line += " " + ", ".join(nodes)
    return f"{line}: {newest}" if newest else line


def merge_writes(existing: list[dict[str, Any]], task_id: str, task_path: str,
                 writes: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """``existing`` write records plus ``writes`` of one task, as LangGraph's savers keep them.

    A record is keyed by (task id, index); the index of a special channel (error,
    interrupt, resume, scheduled) is fixed and negative, and such a write replaces an
    earlier one; a regular write whose key exists is ignored (puts are idempotent).
    Sorted by (task path, task id, index): the order LangGraph applies them in."""
    by_key = {(w["task_id"], w["idx"]): w for w in existing}
    for i, (channel, value) in enumerate(writes):
        idx = WRITES_IDX_MAP.get(channel, i)
        key = (task_id, idx)
        if idx >= 0 and key in by_key:
            continue
        by_key[key] = {"task_id": task_id, "idx": idx, "channel": channel, "value": value, "task_path": task_path}
    return sorted(by_key.values(), key=lambda w: (w["task_path"], w["task_id"], w["idx"]))


def metadata_matches(metadata: dict[str, Any], query: dict[str, Any] | None) -> bool:
    """``list(filter=...)``: every key of the query equals the metadata's."""
    return not query or all(metadata.get(k) == v for k, v in query.items())
