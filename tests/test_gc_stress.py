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


# ---------------------------------------------------------------- transfers at zero grace (issue 17.3)
TRANSFER_WORKER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {root!r})
    from statevcs import Repository
    from statevcs.errors import NotFastForwardError, RefConflictError
    role, where, tag, n, out, done = sys.argv[1:7]
    n = int(n)
    acked = open(out, "a")

    def ack(side, oid):
        acked.write(f"{{side}} {{oid}}\\n")
        acked.flush()

    repo = Repository.open(where)
    if role == "gc":
        removed = runs = 0
        while not os.path.exists(done) or runs < 2:
            removed += repo.gc(prune="now").removed  # zero grace: only the protocol protects
            runs += 1
        ack("removed", removed)
    elif role == "push":  # many pushers on one branch: a lost race pulls and pushes again
        for i in range(n):
            rows = [{{"k": j, "v": f"{{tag}}-{{i}}-{{j}}" * 3}} for j in range(40)]
            repo.update("main", lambda s: {{**s, tag: {{"i": i, "rows": rows}}}}, message=f"{{tag}} {{i}}")
            for attempt in range(200):
                try:
                    repo.push("origin", "main")
                    break
                except (RefConflictError, NotFastForwardError):
                    repo.pull("origin", "main", strategy="source_wins")
            else:
                raise SystemExit("push never won")
            ack("r", repo.rev_parse("main"))
    elif role == "commit":  # commits on the receiver itself, and garbage for its gc
        for i in range(n):
            c = repo.commit({{"tag": tag, "i": i, "rows": [f"{{tag}}-{{i}}-{{j}}" * 4 for j in range(40)]}},
                            message=f"{{tag}} {{i}}", branch=f"c-{{tag}}")
            ack("r", c.id)
            repo.create_branch(f"tmp-{{tag}}", c.id, force=True)
            repo.commit({{"junk": f"{{tag}} {{i}}"}}, branch=f"tmp-{{tag}}")
            repo.delete_branch(f"tmp-{{tag}}", force=True)
    elif role == "fetch":  # fetches into a repository whose own gc runs at zero grace
        for i in range(n):
            repo.fetch("origin")
            tip = repo.store.read_ref("refs/remotes/origin/main")
            ack("f", tip)
            repo.create_branch("tmp", tip, force=True)  # garbage for this side's gc
            repo.commit({{"junk": f"{{tag}} {{i}}"}}, branch="tmp")
            repo.delete_branch("tmp", force=True)
    """
)


def _transfer_race(tmp_path, receiver: str, rounds: int) -> None:
    script = tmp_path / "transfer_worker.py"
    script.write_text(TRANSFER_WORKER.format(root=str(ROOT)))
    done = tmp_path / "done"
    logs = []

    def start(role: str, where: str, tag: str, n: int = rounds):
        log = tmp_path / f"{tag}.log"
        logs.append(log)
        return subprocess.Popen([sys.executable, str(script), role, where, tag, str(n), str(log), str(done)],
                                stderr=subprocess.PIPE, text=True)

    with Repository.init(receiver) as r:
        r.commit({"start": True}, message="start")
    clones = {}
    for name in ("p1", "p2", "p3", "fetcher"):
        Repository.clone(receiver, str(tmp_path / name)).close()
        clones[name] = str(tmp_path / name)
    sweepers = [start("gc", receiver, "gc-r"), start("gc", clones["fetcher"], "gc-f")]
    writers = [start("push", clones["p1"], "p1"), start("push", clones["p2"], "p2"),
               start("push", clones["p3"], "p3"), start("commit", receiver, "c1"),
               start("fetch", clones["fetcher"], "f1", 2 * rounds)]
    try:
        for p in writers:
            _, err = p.communicate(timeout=600)
            assert p.returncode == 0, err
    finally:
        done.write_text("")
        for p in sweepers:
            _, err = p.communicate(timeout=600)
            assert p.returncode == 0, err
    acked: dict[str, list[str]] = {"r": [], "f": [], "removed": []}
    for log in logs:
        for line in log.read_text().splitlines():
            side, value = line.split()
            acked[side].append(value)
    assert len(acked["r"]) == 4 * rounds and len(acked["f"]) == 2 * rounds
    assert all(int(n) > 0 for n in acked["removed"])  # both sweeps deleted while transfers ran
    lost = []
    for side, location in (("r", receiver), ("f", clones["fetcher"])):
        with Repository.open(location) as repo:  # a fresh reader: nothing cached
            for oid in acked[side]:
                try:
                    assert isinstance(repo.get(oid), dict)
                    list(repo.log(oid))
                except Exception as exc:  # counted, so the failure says how many
                    lost.append(f"{side} {oid[:10]}: {exc}")
            report = repo.fsck()
            assert report.ok, report.problems[:5]
    assert lost == [], f"{len(lost)} acknowledged transfer(s) lost: {lost[:3]}"


@pytest.mark.slow
def test_pushes_fetches_and_commits_lose_nothing_to_gc_at_zero_grace_sqlite(tmp_path):
    _transfer_race(tmp_path, str(tmp_path / "receiver"), rounds=40)


@pytest.mark.slow
def test_pushes_fetches_and_commits_lose_nothing_to_gc_at_zero_grace_postgres(tmp_path):
    require_postgres()
    _transfer_race(tmp_path, track_postgres(postgres_url()), rounds=40)
