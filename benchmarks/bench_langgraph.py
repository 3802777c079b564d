"""The same 500-turn chat graph on LangGraph's SqliteSaver and on StateVCSSaver (embedded).

Prints total store size and time per turn (one ``invoke``: input, node, three
checkpoints) around turn 10 and turn 500, measured in the same run. Needs
``pip install ".[langgraph]" langgraph-checkpoint-sqlite``.

    python benchmarks/bench_langgraph.py [--turns 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Annotated, Any, Callable, TypedDict

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from statevcs.integrations.langgraph import StateVCSSaver  # noqa: E402

WORDS = "state diff merge branch tag agent tool memory plan step check value".split()


class Chat(TypedDict):
    messages: Annotated[list, add_messages]


def sentence(n: int, length: int = 12) -> str:
    """Deterministic text of about 80 characters."""
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(length))


def reply(state: Chat) -> dict[str, Any]:
    n = len(state["messages"])
    return {"messages": [AIMessage(sentence(n), id=f"ai-{n}")]}


def graph(checkpointer: Any) -> Any:
    b = StateGraph(Chat)
    b.add_node("reply", reply)
    b.add_edge(START, "reply")
    b.add_edge("reply", END)
    return b.compile(checkpointer=checkpointer)


def dir_size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def run(name: str, open_saver: Callable[[str], Any], turns: int, work: str) -> dict[str, Any]:
    """Run ``turns`` turns; time per turn averaged over the 5 turns ending at 10 and at ``turns``."""
    times: list[float] = []
    with open_saver(work) as saver:
        g = graph(saver)
        config = {"configurable": {"thread_id": "chat"}}
        for turn in range(1, turns + 1):
            start = time.perf_counter()
            g.invoke({"messages": [HumanMessage(sentence(turn + 1000), id=f"h-{turn}")]}, config)
            times.append(time.perf_counter() - start)
        final = g.get_state(config).values["messages"]
    raw = sum(len(json.dumps(m.content)) for m in final)
    return {"name": name, "bytes": dir_size(work), "raw": raw, "messages": len(final),
            "t10": sum(times[5:10]) / 5, "tN": sum(times[-5:]) / 5}


def sqlite_saver(work: str) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver.from_conn_string(os.path.join(work, "checkpoints.sqlite"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    args = parser.parse_args()
    results = []
    for name, opener in (("SqliteSaver", sqlite_saver), ("StateVCSSaver", StateVCSSaver.from_conn_string)):
        with tempfile.TemporaryDirectory() as work:
            results.append(run(name, opener, args.turns, work))
    base = results[0]
    print(f"{args.turns} chat turns ({base['messages']} messages, {base['raw']:,} bytes of message text)")
    print(f"{'saver':<15}{'store bytes':>14}{'x text':>9}{'ms/turn @10':>13}{f'ms/turn @{args.turns}':>14}")
    for r in results:
        print(f"{r['name']:<15}{r['bytes']:>14,}{r['bytes'] / r['raw']:>9.1f}{r['t10'] * 1000:>13.2f}{r['tN'] * 1000:>14.2f}")
    ours = results[1]
    print(f"store: SqliteSaver / StateVCSSaver = {base['bytes'] / ours['bytes']:.1f}x; "
          f"time per turn StateVCSSaver / SqliteSaver: {ours['t10'] / base['t10']:.2f}x at turn 10, "
          f"{ours['tN'] / base['tN']:.2f}x at turn {args.turns}")


if __name__ == "__main__":
    main()
