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


def test_update_with_a_spent_budget_raises_the_specific_error(repo):
    """timeout=0: the first attempt runs; losing it spends the budget; nothing is committed."""
    from statevcs.errors import RefConflictError, UpdateContentionError

    repo.commit({"n": 0})
    calls: list[int] = []
    interruptions = [0]

    def step(state):
        calls.append(1)
        if len(calls) == 1:  # another writer lands while this one computes: the race is lost
            interruptions[0] += 1
            repo.commit({"n": 100, "other": interruptions[0]})
        state["n"] += 1
        return state

    with pytest.raises(UpdateContentionError) as info:
        repo.update("main", step, timeout=0)
    assert isinstance(info.value, RefConflictError) and info.value.ref == "refs/heads/main"
    assert repo.get("main") == {"n": 100, "other": 1}
    calls.clear()
    assert repo.update("main", step, timeout=5).id == repo.rev_parse("main")  # a budget: it retries
    assert len(calls) == 2 and repo.get("main") == {"n": 101, "other": 2}
    calls.clear()
    with pytest.raises(UpdateContentionError):
        repo.update("main", step, retries=0)  # retries still caps the count
    assert repo.get("main") == {"n": 100, "other": 3}


def test_update_rejects_negative_budgets(repo):
    with pytest.raises(ValueError):
        repo.update("main", lambda s: s, timeout=-1)


def test_backoff_is_jittered_and_capped():
    from statevcs.porcelain.core.writers import backoff

    draws = [backoff(a) for a in range(40) for _ in range(20)]
    assert all(0 <= d <= 0.1 for d in draws)
    assert max(backoff(0) for _ in range(50)) <= 0.001
    assert len({round(d, 9) for d in draws}) > 100  # random, not one fixed step


def test_threads_racing_one_branch_with_a_small_budget_all_land(repo):
    """Sixteen threads, each one update with a 20 s budget: every one lands exactly once."""
    repo.commit({"count": 0, "ids": []})
    errors = []

    def worker(k: int) -> None:
        def step(state):
            state["count"] += 1
            state["ids"].append(k)
            return state
        try:
            for i in range(5):
                repo.update("main", step, message=f"t{k} {i}", timeout=20)
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = repo.get("main")
    assert state["count"] == 80 and sorted(state["ids"]) == sorted(list(range(16)) * 5)


def test_a_merged_update_leaves_no_nodes_behind_in_the_reader(repo):
    repo.commit({"a": 0, "b": 0, "log": ["x" * 600]}, message="base")

    def fn(state):
        if state["b"] == 0:  # another writer lands between our read and our commit
            repo.commit({**state, "b": 1}, message="concurrent")
        return {**state, "a": 1, "log": state["log"] + ["y" * 600]}

    before = len(repo.objects.extra)
    c = repo.update("main", fn, on_conflict="merge")
    assert repo.get(c) == {"a": 1, "b": 1, "log": ["x" * 600, "y" * 600]}
    assert len(repo.objects.extra) == before
