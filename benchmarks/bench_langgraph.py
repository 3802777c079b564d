"""LangGraph checkpointers side by side: one tool-calling chat on SqliteSaver and
StateVCSSaver (embedded), and on PostgresSaver and StateVCSSaver (PostgreSQL) when
langgraph-checkpoint-postgres is installed and a database is given, in lock-step in one run.

The graph is LangGraph's usual agent loop: MessagesState, an agent node answering with a
fake chat model from langchain_core (a tool call, then an answer, each user turn) and a
ToolNode: five checkpoints and four messages a turn. Printed, with ratios to the peers:

- time per turn (wall and CPU, median of 5 turns) at turn 10 and at the last turn, the
  savers taking turns so machine noise falls on all alike;
- ``get_state_history(limit=300)`` after the run (median of 3; once past 100 turns);
- durable write transactions per turn (embedded savers);
- store bytes after the run, and after a second run of ``--delta-turns`` turns whose
  messages are a DeltaChannel (LangGraph 1.2);
- peak RSS of the whole run, each saver alone in a child process.

    python benchmarks/bench_langgraph.py [--turns 300] [--delta-turns 100]
        [--postgres postgresql://USER@HOST/DB]     (or STATEVCS_BENCH_POSTGRES_URL)

Each PostgreSQL saver gets a schema of its own in that database (dropped at the end), so
its bytes are the tables and indexes it made. Needs ``pip install ".[langgraph]"
langgraph-checkpoint-sqlite`` (and langgraph-checkpoint-postgres).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.message import _messages_delta_reducer
from langgraph.prebuilt import ToolNode, tools_condition

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from statevcs.integrations.langgraph import StateVCSSaver

WORDS = ["state", "diff", "merge", "branch", "tag", "agent", "tool", "memory", "plan", "step", "check", "value"]
HISTORY = 300


def sentence(n: int, length: int = 12) -> str:
    """Deterministic text of about 80 characters."""
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(length))


@tool
def lookup(topic: str) -> str:
    """Look a topic up."""
    return "found: " + sentence(len(topic))


def replies() -> Iterator[AIMessage]:
    """The fake model's answers: a tool call, then a text answer, turn after turn."""
    n = 0
    while True:
        yield AIMessage("", id=f"call-{n}", tool_calls=[{"name": "lookup", "args": {"topic": sentence(n, 3)},
                                                         "id": f"tc-{n}", "type": "tool_call"}])
        yield AIMessage(sentence(n + 500), id=f"answer-{n}")
        n += 1


class DeltaState(TypedDict):
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer)]


def graph(checkpointer: Any, delta: bool = False) -> Any:
    model = GenericFakeChatModel(messages=replies())

    def agent(state: Any) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    b = StateGraph(DeltaState if delta else MessagesState)
    b.add_node("agent", agent)
    b.add_node("tools", ToolNode([lookup]))
    b.add_edge(START, "agent")
    b.add_conditional_edges("agent", tools_condition)
    b.add_edge("tools", "agent")
    return b.compile(checkpointer=checkpointer)


# ---------------------------------------------------------------- savers
def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


class Saver:
    """One saver under test: how to open it and how big its store is."""

    def __init__(self, name: str, opener: Callable[[str], Any], size: Callable[[str], int], embedded: bool) -> None:
        self.name, self.opener, self.size, self.embedded = name, opener, size, embedded


def sqlite_saver(work: str) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver.from_conn_string(os.path.join(work, "checkpoints.sqlite"))


def savers(postgres: str | None) -> list[Saver]:
    out = [Saver("SqliteSaver", sqlite_saver, dir_size, True),
           Saver("StateVCSSaver", lambda w: StateVCSSaver.from_conn_string(w), dir_size, True)]
    if postgres:
        out.append(Saver("PostgresSaver", lambda schema: postgres_saver(postgres, schema),
                         lambda schema: schema_size(postgres, schema), False))
        out.append(Saver("StateVCSSaver (PG)",
                         lambda schema: StateVCSSaver.from_conn_string(in_schema(postgres, schema) + "&repo=bench"),
                         lambda schema: schema_size(postgres, schema), False))
    return out


def in_schema(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def postgres_saver(url: str, schema: str) -> Iterator[Any]:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(in_schema(url, schema)) as saver:
        saver.setup()
        yield saver


@contextlib.contextmanager
def workspace(saver: Saver, postgres: str | None) -> Iterator[str]:
    """A temporary directory (embedded) or schema (PostgreSQL) for one saver."""
    if saver.embedded:
        with tempfile.TemporaryDirectory() as work:
            yield work
        return
    import psycopg

    schema = f"lgbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def schema_size(url: str, schema: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                           (schema,)).fetchone()
    return int(row[0])


def count_transactions(saver: Any, counter: list[int]) -> None:
    """Count the durable (committed) write transactions of an embedded saver."""
    if isinstance(saver, StateVCSSaver):
        store = saver.repo.store
        transaction = store.transaction

        @contextlib.contextmanager
        def counted() -> Any:
            with transaction() as tx:
                yield tx
            counter[0] += 1

        store.transaction = counted
    elif hasattr(saver, "conn") and hasattr(saver.conn, "set_trace_callback"):  # SqliteSaver: its COMMITs
        saver.conn.set_trace_callback(lambda sql: counter.__setitem__(0, counter[0] + (sql.strip().upper() == "COMMIT")))


# ---------------------------------------------------------------- runs
def turn(g: Any, n: int, config: dict[str, Any]) -> None:
    g.invoke({"messages": [HumanMessage(sentence(n + 1000), id=f"h-{n}")]}, config)


def run(chosen: list[Saver], turns: int, postgres: str | None, delta: bool = False) -> list[dict[str, Any]]:
    """``turns`` turns on every saver in lock-step; per-turn wall and CPU times, history
    time, transactions and store size (measured once the saver is closed)."""
    config = {"configurable": {"thread_id": "chat"}}
    results = []
    with contextlib.ExitStack() as spaces:
        runs = []
        with contextlib.ExitStack() as stack:
            for s in chosen:
                where = spaces.enter_context(workspace(s, postgres))
                saver = stack.enter_context(s.opener(where))
                counter = [0]
                count_transactions(saver, counter)
                runs.append({"saver": s, "where": where, "graph": graph(saver, delta), "wall": [], "cpu": [],
                             "tx": counter})
            for n in range(1, turns + 1):
                for r in runs:
                    w, c = time.perf_counter(), time.process_time()
                    turn(r["graph"], n, config)
                    r["cpu"].append(time.process_time() - c)
                    r["wall"].append(time.perf_counter() - w)
            for r in runs:
                r["messages"] = len(r["graph"].get_state(config).values["messages"])
            history: dict[str, list[float]] = {r["saver"].name: [] for r in runs}
            for _ in range(3 if turns <= 100 else 1):  # 300 snapshots of a long chat take seconds each
                for r in runs:
                    start = time.perf_counter()
                    got = list(r["graph"].get_state_history(config, limit=HISTORY))
                    history[r["saver"].name].append(time.perf_counter() - start)
                    r["history_count"] = len(got)
        for r in runs:  # closed now: write-ahead logs folded in
            s = r["saver"]
            results.append({"name": s.name, "bytes": s.size(r["where"]), "messages": r["messages"],
                            "t10": statistics.median(r["wall"][5:10]), "c10": statistics.median(r["cpu"][5:10]),
                            "tN": statistics.median(r["wall"][-5:]), "cN": statistics.median(r["cpu"][-5:]),
                            "history": statistics.median(history[s.name]), "history_count": r["history_count"],
                            "tx": r["tx"][0] / turns if s.embedded else None})
    return results


def peak_kib() -> int:
    """This process's peak resident set (KiB): VmHWM, which starts afresh at exec (unlike
    ru_maxrss, which a child inherits from its parent on Linux)."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(name: str, turns: int, postgres: str | None) -> None:
    """One saver alone: print its peak RSS (KiB) before and after the run, as JSON."""
    s = next(s for s in savers(postgres) if s.name == name)
    before = peak_kib()
    config = {"configurable": {"thread_id": "chat"}}
    with workspace(s, postgres) as where, s.opener(where) as saver:
        g = graph(saver)
        for n in range(1, turns + 1):
            turn(g, n, config)
    print(json.dumps({"before": before, "peak": peak_kib()}))


def peak_rss(name: str, turns: int, postgres: str | None) -> dict[str, int]:
    args = [sys.executable, __file__, "--child", name, "--turns", str(turns)]
    if postgres:
        args += ["--postgres", postgres]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report
def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    from importlib.metadata import version

    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Python "
            f"{platform.python_version()}, langgraph {version('langgraph')}, langgraph-checkpoint "
            f"{version('langgraph-checkpoint')}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def report(results: list[dict[str, Any]], turns: int) -> None:
    base = results[0]
    print(f"{turns}-turn tool-calling chat ({base['messages']} messages, 5 checkpoints a turn)")
    print(f"{'saver':<20}{'ms/turn @10':>13}{'(cpu)':>8}{f'ms/turn @{turns}':>15}{'(cpu)':>8}"
          f"{f'history {HISTORY} ms':>16}{'tx/turn':>9}{'store bytes':>14}")
    for r in results:
        tx = f"{r['tx']:.2f}" if r["tx"] is not None else "-"
        print(f"{r['name']:<20}{r['t10'] * 1000:>13.2f}{r['c10'] * 1000:>8.2f}{r['tN'] * 1000:>15.2f}"
              f"{r['cN'] * 1000:>8.2f}{r['history'] * 1000:>16.1f}{tx:>9}{r['bytes']:>14,}")
    pairs = [(results[1], results[0])] + ([(results[3], results[2])] if len(results) == 4 else [])
    for ours, peer in pairs:
        print(f"{ours['name']} / {peer['name']}: turn 10 {ratio(ours['t10'], peer['t10'])} "
              f"(cpu {ratio(ours['c10'], peer['c10'])}), turn {turns} {ratio(ours['tN'], peer['tN'])} "
              f"(cpu {ratio(ours['cN'], peer['cN'])}), history {ratio(ours['history'], peer['history'])}, "
              f"store {ratio(ours['bytes'], peer['bytes'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--delta-turns", type=int, default=100)
    parser.add_argument("--postgres", default=os.environ.get("STATEVCS_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-rss", action="store_true", help="Skip the peak-RSS child runs.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    postgres = args.postgres
    if postgres:
        try:
            import langgraph.checkpoint.postgres  # noqa: F401
        except ImportError:
            print("langgraph-checkpoint-postgres is not installed: PostgreSQL savers skipped")
            postgres = None
    if args.child:
        child(args.child, args.turns, postgres)
        return
    chosen = savers(postgres)
    print(f"machine: {machine()}")
    print(f"load average at start: {load()}")
    report(run(chosen, args.turns, postgres), args.turns)
    print()
    delta = run(chosen, args.delta_turns, postgres, delta=True)
    print(f"DeltaChannel messages, {args.delta_turns} turns ({delta[0]['messages']} messages):")
    for r in delta:
        print(f"  {r['name']:<20}{r['bytes']:>12,} bytes   {r['tN'] * 1000:>7.2f} ms/turn @{args.delta_turns}"
              f" (cpu {r['cN'] * 1000:.2f})")
    print(f"  store StateVCSSaver / SqliteSaver = {ratio(delta[1]['bytes'], delta[0]['bytes'])}" + (
        f"; StateVCSSaver (PG) / PostgresSaver = {ratio(delta[3]['bytes'], delta[2]['bytes'])}" if len(delta) == 4
        else ""))
    if not args.no_rss:
        print()
        print(f"peak RSS of the {args.turns}-turn run, each saver alone in a child process (MiB):")
        rss = {s.name: peak_rss(s.name, args.turns, postgres) for s in chosen}
        for name, r in rss.items():
            print(f"  {name:<20}{r['peak'] / 1024:>8.1f}   (after imports: {r['before'] / 1024:.1f})")
        names = [s.name for s in chosen]
        for ours, peer in [(names[1], names[0])] + ([(names[3], names[2])] if len(names) == 4 else []):
            print(f"  {ours} - {peer}: {(rss[ours]['peak'] - rss[peer]['peak']) / 1024:+.1f} MiB")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
