"""gc under load: gc loops (``prune="now"``, so the sweep protocol and not the grace period
is what protects) while processes commit, update, make garbage and push to a second
repository that gc also sweeps. Afterwards every acknowledged commit reads back whole and
fsck is clean, on SQLite and on PostgreSQL (docs/gc.md)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from statevcs import Repository

from .conftest import ROOT, postgres_url, require_postgres, track_postgres

WORKER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {root!r})
    from statevcs import Repository
    role, a, b, tag, n, out, done = sys.argv[1:8]
    n = int(n)
    acked = open(out, "a")

    def ack(where, oid):
        acked.write(f"{{where}} {{oid}}\\n")
        acked.flush()

    if role == "gc":
        repo = Repository.open(a)
        removed = runs = 0
        while not os.path.exists(done) or runs < 2:
            removed += repo.gc(prune=b).removed  # b: the grace period for this repository
            runs += 1
        ack("removed", removed)
        sys.exit(0)
    repo = Repository.open(a)
    for i in range(n):
        big = {{"who": tag, "i": i, "rows": [{{"k": j, "v": f"{{tag}}-{{i}}-{{j}}" * 3}} for j in range(60)]}}
        if role == "commit":
            c = repo.commit(big, message=f"{{tag}} {{i}}", branch=f"b-{{tag}}")
            ack("a", c.id)
            # garbage: a branch made, committed to and deleted; gc may sweep it at once
            repo.create_branch(f"tmp-{{tag}}", c.id, force=True)
            repo.commit({{**big, "junk": f"{{tag}} {{i}} junk"}}, branch=f"tmp-{{tag}}")
            repo.delete_branch(f"tmp-{{tag}}", force=True)
        elif role == "update":
            def step(state, i=i):
                state = state or {{"n": 0, "log": []}}
                state["n"] += 1
                state["log"] = state["log"][-30:] + [f"{{tag}}-{{i}}"]
                return state
            ack("a", repo.update("main", step, message=f"{{tag}} {{i}}").id)
        elif role == "push":
            c = repo.commit(big, message=f"{{tag}} {{i}}", branch=f"p-{{tag}}")
            ack("a", c.id)
            repo.push(b, f"p-{{tag}}")
            ack("b", c.id)
    """
)


def _stress(tmp_path, a: str, b: str, rounds: int) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(root=str(ROOT)))
    done = tmp_path / "done"
    logs = []

    def start(role: str, tag: str, target: str = a, arg: str = b, n: int = rounds):
        log = tmp_path / f"{tag}.log"
        logs.append(log)
        return subprocess.Popen([sys.executable, str(script), role, target, arg, tag, str(n), str(log), str(done)],
                                stderr=subprocess.PIPE, text=True)

    with Repository.open(a) as ra:
        ra.commit({"n": 0, "log": []}, message="start")
    writers = [start("commit", "c1"), start("commit", "c2"), start("update", "u1"), start("update", "u2"),
               start("push", "p1")]
    sweepers = [start("gc", "gc-a", a, "now"),
                # transfers' batches are protected by the grace period (docs/gc.md), so the
                # receiving side keeps a short one
                start("gc", "gc-b", b, "1m")]
    try:
        for p in writers:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
    finally:
        done.write_text("")
        for p in sweepers:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
    acked: dict[str, list[str]] = {"a": [], "b": [], "removed": []}
    for log in logs:
        for line in log.read_text().splitlines():
            where, value = line.split()
            acked[where].append(value)
    assert len(acked["a"]) == 5 * rounds and len(acked["b"]) == rounds
    assert int(acked["removed"][0]) > 0  # gc on A swept garbage while the writers ran
    for where, location in (("a", a), ("b", b)):
        with Repository.open(location) as repo:  # a fresh reader: nothing cached
            for oid in acked[where]:
                state = repo.get(oid)  # every node read and verified
                assert isinstance(state, dict)
            report = repo.fsck()
            assert report.ok, report.problems[:5]


@pytest.mark.slow
def test_gc_under_load_sqlite(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    Repository.init(str(a)).close()
    Repository.init(str(b)).close()
    _stress(tmp_path, str(a), str(b), rounds=60)


@pytest.mark.slow
def test_gc_under_load_postgres(tmp_path):
    require_postgres()
    a, b = track_postgres(postgres_url()), track_postgres(postgres_url())
    Repository.init(a).close()
    Repository.init(b).close()
    _stress(tmp_path, a, b, rounds=60)
