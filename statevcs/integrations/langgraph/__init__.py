"""LangGraph checkpointers on statevcs: ``StateVCSSaver`` and ``AsyncStateVCSSaver``.

Needs the ``langgraph`` extra (``pip install "statevcs[langgraph]"``). Threads are
branches ``threads/<thread>[/<namespace>]``, checkpoints are commits whose state is the
channel values as JSON; docs/langgraph.md has the whole mapping.

The savers are loaded on first use, so the modules that need only JSON (``naming``,
``review``, ``threads``) serve the CLI without importing LangGraph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aio import AsyncStateVCSSaver
    from .naming import thread_branch
    from .saver import StateVCSSaver

__all__ = ["AsyncStateVCSSaver", "StateVCSSaver", "thread_branch"]


def __getattr__(name: str) -> Any:
    if name == "StateVCSSaver":
        from .saver import StateVCSSaver

        return StateVCSSaver
    if name == "AsyncStateVCSSaver":
        from .aio import AsyncStateVCSSaver

        return AsyncStateVCSSaver
    if name == "thread_branch":
        from .naming import thread_branch

        return thread_branch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
