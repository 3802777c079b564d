"""LangGraph checkpointers on statevcs: ``StateVCSSaver`` and ``AsyncStateVCSSaver``.

Needs the ``langgraph`` extra (``pip install "statevcs[langgraph]"``). Threads are
branches ``threads/<thread>[/<namespace>]``, checkpoints are commits whose state is the
channel values as JSON; docs/langgraph.md has the whole mapping.
"""

from .aio import AsyncStateVCSSaver
from .naming import thread_branch
from .saver import StateVCSSaver

__all__ = ["AsyncStateVCSSaver", "StateVCSSaver", "thread_branch"]
