"""Shared-store figures: PostgreSQL beside the embedded store, measured in the same run.

    python benchmarks/bench_shared.py [--quick] [--url postgresql://...]

Prints:
- commits/s for a ~1 KB state with 1, 4 and 8 writer processes, each on its own branch
  and all on one branch (through repo.update), on PostgreSQL and on the embedded store;
- push and clone times for a 1,000-commit history (1 KB states), embedded -> PostgreSQL,
  PostgreSQL -> embedded, embedded -> embedded;
- objects and bytes sent when pushing one new commit of the 1,000-agent team state
  after 1,000 earlier ones.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import pathlib
import platform
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_core import small_state  # noqa: E402

from statevcs import Repository  # noqa: E402
from statevcs.store.postgres import PostgresStore  # noqa: E402

DEFAULT_URL = os.environ.get("STATEVCS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_url(base: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}repo=bench-{uuid.uuid4().hex[:10]}"


def _writer(location: str, k: int, n: int, same_branch: bool, start: float) -> None:
    repo = Repository.open(location)
    branch = "main" if same_branch else f"w{k}"
    while time.time() < start:
        time.sleep(0.001)
    for i in range(n):
        if same_branch:
            repo.update(branch, lambda s, i=i: small_state(i + k * 100_000), message="w", retries=100_000)
        else:
            repo.commit(small_state(i + k * 100_000), branch=branch, message="w")
    repo.close()


def writers(location: str, procs: int, n: int, same_branch: bool) -> float:
    repo = Repository.open(location)
    base = repo.commit(small_state(-1), branch="main", allow_empty=True)
    for k in range(procs):
        if not same_branch:
            repo.create_branch(f"w{k}", base.id, force=True)
    repo.close()
    start = time.time() + 0.5
    ps = [mp.Process(target=_writer, args=(location, k, n, same_branch, start)) for k in range(procs)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
        assert p.exitcode == 0
    return procs * n / (time.time() - start)


def history(location: str, n: int) -> None:
    repo = Repository.open(location)
    for i in range(n):
        repo.commit(small_state(i), message=f"c{i}")
    repo.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    n = 100 if args.quick else 300
    hist = 200 if args.quick else 1000
    team_hist = 100 if args.quick else 1000
    made: list[str] = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"PostgreSQL at {args.url.split('@')[-1]} (same machine)")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            print(f"\ncommits/s, 1 KB state, {n} commits per writer process")
            print(f"  {'writers':>7} {'store':>10} {'own branch':>12} {'one branch (update)':>20}")
            for procs in (1, 4, 8):
                for kind in ("postgres", "embedded"):
                    rates = []
                    for same in (False, True):
                        if kind == "postgres":
                            loc = pg_url(args.url)
                            made.append(loc)
                        else:
                            loc = os.path.join(tmp, f"e-{procs}-{same}")
                        Repository.init(loc).close()
                        rates.append(writers(loc, procs, n, same))
                    print(f"  {procs:>7} {kind:>10} {rates[0]:>10.0f}/s {rates[1]:>18.0f}/s")

            print(f"\npush and clone of a {hist}-commit history (1 KB states)")
            src = os.path.join(tmp, "hist")
            Repository.init(src).close()
            history(src, hist)
            local = Repository.open(src)
            for label, make_dst in (("embedded -> PostgreSQL", lambda: pg_url(args.url)),
                                    ("embedded -> embedded", lambda: os.path.join(tmp, f"d-{uuid.uuid4().hex}"))):
                dst = make_dst()
                if "://" in dst:
                    made.append(dst)
                Repository.init(dst).close()
                t = time.perf_counter()
                report = local.push(dst, "main")
                push_s = time.perf_counter() - t
                t = time.perf_counter()
                clone = Repository.clone(dst, os.path.join(tmp, f"c-{uuid.uuid4().hex}"))
                clone_s = time.perf_counter() - t
                clone.close()
                print(f"  {label:24s} push {push_s:6.2f} s ({report.objects} objects, {report.bytes / 1e6:.1f} MB); "
                      f"clone back {clone_s:6.2f} s")
            local.close()

            print(f"\npushing one new commit of the 1,000-agent team state after {team_hist} earlier ones")
            with open(ROOT / "fixtures" / "team_1000.json", encoding="utf-8") as f:
                team = json.load(f)
            tsrc = os.path.join(tmp, "team")
            repo = Repository.init(tsrc)
            for i in range(team_hist):
                team["agents"][f"agent-{i % 1000:04d}"]["step"] += 1
                repo.commit(team, message=f"step {i}")
            dst = pg_url(args.url)
            made.append(dst)
            Repository.init(dst).close()
            t = time.perf_counter()
            first = repo.push(dst, "main")
            first_s = time.perf_counter() - t
            team["agents"]["agent-0500"]["status"] = "paused"
            repo.commit(team, message="one more")
            t = time.perf_counter()
            one = repo.push(dst, "main")
            one_s = time.perf_counter() - t
            print(f"  first push: {first.objects} objects, {first.bytes / 1e6:.1f} MB in {first_s:.1f} s")
            print(f"  next push:  {one.objects} objects, {one.bytes / 1024:.1f} KiB in {one_s * 1000:.0f} ms "
                  f"({one.commits} commit)")
            repo.close()
        finally:
            for loc in made:
                try:
                    store = PostgresStore(loc)
                    store.destroy()
                    store.close()
                except Exception:
                    pass


if __name__ == "__main__":
    main()
