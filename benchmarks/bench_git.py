"""Export to git (statevcs.gitbridge) beside a plain pygit2 write of the same files.

    python benchmarks/bench_git.py [--commits 1000] [--default-commits 100]

History: the 1,000-agent fixture (fixtures/team_1000.json), then N commits that each change
one agent's status and token count (a fixed seed). Measured in one run:

- ``statevcs git export --split /agents/*`` of the whole history (one file per agent),
  against a plain pygit2 script that, for each commit, writes every file of the same
  layout (blob per file, tree, commit) into a fresh bare repository: the ratio is
  export time / plain time (below 1: the export is faster);
- the git repository's size after ``git gc`` (and the size of the plain one);
- an incremental export of one new commit on top;
- the default layout (one file per top-level key: agents.json holds all 1,000 agents) on a
  shorter history, since each commit rewrites a 2 MB file, as git would.

Nothing is asserted: it prints. Requires pygit2 and the git binary.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pygit2  # noqa: E402

from statevcs import Repository  # noqa: E402
from statevcs.gitbridge.export import export  # noqa: E402
from statevcs.gitbridge.layout import Layout, files_of  # noqa: E402


def build_history(path: str, commits: int) -> Repository:
    with open(ROOT / "fixtures" / "team_1000.json", encoding="utf-8") as f:
        state = json.load(f)
    repo = Repository.init(path, author="bench <bench@example.com>")
    repo.commit(state, "the team")
    rng = random.Random(7)
    names = sorted(state["agents"])
    for i in range(commits - 1):
        name = rng.choice(names)
        agent = dict(state["agents"][name])
        agent["status"] = rng.choice(["idle", "busy", "done", "failed"])
        agent["tokens_used"] = rng.randint(0, 100_000)
        state = {**state, "agents": {**state["agents"], name: agent}}
        repo.commit(state, f"step {i}: {name} is {agent['status']}")
    return repo


def plain_pygit2(repo: Repository, path: str, layout: Layout) -> float:
    """What a script would do without statevcs' caches: every file of every commit, written with pygit2."""
    commits = list(reversed(list(repo.log("main"))))
    g = pygit2.init_repository(path, bare=True)
    sig = pygit2.Signature("bench", "bench@example.com", 0, 0)
    t = time.perf_counter()
    parent: list = []
    for c in commits:
        files = files_of(repo.get(c), layout)
        index = pygit2.Index()
        for name, data in files.items():
            index.add(pygit2.IndexEntry(name, g.create_blob(data), pygit2.GIT_FILEMODE_BLOB))
        tree = index.write_tree(g)
        oid = g.create_commit(None, sig, sig, c.message, tree, parent)
        parent = [oid]
    g.references.create("refs/heads/main", parent[0])
    return time.perf_counter() - t


def read_time(repo: Repository) -> float:
    """Reading every state (part of both sides' work), for reference."""
    t = time.perf_counter()
    for c in repo.log("main"):
        repo.get(c)
    return time.perf_counter() - t


def gc_size(path: str) -> int:
    subprocess.run(["git", "-C", path, "gc", "-q", "--aggressive", "--prune=now"], check=True)
    return sum(f.stat().st_size for f in pathlib.Path(path).rglob("*") if f.is_file())


def measure(tmp: str, commits: int, split: list[str], label: str) -> None:
    t = time.perf_counter()
    repo = build_history(os.path.join(tmp, f"sv-{label}"), commits)
    print(f"[{label}] built {commits} statevcs commits in {time.perf_counter() - t:.1f} s")
    target = os.path.join(tmp, f"git-{label}")
    t = time.perf_counter()
    report = export(repo, target, split=split, bare=True)
    ours = time.perf_counter() - t
    plain = plain_pygit2(repo, os.path.join(tmp, f"plain-{label}"), Layout.make(split))
    print(f"[{label}] export: {report.written} commits in {ours:.2f} s ({report.written / ours:.0f} commits/s); "
          f"plain pygit2 write of the same files: {plain:.2f} s; ratio export/plain = {ours / plain:.2f}")
    print(f"[{label}] size after git gc: export {gc_size(target) / 1e6:.2f} MB, "
          f"plain {gc_size(os.path.join(tmp, f'plain-{label}')) / 1e6:.2f} MB")
    state = repo.get()
    state["team"] = {**state["team"], "version": state["team"]["version"] + 1}
    repo.commit(state, "one more")
    t = time.perf_counter()
    again = export(repo, target)
    print(f"[{label}] incremental export of {again.written} new commit: {(time.perf_counter() - t) * 1000:.0f} ms")
    repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--default-commits", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-git-") as tmp:
        measure(tmp, args.commits, ["/agents/*"], "split /agents/*")
        if args.default_commits:
            measure(tmp, args.default_commits, [], "default layout")


if __name__ == "__main__":
    main()
