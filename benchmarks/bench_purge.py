"""Purge time on a 1,000-commit history (issue 11.2), on SQLite and in memory.

    python benchmarks/bench_purge.py [--commits N] [--quick]

Builds N commits of a state with 50 agents (one agent's status changes per commit, user 42's
profile present throughout, a side branch merged every 100 commits, a tag every 100), then
times ``repo.purge("/users/42", all=True)``: the rewrite and ref moves, reflog expiry, gc
with prune=now and the SQLite VACUUM. Beside it, for scale, the time ``gc --prune=now``
alone takes on the same repository (the rewrite's own share is the difference), and the
time the N commits took to make. Nothing is asserted: it prints.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statevcs import Repository  # noqa: E402


def build(repo: Repository, commits: int) -> float:
    start = time.perf_counter()
    state = {"agents": {f"a{i}": {"status": "idle", "notes": "n" * 40} for i in range(50)},
             "users": {"42": {"email": "ada@example.org", "bio": "b" * 600}, "7": {"email": "bob@example.org"}}}
    for n in range(commits):
        state["agents"][f"a{n % 50}"]["status"] = f"s{n}"
        if n % 100 == 50:
            repo.create_branch(f"side{n}", force=True)
            repo.commit({**state, "side": n}, f"side {n}", branch=f"side{n}")
        repo.commit(state, f"commit {n}")
        if n % 100 == 51:
            repo.merge(f"side{n - 1}", message=f"merge side{n - 1}")
        if n % 100 == 99:
            repo.create_tag(f"v{n}", message=f"release {n}")
    return time.perf_counter() - start


def measure(kind: str, commits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository.memory(author="bench") if kind == "memory" else Repository.init(tmp, author="bench")
        made = build(repo, commits)
        total = len(list(repo.log()))
        start = time.perf_counter()
        report = repo.purge("/users/42", all=True)
        purge_s = time.perf_counter() - start
        start = time.perf_counter()
        repo.gc(prune="now")
        gc_s = time.perf_counter() - start
        print(f"{kind:7} commits on main {total:5}  built in {made:6.2f}s  purge {purge_s:6.2f}s "
              f"({report.rewritten} rewritten, {report.removed} objects removed, {len(report.refs)} refs moved)  "
              f"gc --prune=now alone {gc_s:5.2f}s  purge/gc {purge_s / max(gc_s, 1e-9):5.1f}x")
        repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 commits")
    args = parser.parse_args()
    commits = 200 if args.quick else args.commits
    for kind in ("memory", "sqlite"):
        measure(kind, commits)


if __name__ == "__main__":
    main()
