"""statevcs on PostgreSQL beside LangGraph's PostgresSaver, measured in the same run.

    python benchmarks/bench_postgres.py [--quick] [--url postgresql://HOST/DB]

Prints:
- round trips and statements of one durable ~1 KB commit (libpq's protocol trace) beside
  one PostgresSaver.put of a checkpoint holding the same state;
- the median time of a commit and of a put, in lock-step (one of each in turn, so load
  from other processes hits both alike), and the client CPU each takes;
- commits/s of 8 writers each on its own branch of one repository (8 processes) beside
  puts/s of 8 PostgresSaver writers on their own threads and connections;
- history from a fresh open: ``Repository.log`` of n commits beside ``PostgresSaver.list``
  of n checkpoints, and the state of the commit n/2 back beside ``get_tuple`` of that one.
Needs the postgres extra and langgraph-checkpoint-postgres (the bench extra). Nothing is
asserted: it prints.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_core import _LangGraph, small_state  # noqa: E402
from bench_shared import DEFAULT_URL  # noqa: E402
from bench_shared import pg_url as repo_url  # noqa: E402

from statevcs import Repository  # noqa: E402


def trace(conn, fn) -> dict:
    """Round trips (a run of client messages answered by the server) and statements while fn runs."""
    from psycopg import pq

    fd, path = tempfile.mkstemp(suffix=".pqtrace")
    with os.fdopen(fd, "w") as f:
        conn.pgconn.trace(f.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        fn()
        conn.pgconn.untrace()
    trips, prev, sent = 0, None, collections.Counter()
    with open(path) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            if parts[0] == "B" and prev == "F":
                trips += 1
            prev = parts[0]
            if parts[0] == "F":
                sent[parts[2]] += 1
    os.unlink(path)
    return {"round_trips": trips, "statements": sent["Query"] + sent["Execute"]}


class Saver(_LangGraph):
    """PostgresSaver.put of a checkpoint holding the same 1 KB state (autocommit, as its docs
    set up); ``step`` is bench_core's SqliteSaver one."""

    def __init__(self, url: str) -> None:  # its own set-up, not SqliteSaver's
        import psycopg
        from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
        from langgraph.checkpoint.postgres import PostgresSaver

        self.create = create_checkpoint
        self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        self.saver = PostgresSaver(self.conn)
        self.saver.setup()
        self.cfg = {"configurable": {"thread_id": uuid.uuid4().hex, "checkpoint_ns": ""}}
        self.ck = empty_checkpoint()


def lockstep(repo: Repository, saver: Saver, n: int) -> tuple[float, float, float, float]:
    """Median seconds per commit and per put, and CPU seconds of each, one of each in turn."""
    ours, theirs, cpu_ours, cpu_theirs = [], [], 0.0, 0.0
    for i in range(n):
        c, t = time.process_time(), time.perf_counter()
        repo.commit(small_state(10_000 + i), message=f"step {i}")
        ours.append(time.perf_counter() - t)
        cpu_ours += time.process_time() - c
        c, t = time.process_time(), time.perf_counter()
        saver.step(10_000 + i)
        theirs.append(time.perf_counter() - t)
        cpu_theirs += time.process_time() - c
    return statistics.median(ours), statistics.median(theirs), cpu_ours / n, cpu_theirs / n


def _writer(location: str, k: int, n: int, ready, go, done) -> None:
    repo = Repository.open(location)
    repo.commit(small_state(k * 100_000 - 1), branch=f"w{k}", message="warm-up", allow_empty=True)  # connected
    ready.put(k)
    go.wait()
    for i in range(n):
        repo.commit(small_state(i + k * 100_000), branch=f"w{k}", message="w")
    done.put(k)
    repo.close()


def statevcs_writers(location: str, procs: int, n: int) -> float:
    """Commits/s of ``procs`` processes, timed from when all are ready to when all are done."""
    repo = Repository.open(location)
    base = repo.commit(small_state(-1), allow_empty=True)
    for k in range(procs):
        repo.create_branch(f"w{k}", base.id, force=True)
    repo.close()
    ready, go, done = mp.Queue(), mp.Event(), mp.Queue()
    ps = [mp.Process(target=_writer, args=(location, k, n, ready, go, done)) for k in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get(timeout=120)
    start = time.perf_counter()
    go.set()
    for _ in ps:
        done.get(timeout=600)
    elapsed = time.perf_counter() - start
    for p in ps:
        p.join()
    return procs * n / elapsed


def saver_writers(url: str, threads: int, n: int) -> float:
    savers = [Saver(url) for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def run(s: Saver) -> None:
        barrier.wait()
        for i in range(n):
            s.step(i)

    ts = [threading.Thread(target=run, args=(s,)) for s in savers]
    for t in ts:
        t.start()
    barrier.wait()
    start = time.time()
    for t in ts:
        t.join()
    rate = threads * n / (time.time() - start)
    for s in savers:
        s.conn.close()
    return rate


def history(url: str, repo: Repository, saver: Saver, n: int, rounds: int = 5) -> None:
    """Read back what the lock-step run wrote (n commits, n checkpoints), medians of ``rounds``
    fresh opens, interleaved; each side's connection is made before the clock starts."""
    thread = {"configurable": {"thread_id": saver.cfg["configurable"]["thread_id"], "checkpoint_ns": ""}}
    ids = [c.id for c in repo.log("main", limit=n)]
    configs = [t.config for t in saver.saver.list(thread, limit=n)]
    times: dict[str, list[float]] = {"log": [], "list": [], "get": [], "get_tuple": []}
    for _ in range(rounds):
        r = Repository.open(url)
        r.store.read_ref("HEAD")
        t = time.perf_counter()
        assert len(list(r.log("main", limit=n))) == n
        times["log"].append(time.perf_counter() - t)
        r.objects.forget()
        t = time.perf_counter()
        r.get(ids[n // 2])
        times["get"].append(time.perf_counter() - t)
        r.close()
        t = time.perf_counter()
        assert len(list(saver.saver.list(thread, limit=n))) == n
        times["list"].append(time.perf_counter() - t)
        t = time.perf_counter()
        saver.saver.get_tuple(configs[n // 2])
        times["get_tuple"].append(time.perf_counter() - t)
    m = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nhistory from a fresh open (median of {rounds})")
    print(f"  log of {n} commits           {m['log'] * 1e3:8.1f} ms   PostgresSaver.list {m['list'] * 1e3:.1f} ms: "
          f"statevcs takes {m['log'] / m['list']:.2f}x its time")
    print(f"  state of the commit {n // 2} back {m['get'] * 1e6:8.0f} us   PostgresSaver.get_tuple "
          f"{m['get_tuple'] * 1e6:.0f} us: statevcs takes {m['get'] / m['get_tuple']:.2f}x its time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    n = 300 if args.quick else 2000
    per_writer = 100 if args.quick else 400
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"PostgreSQL at {args.url.split('@')[-1]} (same machine); load average {os.getloadavg()[0]:.2f}")
    import psycopg

    # PostgresSaver's tables go in a schema of their own, dropped at the end: nothing is left
    # in the database's public schema.
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    saver_url = args.url + ("&" if "?" in args.url else "?") + f"options=-csearch_path%3D{schema}"
    try:
        _run(args, saver_url, n, per_writer)
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _run(args: argparse.Namespace, saver_url: str, n: int, per_writer: int) -> None:
    try:
        saver = Saver(saver_url)
    except ImportError:
        print("langgraph-checkpoint-postgres is not installed (pip install '.[bench]'): nothing to compare")
        return
    url = repo_url(args.url)
    repo = Repository.init(url)
    try:
        for i in range(20):
            repo.commit(small_state(i), message="warm-up")
            saver.step(i)
        ours = trace(repo.store._conn(), lambda: repo.commit(small_state(100), message="traced"))
        theirs = trace(saver.conn, lambda: saver.step(100))
        print("\none durable ~1 KB commit")
        print(f"  statevcs commit          {ours['round_trips']} round trip(s), {ours['statements']} statements")
        print(f"  PostgresSaver.put        {theirs['round_trips']} round trip(s), {theirs['statements']} statements")
        t_ours, t_theirs, c_ours, c_theirs = lockstep(repo, saver, n)
        print(f"\nlock-step, {n} of each (median)")
        print(f"  statevcs commit          {t_ours * 1e6:7.0f} us  (client CPU {c_ours * 1e6:.0f} us)")
        print(f"  PostgresSaver.put        {t_theirs * 1e6:7.0f} us  (client CPU {c_theirs * 1e6:.0f} us)")
        print(f"  statevcs runs at {t_theirs / t_ours:.2f}x PostgresSaver's rate")
        history(url, repo, saver, n)
        print(f"\n8 writers, {per_writer} each, each on its own branch / thread")
        url8 = repo_url(args.url)
        Repository.init(url8).close()
        ours8 = statevcs_writers(url8, 8, per_writer)
        theirs8 = saver_writers(saver_url, 8, per_writer)
        print(f"  statevcs (8 processes)   {ours8:7.0f} commits/s")
        print(f"  PostgresSaver (8 threads){theirs8:7.0f} puts/s")
        print(f"  statevcs runs at {ours8 / theirs8:.2f}x; load average {os.getloadavg()[0]:.2f}")
        Repository.open(url8).store.destroy()  # type: ignore[attr-defined]
    finally:
        repo.store.destroy()  # type: ignore[attr-defined]
        repo.close()
        saver.conn.close()


if __name__ == "__main__":
    main()
