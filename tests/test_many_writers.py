"""Many processes writing one branch through repo.update, on the embedded and the shared store;
a PostgreSQL connection dropped mid-commit; watching a branch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from statevcs import Repository, StoreUnavailableError

from .conftest import ROOT, postgres_url, require_postgres, track_postgres

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from statevcs import Repository
    repo = Repository.open(sys.argv[1])
    repo.policies = {{"/ids": "union", "/count": "counter"}}
    tag, n, mode = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    for i in range(n):
        def step(state, i=i):
            state["count"] += 1
            state["ids"].append(f"{{tag}}-{{i}}")
            return state
        repo.update("main", step, message=f"{{tag}} {{i}}", retries=10_000, on_conflict=mode)
    """
)


def _run_writers(tmp_path, location: str, procs: int, each: int, mode: str) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT)))
    running = [subprocess.Popen([sys.executable, str(script), location, f"w{k}", str(each), mode],
                                stderr=subprocess.PIPE, text=True) for k in range(procs)]
    for p in running:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err


def _check(repo: Repository, procs: int, each: int) -> None:
    state = repo.get("main")
    expected = {f"w{k}-{i}" for k in range(procs) for i in range(each)}
    assert state["count"] == procs * each
    assert sorted(state["ids"]) == sorted(expected)
    history = list(repo.log("main"))
    assert len(history) == procs * each + 1
    assert repo.fsck().ok


def _setup(repo: Repository) -> None:
    repo.commit({"count": 0, "ids": []}, message="start")


def test_eight_processes_update_the_embedded_store(tmp_path):
    repo = Repository.init(str(tmp_path / "r"))
    _setup(repo)
    _run_writers(tmp_path, str(tmp_path / "r"), 8, 200, "retry")
    _check(repo, 8, 200)


def test_eight_processes_update_postgres(tmp_path):
    require_postgres()
    url = track_postgres(postgres_url())
    repo = Repository.init(url)
    _setup(repo)
    _run_writers(tmp_path, url, 8, 200, "retry")
    _check(repo, 8, 200)
    repo.close()


def test_stale_updates_merge_with_policies(tmp_path):
    require_postgres()
    url = track_postgres(postgres_url())
    repo = Repository.init(url)
    _setup(repo)
    _run_writers(tmp_path, url, 4, 50, "merge")
    _check(repo, 4, 50)
    repo.close()


def test_update_retries_and_merges_in_process(repo):
    repo.commit({"count": 0, "ids": []})
    repo.policies = {"/ids": "union", "/count": "counter"}
    calls = []

    def racing(state):
        calls.append(1)
        if len(calls) == 1:  # someone else commits while we compute
            repo.commit({"count": 10, "ids": ["other"]})
        state["count"] += 1
        state["ids"].append("mine")
        return state

    repo.update("main", racing, on_conflict="merge")
    assert repo.get() == {"count": 11, "ids": ["other", "mine"]} and len(calls) == 1
    calls.clear()
    repo.update("main", racing)  # retry mode: fn runs again on the new head
    assert repo.get() == {"count": 11, "ids": ["other", "mine"]} and len(calls) == 2


def test_dropped_connection_mid_commit_leaves_no_half_commit():
    require_postgres()
    import psycopg

    from .conftest import POSTGRES_URL

    url = track_postgres(postgres_url())
    repo = Repository.init(url)
    first = repo.commit({"n": 1})
    store = repo.store
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    try:
        with pytest.raises(StoreUnavailableError):
            with store.transaction() as tx:
                from statevcs.model.tree import write_tree

                root, objects = write_tree({"n": 2, "big": ["x" * 2000]})
                tx.put_objects(objects)
                pid = tx.conn.info.backend_pid
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                time.sleep(0.2)
                tx.set_ref("refs/heads/main", "f" * 64, first.id)
        # Nothing of that transaction landed; the branch still points at a whole commit.
        assert repo.store.read_ref("refs/heads/main") == first.id
        assert not repo.store.has(root)
        report = repo.fsck()
        assert report.ok, report.problems
        # The store reconnects on the next call.
        second = repo.commit({"n": 3})
        assert repo.head().id == second.id
    finally:
        admin.close()
        repo.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_watch_yields_new_commits_in_order(kind, tmp_path):
    if kind == "postgres":
        require_postgres()
        url = track_postgres(postgres_url())
    else:
        url = str(tmp_path / "r")
    repo = Repository.init(url)
    repo.commit({"n": 0})
    seen: list[str] = []
    ready = threading.Event()

    def watcher():
        watching = Repository.open(url)
        it = watching.watch("main", timeout=3.0, poll_interval=0.02)
        ready.set()
        for c in it:
            seen.append(c.message)
            if len(seen) == 3:
                break
        watching.close()

    t = threading.Thread(target=watcher)
    t.start()
    ready.wait(5)
    time.sleep(0.3)
    for i in range(3):
        repo.commit({"n": i + 1}, message=f"c{i}")
    t.join(10)
    assert seen == ["c0", "c1", "c2"]
    repo.close()
