"""The same 500-turn chat graph on LangGraph's SqliteSaver and on StateVCSSaver (embedded).

Prints total store size, time per turn (one ``invoke``: input, node, three
checkpoints, two sets of pending writes) around turn 10 and turn 500, and durable write
transactions per turn, measured in the same run with the savers in lock-step. Needs
``pip install ".[langgraph]" langgraph-checkpoint-sqlite``.

    python benchmarks/bench_langgraph.py [--turns 500]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from statevcs.integrations.langgraph import StateVCSSaver

WORDS = ["state", "diff", "merge", "branch", "tag", "agent", "tool", "memory", "plan", "step", "check", "value"]


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


def run(savers: list[tuple[str, Callable[[str], Any]]], turns: int) -> list[dict[str, Any]]:
    """Run ``turns`` turns on every saver, in lock-step (turn t on each saver in turn, so the
    disk's fsync noise falls on all alike); time per turn is the median of the 5 turns ending
    at turn 10 and of the last 5; durable transactions are counted per turn."""
    with contextlib.ExitStack() as dirs:
        runs = []
        with contextlib.ExitStack() as stack:
            for name, open_saver in savers:
                work = dirs.enter_context(tempfile.TemporaryDirectory())
                saver = stack.enter_context(open_saver(work))
                counter = [0]
                count_transactions(saver, counter)
                runs.append({"name": name, "work": work, "saver": saver, "graph": graph(saver), "times": [],
                             "counter": counter})
            config = {"configurable": {"thread_id": "chat"}}
            for turn in range(1, turns + 1):
                for r in runs:
                    start = time.perf_counter()
                    r["graph"].invoke({"messages": [HumanMessage(sentence(turn + 1000), id=f"h-{turn}")]}, config)
                    r["times"].append(time.perf_counter() - start)
            for r in runs:
                r["final"] = r["graph"].get_state(config).values["messages"]
        results = []  # sizes once the savers are closed (their write-ahead logs folded in)
        for r in runs:
            final, times = r["final"], r["times"]
            results.append({"name": r["name"], "bytes": dir_size(r["work"]), "messages": len(final),
                            "raw": sum(len(json.dumps(m.content)) for m in final),
                            "t10": statistics.median(times[5:10]), "tN": statistics.median(times[-5:]),
                            "tx": r["counter"][0] / turns})
    return results


def count_transactions(saver: Any, counter: list[int]) -> None:
    """Count the durable (committed) write transactions ``saver`` makes."""
    if isinstance(saver, StateVCSSaver):
        store = saver.repo.store
        transaction = store.transaction

        @contextlib.contextmanager
        def counted() -> Any:
            with transaction() as tx:
                yield tx
            counter[0] += 1

        store.transaction = counted
    else:  # SqliteSaver: one connection; count its COMMITs
        saver.conn.set_trace_callback(lambda sql: counter.__setitem__(0, counter[0] + (sql.strip().upper() == "COMMIT")))


def sqlite_saver(work: str) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver.from_conn_string(os.path.join(work, "checkpoints.sqlite"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    args = parser.parse_args()
    results = run([("SqliteSaver", sqlite_saver), ("StateVCSSaver", StateVCSSaver.from_conn_string)], args.turns)
    base = results[0]
    print(f"{args.turns} chat turns ({base['messages']} messages, {base['raw']:,} bytes of message text)")
    print(f"{'saver':<15}{'store bytes':>14}{'x text':>9}{'ms/turn @10':>13}{f'ms/turn @{args.turns}':>14}"
          f"{'tx/turn':>9}")
    for r in results:
        print(f"{r['name']:<15}{r['bytes']:>14,}{r['bytes'] / r['raw']:>9.1f}{r['t10'] * 1000:>13.2f}"
              f"{r['tN'] * 1000:>14.2f}{r['tx']:>9.2f}")
    ours = results[1]
    print(f"store: SqliteSaver / StateVCSSaver = {base['bytes'] / ours['bytes']:.1f}x; "
          f"time per turn StateVCSSaver / SqliteSaver: {ours['t10'] / base['t10']:.2f}x at turn 10, "
          f"{ours['tN'] / base['tN']:.2f}x at turn {args.turns}")


if __name__ == "__main__":
    main()
