"""How statevcs costs grow with the size of a state (issue 8), on a real SQLite repository.

    python benchmarks/bench_scale.py [--quick] [--sizes 1000,10000,50000]

For N agents (an array of agents, and an object keyed by agent id) and a 500-turn chat
(one ~500-byte message appended per turn), prints: first commit time; validation +
encoding + hashing of the value against its floor (orjson sorted dumps + blake3, issue
8.3); 1-leaf and 10-leaf commit time and the store bytes they add (the SQLite objects
table after zstd), both as a whole-value ``commit(state)`` and as an incremental
``repo.edit()`` (and the mean bytes of 20 one-leaf edits at spread positions); a diff of
10 changes between two commits and a ``get`` of one pointer (cold cache, median of 5
runs); a merge of 100 + 100 disjoint changes; and ``jsonpatch.make_patch`` and DeepDiff
on the same pair of values (DeepDiff only up to 10k). Peak RSS at the end. Nothing is
asserted: tests check correctness, this prints figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import pathlib
import platform
import resource
import sqlite3
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import blake3  # noqa: E402
import orjson  # noqa: E402

from statevcs import Repository  # noqa: E402
from statevcs.model.canonical import validate  # noqa: E402
from statevcs.model.tree import write_tree  # noqa: E402


def agent(i: int) -> dict:
    """About 200 bytes of canonical JSON: 50,000 agents make a 10 MB state."""
    return {"id": f"agent-{i:06d}", "role": ["planner", "coder", "critic"][i % 3], "status": "idle",
            "score": i % 97, "step": i, "tasks": [i % 7, i % 11, i % 13],
            "memory": {"last": f"observation {i}", "notes": ["note a", "note b"]}, "model": "m-1"}


def team(n: int, shape: str) -> dict:
    if shape == "array":
        return {"agents": [agent(i) for i in range(n)], "config": {"temperature": 0.5}}
    return {"agents": {f"agent-{i:06d}": agent(i) for i in range(n)}, "config": {"temperature": 0.5}}


def key(shape: str, i: int) -> str:
    return str(i) if shape == "array" else f"agent-{i:06d}"


def timed(fn):
    """(result, ms) of one call. As timeit does, the collector runs before and is off during
    the call: a pass over the big values this script holds is not the operation's cost."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        return result, (time.perf_counter() - start) * 1000
    finally:
        gc.enable()


def cold(repo, fn, runs: int = 5):
    """(result, ms) of ``fn`` from an empty object cache: the median of ``runs`` runs."""
    times = []
    for _ in range(runs):
        repo.objects.forget()
        result, ms = timed(fn)
        times.append(ms)
    return result, sorted(times)[len(times) // 2]


def store_bytes(db: str) -> int:
    """Bytes the objects take as stored (compressed packs)."""
    conn = sqlite3.connect(db)  # closed here: a connection left to the collector keeps the WAL files
    try:
        return conn.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM packs").fetchone()[0]
    finally:
        conn.close()


def disk_bytes(db: str) -> int:
    """What a user sees: the .statevcs directory's files after a WAL checkpoint (tables,
    indexes, reflog, free pages: everything; while the repository is open, also SQLite's
    32 KiB shared-memory index, which goes when the last connection closes)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    folder = os.path.dirname(db)
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms < 1000 else f"{ms / 1000:,.2f} s"


def fmt_b(n: int) -> str:
    return f"{n:,} B" if n < 10_000 else f"{n / 1024:,.1f} KB" if n < 10_000_000 else f"{n / 1e6:,.1f} MB"


def bench_team(n: int, shape: str, deepdiff_limit: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(tmp, author="bench <b@example.com>")
        db = os.path.join(tmp, ".statevcs", "statevcs.db")
        state = team(n, shape)
        raw = len(__import__("json").dumps(state, separators=(",", ":")))
        out: dict = {"N": n, "shape": shape, "raw": raw}
        first, out["first commit"] = timed(lambda: repo.commit(state, message="first"))
        # Issue 8.3: validation + encoding + hashing (no store) against orjson + blake3 of the value.
        _, floor = timed(lambda: blake3.blake3(orjson.dumps(state, option=orjson.OPT_SORT_KEYS)).digest())
        _, encode = timed(lambda: (validate(state), write_tree(state)))
        out["floor: orjson+blake3"] = floor
        out["validate + write_tree"] = encode
        out["x floor"] = encode / floor
        agents = state["agents"]

        # One leaf, whole-value commit.
        before = store_bytes(db)
        agents[key(shape, n // 2) if shape == "object" else n // 2]["status"] = "busy"
        one, out["1-leaf commit(state)"] = timed(lambda: repo.commit(state, message="one"))
        out["1-leaf bytes"] = store_bytes(db) - before
        # One leaf, incremental edit.
        before = store_bytes(db)

        def edit_one():
            with repo.edit(message="edit one") as tx:
                tx.set(f"/agents/{key(shape, n // 3)}/status", "busy")

        _, out["1-leaf edit"] = timed(edit_one)
        out["1-leaf edit bytes"] = store_bytes(db) - before
        # Bytes of a 1-leaf change vary with the size of the chunk it lands in: the mean of 20.
        grown = []
        disk_before = disk_bytes(db)
        for j in range(20):
            before = store_bytes(db)
            with repo.edit(message=f"leaf {j}") as tx:
                tx.set(f"/agents/{key(shape, (j * 7919 + 13) % n)}/step", -j - 1)
            grown.append(store_bytes(db) - before)
        out["1-leaf bytes, mean of 20"] = sum(grown) / len(grown)
        out["1-leaf disk bytes, mean of 20"] = (disk_bytes(db) - disk_before) / 20
        state = repo.get()
        agents = state["agents"]

        # Ten leaves spread over the state.
        before = store_bytes(db)
        picks = [(j * n) // 10 + 1 for j in range(10)]
        base_value = copy.deepcopy(state)
        for i in picks:
            agents[key(shape, i) if shape == "object" else i]["score"] = -1
        ten, out["10-leaf commit(state)"] = timed(lambda: repo.commit(state, message="ten"))
        out["10-leaf bytes"] = store_bytes(db) - before
        head_before_ten = repo.resolve("HEAD~1").id

        # A diff of those 10 changes (cold cache), and peers on the same two values.
        d, out["diff 10 changes"] = cold(repo, lambda: repo.diff(head_before_ten, ten.id).patch)
        assert len(d) == 10, len(d)
        import jsonpatch

        _, out["jsonpatch.make_patch"] = timed(lambda: jsonpatch.make_patch(base_value, state))
        if n <= deepdiff_limit:
            from deepdiff import DeepDiff

            _, out["DeepDiff"] = timed(lambda: DeepDiff(base_value, state))
        # get of one pointer, cold cache.
        _, out["get one pointer"] = cold(repo, lambda: repo.get(ten.id, f"/agents/{key(shape, n - 1)}/memory/last"))

        # Merge of 100 + 100 disjoint changes.
        repo.create_branch("other", ten.id)
        ours, theirs = repo.get(), repo.get()
        for j in range(100):
            i = (j * n) // 100
            (ours["agents"][key(shape, i) if shape == "object" else i])["step"] = -1
            (theirs["agents"][key(shape, i + 2) if shape == "object" else i + 2])["step"] = -2
        repo.commit(ours, message="ours")
        repo.commit(theirs, message="theirs", branch="other")
        repo.objects.forget()
        _, out["merge 100+100"] = timed(lambda: repo.merge("other", "main", message="merge"))
        repo.close()
        return out


def bench_chat(turns: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(tmp, author="bench <b@example.com>")
        db = os.path.join(tmp, ".statevcs", "statevcs.db")
        state: dict = {"messages": [], "summary": ""}
        raw = 0
        times = []
        for t in range(turns):
            message = {"role": "user" if t % 2 else "assistant", "turn": t,
                       "content": (f"turn {t}: " + "lorem ipsum dolor sit amet " * 18)[:470]}
            raw += len(__import__("json").dumps(message, separators=(",", ":")))
            state["messages"].append(message)
            _, ms = timed(lambda: repo.commit(state, message=f"turn {t}"))
            times.append(ms)
        commit_bytes = store_bytes(db)
        on_disk = disk_bytes(db)
        repo.close()
        closed = disk_bytes(db)
        repo = Repository.open(tmp)
        edit_times = []
        for t in range(turns, turns + 100):  # then 100 turns through repo.edit (append)
            message = {"role": "user", "turn": t, "content": (f"turn {t}: " + "lorem ipsum " * 40)[:470]}

            def append():
                with repo.edit(message=f"turn {t}") as tx:
                    tx.append("/messages", message)

            edit_times.append(timed(append)[1])
        repo.close()
        return {"turns": turns, "raw": raw, "store": commit_bytes, "ratio": commit_bytes / raw,
                "disk": on_disk, "disk ratio": on_disk / raw, "closed": closed, "closed ratio": closed / raw,
                "commit ms (median)": sorted(times)[len(times) // 2], "last commit ms": times[-1],
                "edit append ms (median)": sorted(edit_times)[len(edit_times) // 2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k only, 100 chat turns")
    parser.add_argument("--sizes", default=None, help="comma-separated agent counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([1000, 10_000] if args.quick
                                                                          else [1000, 10_000, 50_000])
    print(f"# bench_scale on {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = []
    for shape in ("array", "object"):
        for n in sizes:
            row = bench_team(n, shape, deepdiff_limit=10_000)
            rows.append(row)
            print(f"\n## {shape} of {n:,} agents ({fmt_b(row['raw'])} of JSON)")
            for name, value in row.items():
                if name in ("N", "shape", "raw"):
                    continue
                shown = (f"{value:.1f}x" if name.startswith("x ") else fmt_b(value) if "bytes" in name
                         else fmt_ms(value))
                print(f"  {name:24s} {shown}")
    chat = bench_chat(100 if args.quick else 500)
    print(f"\n## chat of {chat['turns']} turns (one ~500-byte message per turn)")
    print(f"  messages (raw JSON)      {fmt_b(chat['raw'])}")
    print(f"  objects after the turns  {fmt_b(chat['store'])} ({chat['ratio']:.2f}x raw)")
    print(f"  .statevcs on disk        {fmt_b(chat['disk'])} ({chat['disk ratio']:.2f}x raw, after a WAL checkpoint, "
          "the repository open)")
    print(f"  .statevcs, closed        {fmt_b(chat['closed'])} ({chat['closed ratio']:.2f}x raw: what stays on disk)")
    print(f"  commit(state) per turn   {fmt_ms(chat['commit ms (median)'])} median, "
          f"{fmt_ms(chat['last commit ms'])} at the last turn")
    print(f"  edit append per turn     {fmt_ms(chat['edit append ms (median)'])} median (100 more turns)")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
