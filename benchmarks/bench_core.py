"""Core speed and size figures for statevcs, beside peers measured in the same run.

    python benchmarks/bench_core.py [--quick]

Prints:
- commits/s for a ~1 KB state with one changed field (embedded store, fsync per commit),
  beside pygit2 (blob + tree + commit + ref per state; git does not fsync loose objects by
  default) and LangGraph's SqliteSaver checkpointer (WAL, synchronous=FULL);
- latency of get on HEAD (whole 1 KB state, whole 2 MB team state, one pointer in it);
- store growth per commit for a one-leaf change to the 1,000-agent fixture;
- diff of two committed versions of the 1,000-agent fixture with 10 and 100 changed leaves,
  beside deepdiff.DeepDiff and jsonpatch.make_patch on the same pair; merge3 of committed
  versions with 10 and 100 changes on each side; the same on plain (uncommitted) values
  (both walk the values directly, after validating them).
Peers that are not installed are skipped with a note. Nothing here is asserted: it prints.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import platform
import random
import sqlite3
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statevcs import Repository  # noqa: E402
from statevcs import diff, merge3  # noqa: E402
from statevcs.algo.diff import diff_trees  # noqa: E402
from statevcs.algo.treemerge import merge_trees  # noqa: E402


def small_state(i: int) -> dict:
    state = {
        "agent": {"id": "agent-7", "status": "running", "step": i, "model": "large-2026-10", "temperature": 0.2},
        "memory": [{"role": "user" if k % 2 else "assistant", "text": f"message number {k} with some words"}
                   for k in range(12)],
        "tools": {"search": True, "code": False, "browse": True},
    }
    return state


def timeit(fn, n: int) -> float:
    """Seconds per call (best of 3 rounds of n)."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def _durable(conn: sqlite3.Connection) -> sqlite3.Connection:
    """WAL + synchronous=FULL: each commit fsyncs the WAL (what statevcs's store does)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class _Floor:
    """One-row fsynced SQLite transactions: the ceiling for any durable embedded commit."""

    def __init__(self, tmp: str) -> None:
        self.conn = _durable(sqlite3.connect(os.path.join(tmp, "floor.db"), isolation_level=None))
        self.conn.execute("CREATE TABLE t (id BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")

    def step(self, i: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO t VALUES (?, ?)", (os.urandom(32), os.urandom(900)))
        self.conn.execute("COMMIT")


class _StateVCS:
    def __init__(self, tmp: str) -> None:
        self.repo = Repository.init(os.path.join(tmp, "r"))

    def step(self, i: int) -> None:
        self.repo.commit(small_state(i), message=f"step {i}")


class _Pygit2:
    def __init__(self, tmp: str) -> None:
        import pygit2

        self.pygit2 = pygit2
        self.g = pygit2.init_repository(os.path.join(tmp, "g"), bare=True)
        self.sig = pygit2.Signature("bench", "bench@example.com")
        self.parent: list = []

    def step(self, i: int) -> None:
        blob = self.g.create_blob(json.dumps(small_state(i), sort_keys=True).encode())
        tb = self.g.TreeBuilder()
        tb.insert("state.json", blob, self.pygit2.GIT_FILEMODE_BLOB)
        self.parent = [self.g.create_commit("refs/heads/main", self.sig, self.sig, f"step {i}", tb.write(),
                                            self.parent)]


class _LangGraph:
    """SqliteSaver.put of a checkpoint holding the same state, on a WAL + synchronous=FULL
    connection (the durability statevcs's store has: every put fsyncs)."""

    def __init__(self, tmp: str) -> None:
        from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
        from langgraph.checkpoint.sqlite import SqliteSaver

        self.create = create_checkpoint
        conn = _durable(sqlite3.connect(os.path.join(tmp, "lg.db"), check_same_thread=False))
        self.saver = SqliteSaver(conn)
        self.saver.setup()
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, after setup too
        self.cfg = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        self.ck = empty_checkpoint()

    def step(self, i: int) -> None:
        self.ck = self.create(self.ck, None, i)
        self.ck["channel_values"] = {"state": small_state(i)}
        self.ck["channel_versions"] = {"state": i + 1}
        self.cfg = self.saver.put(self.cfg, self.ck, {"step": i}, {"state": i + 1})


def bench_commits(n: int, rounds: int = 5) -> dict:
    """Commits/s of each system, interleaved: ``rounds`` rounds of n/rounds commits each, in
    turn, so that load from other processes hits all of them alike; the median round counts."""
    out: dict = {"state_bytes": len(json.dumps(small_state(0), separators=(",", ":")))}
    makers = {"sqlite-floor": _Floor, "statevcs": _StateVCS, "pygit2": _Pygit2, "langgraph-sqlite": _LangGraph}
    per = max(1, n // rounds)
    with tempfile.TemporaryDirectory() as tmp:
        systems = {}
        for name, make in makers.items():
            os.makedirs(os.path.join(tmp, name))
            try:
                systems[name] = make(os.path.join(tmp, name))
            except ImportError:
                out[name] = None
        rates: dict[str, list[float]] = {name: [] for name in systems}
        for r in range(rounds):
            for name, system in systems.items():
                t = time.perf_counter()
                for i in range(r * per, (r + 1) * per):
                    system.step(i)
                rates[name].append(per / (time.perf_counter() - t))
        for name, rs in rates.items():
            out[name] = sorted(rs)[len(rs) // 2]
        systems["statevcs"].repo.close()
    return out


def bench_history(n: int = 1000, rounds: int = 7) -> dict:
    """Reading history from a fresh open (no cache) beside SqliteSaver in the same run: the
    metadata of ``n`` commits (``Repository.log``) against ``SqliteSaver.list`` of ``n``
    checkpoints (which decodes each state too), and the state of the commit n/2 back by id
    against ``SqliteSaver.get_tuple`` of that checkpoint: first on the fresh connection, then
    (object caches emptied) on the connection as a running process has it, as SqliteSaver's
    is throughout. Medians of ``rounds``, interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(os.path.join(tmp, "r"))
        ids = [repo.commit(small_state(i), message=f"step {i}").id for i in range(n)]
        repo.close()
        os.makedirs(os.path.join(tmp, "lg"))
        saver = _LangGraph(os.path.join(tmp, "lg"))
        for i in range(n):
            saver.step(i)
        configs = [t.config for t in saver.saver.list({"configurable": {"thread_id": "t"}})]
        times: dict[str, list[float]] = {"log": [], "list": [], "get": [], "get_warm": [], "get_tuple": []}
        for _ in range(rounds):
            r = Repository.open(os.path.join(tmp, "r"))
            r.store.read_ref("HEAD")  # connected: the connection is not what is measured
            t = time.perf_counter()
            assert len(list(r.log("main", limit=n))) == n
            times["log"].append(time.perf_counter() - t)
            r.objects.forget()
            t = time.perf_counter()
            r.get(ids[n // 2 - 1])
            times["get"].append(time.perf_counter() - t)
            # Again on the connection now open, as a running process (SqliteSaver's is) has
            # it; the object caches emptied, so the state is still read from the store.
            r.objects.forget()
            t = time.perf_counter()
            r.get(ids[n // 2 - 2])
            times["get_warm"].append(time.perf_counter() - t)
            r.close()
            t = time.perf_counter()
            assert len(list(saver.saver.list({"configurable": {"thread_id": "t"}}, limit=n))) == n
            times["list"].append(time.perf_counter() - t)
            t = time.perf_counter()
            saver.saver.get_tuple(configs[n // 2])
            times["get_tuple"].append(time.perf_counter() - t)
        return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def team_fixture() -> dict:
    with open(ROOT / "fixtures" / "team_1000.json", encoding="utf-8") as f:
        return json.load(f)


def mutate(state: dict, changes: int, seed: int) -> dict:
    """A copy of the team state with ``changes`` leaves changed in different agents."""
    rng = random.Random(seed)
    new = copy.deepcopy(state)
    names = sorted(new["agents"])
    for name in rng.sample(names, changes):
        agent = new["agents"][name]
        field = rng.choice(["status", "step", "score", "active"])
        agent[field] = {"status": "paused", "step": -1, "score": 1.5, "active": None}[field]
    return new


def bench_get_and_growth() -> dict:
    out = {}
    team = team_fixture()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(os.path.join(tmp, "r"))
        repo.commit(small_state(0), message="small")
        out["get_small_us"] = timeit(lambda: repo.get("HEAD"), 2000) * 1e6
        repo.commit(team, message="team")
        reopened = Repository.open(os.path.join(tmp, "r"))  # cold cache for the first call
        t = time.perf_counter()
        reopened.get("HEAD", "/agents/agent-0500/status")
        out["get_pointer_cold_us"] = (time.perf_counter() - t) * 1e6
        out["get_pointer_us"] = timeit(lambda: repo.get("HEAD", "/agents/agent-0500/status"), 2000) * 1e6
        out["get_team_ms"] = timeit(lambda: repo.get("HEAD"), 5) * 1e3
        before = repo.store.stored_size()
        growth = []
        for i in range(20):
            team["agents"][f"agent-{i * 37:04d}"]["step"] += 1
            t = time.perf_counter()
            repo.commit(team, message=f"one leaf {i}")
            growth.append(repo.store.stored_size() - before)
            before = repo.store.stored_size()
        out["team_commit_ms"] = None
        out["growth_bytes"] = sum(growth) / len(growth)
        out["team_json_bytes"] = len(json.dumps(team, separators=(",", ":")))
        t = time.perf_counter()
        for i in range(5):
            team["agents"]["agent-0001"]["step"] += 1
            repo.commit(team, message="timed")
        out["team_commit_ms"] = (time.perf_counter() - t) / 5 * 1e3
        repo.close()
        reopened.close()
    return out


def bench_diff() -> list[dict]:
    rows = []
    team = team_fixture()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(os.path.join(tmp, "r"))
        base = repo.commit(team, message="base")
        for changes in (10, 100):
            other = mutate(team, changes, seed=changes)
            repo.create_branch(f"c{changes}", base.id)
            c = repo.commit(other, branch=f"c{changes}", message=f"{changes} changes")
            ours = timeit(lambda: diff_trees(repo.objects, base.root, c.root), 20)
            row = {"changes": changes, "statevcs_ms": ours * 1e3,
                   "ops": len(diff_trees(repo.objects, base.root, c.root))}
            try:
                from deepdiff import DeepDiff

                row["deepdiff_ms"] = timeit(lambda: DeepDiff(team, other, threshold_to_diff_deeper=0), 1) * 1e3
            except ImportError:
                row["deepdiff_ms"] = None
            import jsonpatch

            row["jsonpatch_ms"] = timeit(lambda: jsonpatch.make_patch(team, other), 1) * 1e3
            row["plain_diff_ms"] = timeit(lambda: diff(team, other), 1) * 1e3
            # merge3 of committed versions: ours = `other`, theirs = another set of changes.
            theirs = mutate(team, changes, seed=changes + 1000)
            repo.create_branch(f"t{changes}", base.id)
            t = repo.commit(theirs, branch=f"t{changes}", message="theirs")
            row["merge_ms"] = timeit(lambda: merge_trees(repo.objects, base.root, c.root, t.root,
                                                         strategy="target_wins"), 10) * 1e3
            row["plain_merge_ms"] = timeit(lambda: merge3(team, other, theirs, strategy="target_wins"), 1) * 1e3
            rows.append(row)
        repo.close()
    return rows


def ratio(ours: float | None, theirs: float | None, higher_is_better: bool) -> str:
    if ours is None or theirs is None:
        return "n/a (peer not installed)"
    r = ours / theirs if higher_is_better else theirs / ours
    return f"{r:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--commits-only", action="store_true", help="only the commits/s comparison")
    args = parser.parse_args()
    n = 500 if args.quick else 3000
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")
    c = bench_commits(n)
    print(f"\ncommits/s, {c['state_bytes']}-byte state, one field changed per commit ({n} commits)")
    print(f"  statevcs (SQLite, fsync per commit)  {c['statevcs']:8.0f}/s")
    print(f"  bare SQLite one-row transactions     {c['sqlite-floor']:8.0f}/s   (the disk's ceiling; statevcs "
          f"reaches {c['statevcs'] / c['sqlite-floor']:.0%} of it)")
    for peer in ("pygit2", "langgraph-sqlite"):
        if c[peer] is None:
            print(f"  {peer:36s} not installed")
        else:
            print(f"  {peer:36s} {c[peer]:8.0f}/s   statevcs is {ratio(c['statevcs'], c[peer], True)} its rate")
    print(f"  (per commit: statevcs {1e6 / c['statevcs']:.0f} us, bare SQLite {1e6 / c['sqlite-floor']:.0f} us"
          + (f", SqliteSaver {1e6 / c['langgraph-sqlite']:.0f} us" if c.get("langgraph-sqlite") else "")
          + f"; load average {os.getloadavg()[0]:.2f})")
    if args.commits_only:
        return
    h = bench_history(300 if args.quick else 1000)
    print("\nhistory, from a fresh open")
    print(f"  log of {300 if args.quick else 1000} commits             {h['log'] * 1e3:8.1f} ms   SqliteSaver.list "
          f"{h['list'] * 1e3:.1f} ms: statevcs takes {h['log'] / h['list']:.2f}x its time")
    print(f"  state of the commit half way back    {h['get'] * 1e6:8.1f} us   SqliteSaver.get_tuple "
          f"{h['get_tuple'] * 1e6:.1f} us: statevcs takes {h['get'] / h['get_tuple']:.2f}x its time")
    print(f"    the same on an open connection     {h['get_warm'] * 1e6:8.1f} us   (object caches emptied): "
          f"{h['get_warm'] / h['get_tuple']:.2f}x")
    g = bench_get_and_growth()
    print("\nget on HEAD")
    print(f"  whole 1 KB state                     {g['get_small_us']:8.1f} us")
    print(f"  one pointer in the team state        {g['get_pointer_us']:8.1f} us (cold cache: {g['get_pointer_cold_us']:.0f} us)")
    print(f"  whole team state ({g['team_json_bytes'] / 1e6:.1f} MB)            {g['get_team_ms']:8.1f} ms")
    print("\n1,000-agent team state, one leaf changed per commit")
    print(f"  store growth per commit              {g['growth_bytes'] / 1024:8.1f} KB")
    print(f"  commit time                          {g['team_commit_ms']:8.1f} ms")
    print("\ndiff of two committed versions of the team state")
    for row in bench_diff():
        print(f"  {row['changes']:3d} changed leaves: statevcs {row['statevcs_ms']:7.3f} ms ({row['ops']} ops); "
              f"DeepDiff {row['deepdiff_ms']:8.1f} ms -> {ratio(row['statevcs_ms'], row['deepdiff_ms'], False)} faster; "
              f"jsonpatch.make_patch {row['jsonpatch_ms']:7.1f} ms -> {ratio(row['statevcs_ms'], row['jsonpatch_ms'], False)} faster")
        print(f"       merge3 of committed versions ({row['changes']} changes each side): {row['merge_ms']:7.3f} ms "
              f"({ratio(row['merge_ms'], row['deepdiff_ms'], False)} faster than DeepDiff's diff of one pair)")
        print(f"       on plain values (never committed; validated first): diff {row['plain_diff_ms']:.0f} ms "
              f"({ratio(row['plain_diff_ms'], row['deepdiff_ms'], False)} vs DeepDiff, "
              f"{ratio(row['plain_diff_ms'], row['jsonpatch_ms'], False)} vs make_patch), "
              f"merge3 {row['plain_merge_ms']:.0f} ms")


if __name__ == "__main__":
    main()
