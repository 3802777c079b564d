"""AsyncStateVCSSaver: the statevcs checkpointer for async graphs.

Every operation runs the synchronous saver's in a worker thread, so the event loop
never waits on the store; operations of one saver are serialised by its lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ...porcelain.upkeep.ages import Age
from .saver import StateVCSSaver, open_or_create


class AsyncStateVCSSaver(StateVCSSaver):
    """``StateVCSSaver`` whose async methods do not block the event loop (sync ones work too)."""

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(cls, conn_string: str, *,  # type: ignore[override]
                               serde: SerializerProtocol | None = None, keep_last: int | None = None,
                               max_age: Age | None = None,
                               cache_bytes: int | None = None) -> AsyncIterator[AsyncStateVCSSaver]:
        """``async with AsyncStateVCSSaver.from_conn_string(path_or_url) as saver``: opened
        (or created) like ``StateVCSSaver.from_conn_string``, closed on exit."""
        repo = await asyncio.to_thread(open_or_create, conn_string, cache_bytes)
        saver = None
        try:
            saver = cls(repo, serde=serde, keep_last=keep_last, max_age=max_age)
            yield saver
        finally:
            if saver is not None:
                await asyncio.to_thread(saver.close)
            await asyncio.to_thread(repo.close)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None, limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        found = await asyncio.to_thread(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in found:
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
                   new_versions: ChannelVersions) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def aget_delta_channel_history(self, *, config: RunnableConfig,
                                         channels: Sequence[str]) -> Mapping[str, DeltaChannelHistory]:
        return await asyncio.to_thread(lambda: self.get_delta_channel_history(config=config, channels=channels))

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)
