"""Commit throughput with encryption at rest on and off, measured in the same run.

    python benchmarks/bench_encryption.py [--commits N]

Each variant commits N small edits of a 200-agent state to a fresh SQLite repository
(durable, as users run it), then reads every commit's state back, and reports commits per
second and the database size; the ratio encrypted/plain is the number to watch
(docs/encryption.md).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from statevcs import Repository
from statevcs.store.keys import generate_key


def run(path: str, key: str | None, commits: int) -> tuple[float, float, int]:
    repo = Repository.init(path, key=key)
    state = {"agents": {f"a{i}": {"status": "idle", "notes": ["x" * 40] * 5} for i in range(200)}}
    start = time.perf_counter()
    for n in range(commits):
        state["agents"][f"a{n % 200}"]["status"] = f"step {n}"
        repo.commit(state, message=f"step {n}")
    write = time.perf_counter() - start
    start = time.perf_counter()
    for c in repo.log():
        repo.get(c)
    read = time.perf_counter() - start
    size = repo.store.stored_size()
    repo.close()
    return commits / write, commits / read, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain = run(os.path.join(tmp, "plain"), None, args.commits)
        enc = run(os.path.join(tmp, "enc"), generate_key(), args.commits)
    print(f"{'':10} {'commits/s':>10} {'reads/s':>10} {'stored bytes':>13}")
    print(f"{'plain':10} {plain[0]:10.1f} {plain[1]:10.1f} {plain[2]:13,}")
    print(f"{'encrypted':10} {enc[0]:10.1f} {enc[1]:10.1f} {enc[2]:13,}")
    print(f"{'ratio':10} {enc[0] / plain[0]:10.2f} {enc[1] / plain[1]:10.2f} {enc[2] / plain[2]:13.2f}")


if __name__ == "__main__":
    main()
