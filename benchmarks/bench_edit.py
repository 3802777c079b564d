"""Incremental writes (issue 8.2): a one-leaf edit through repo.edit / repo.commit_patch
beside a full repo.commit of the changed state, on team states of 1k, 10k and 50k agents.

    python benchmarks/bench_edit.py [--quick]

Prints, per size, in one run on the embedded SQLite store (fsync per commit):
- time of a one-leaf edit (repo.edit + tx.set), of repo.commit_patch of the same change,
  and of repo.commit of the whole changed value;
- bytes of new objects each writes (what the store grows by, before compression);
- for comparison: reading the whole state (repo.get) and jsonpatch.apply_patch on the
  materialised value (what a read-patch-write without statevcs's edit path would cost
  before any encoding).
Nothing is asserted: it prints.
"""

from __future__ import annotations

import argparse
import copy
import os
import pathlib
import platform
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jsonpatch  # noqa: E402

from statevcs import Repository  # noqa: E402
from statevcs.model.tree import write_tree  # noqa: E402


def team(n: int) -> dict:
    """About 200 bytes per agent: 50,000 agents is a ~10 MB state."""
    return {
        "agents": [{"id": f"agent-{i:05d}", "status": "idle", "step": i, "model": "large-2026-10",
                    "notes": f"agent {i} keeps a short note about what it is doing right now", "score": i * 0.5,
                    "tools": ["search", "code"]} for i in range(n)],
        "round": 1,
    }


def best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def new_bytes(repo: Repository, objects: dict[str, bytes]) -> int:
    have = repo.store.has_many(objects)
    return sum(len(raw) for oid, raw in objects.items() if oid not in have)


def run(n: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.init(os.path.join(tmp, "r"), author="bench")
        state = team(n)
        size = len(__import__("json").dumps(state))
        repo.commit(state, "start")
        counter = iter(range(10**9))

        def edit() -> None:
            with repo.edit(message="one leaf") as tx:
                tx.set(f"/agents/{n // 2}/step", next(counter))

        def patch() -> None:
            repo.commit_patch([{"op": "replace", "path": f"/agents/{n // 3}/step", "value": next(counter)}],
                              message="one leaf")

        def full() -> None:
            state["agents"][n // 4]["step"] = next(counter)
            repo.commit(state, "one leaf, whole value")

        t_edit, t_patch, t_full = best(edit, rounds), best(patch, rounds), best(full, rounds)
        with repo.edit() as tx:
            tx.set(f"/agents/{n // 2}/step", -1)
            b_edit = new_bytes(repo, tx._editor.objects())
        state["agents"][n // 4]["step"] = -2
        b_full = new_bytes(repo, write_tree(state)[1])
        t_get = best(lambda: repo.get(), 2)
        value = repo.get()
        one = [{"op": "replace", "path": f"/agents/{n // 2}/step", "value": 7}]
        t_jp = best(lambda: jsonpatch.apply_patch(value, one), 2)
        t_copy = best(lambda: copy.deepcopy(value), 2)
        print(f"{n:>6} agents ({size / 1e6:5.1f} MB): edit {t_edit * 1e3:7.2f} ms  commit_patch "
              f"{t_patch * 1e3:7.2f} ms  full commit {t_full * 1e3:8.1f} ms ({t_full / t_edit:5.0f}x)  | new bytes: "
              f"edit {b_edit:,}  full commit {b_full:,}  | repo.get {t_get * 1e3:7.1f} ms, "
              f"jsonpatch.apply_patch {t_jp * 1e3:6.1f} ms (deepcopy {t_copy * 1e3:6.1f} ms)")
        repo.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1k and 10k agents only, fewer rounds")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    sizes = (1000, 10000) if args.quick else (1000, 10000, 50000)
    for n in sizes:
        run(n, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
