"""Small deterministic LangGraph graphs for the checkpointer tests (no LLM, no network).

Run as a script (``python -m tests.langgraph_graphs DIR THREAD``) it runs the review
graph until its interrupt and exits: the test resumes it in another process.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt


class ChatState(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    count: int
    seen: set


def bot(state: ChatState) -> dict[str, Any]:
    n = state.get("count", 0) + 1
    last = state["messages"][-1].content
    return {"messages": [AIMessage(f"reply {n} to {last}", id=f"ai-{n}")], "count": n,
            "seen": set(state.get("seen") or set()) | {n}}


def review(state: ChatState) -> dict[str, Any]:
    answer = interrupt({"question": "approve?", "count": state["count"]})
    return {"messages": [HumanMessage(f"review: {answer}", id=f"review-{state['count']}")]}


def chat_graph(checkpointer: Any) -> Any:
    """START -> bot -> END: one reply per invoke."""
    b = StateGraph(ChatState)
    b.add_node("bot", bot)
    b.add_edge(START, "bot")
    b.add_edge("bot", END)
    return b.compile(checkpointer=checkpointer)


def review_graph(checkpointer: Any) -> Any:
    """START -> bot -> review (interrupts for a human answer) -> END."""
    b = StateGraph(ChatState)
    b.add_node("bot", bot)
    b.add_node("review", review)
    b.add_edge(START, "bot")
    b.add_edge("bot", "review")
    b.add_edge("review", END)
    return b.compile(checkpointer=checkpointer)


def main(path: str, thread: str) -> None:
    from statevcs.integrations.langgraph import StateVCSSaver

    with StateVCSSaver.from_conn_string(path) as saver:
        out = review_graph(saver).invoke({"messages": [HumanMessage("hello", id="h-1")]},
                                         {"configurable": {"thread_id": thread}})
        print(out["__interrupt__"][0].value["question"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
