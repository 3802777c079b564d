"""The working file against its branch: never commit a file loaded from an older head,
never lose a `set`, never write outside the work tree, never leave half a repository."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from statevcs import Repository, StaleWorkingFileError
from statevcs.errors import MergeConflictError, NotARepositoryError, WorkingStateError

from .cli_helpers import fails, run


def _state(path) -> dict:
    with open(path / "state.json", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def demo(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text('{"agent": {"status": "idle", "memory": []}, "budget": 10}\n')
    run(d, "commit", "-m", "first")
    return d


def _python_commit(d, change) -> str:
    with Repository.open(str(d)) as repo:
        state = repo.get()
        change(state)
        return repo.commit(state, message="from python").id


def test_cli_commit_after_a_python_commit_is_refused_not_a_silent_revert(demo):
    pid = _python_commit(demo, lambda s: s["agent"]["memory"].append("learned"))
    r = run(demo, "status")
    assert "The branch has moved" in r.out and pid[:10] in r.out and "Working state clean" not in r.out
    r = fails(demo, 3, "set", "/budget", "75")
    assert pid[:10] in r.err and "statevcs refresh" in r.err
    assert _state(demo)["budget"] == 10  # refused: nothing written
    fails(demo, 3, "commit", "-m", "would revert")
    with Repository.open(str(demo)) as repo:
        assert repo.head().id == pid
    run(demo, "refresh")
    run(demo, "set", "/budget", "75")
    run(demo, "commit", "-m", "budget")
    assert run(demo, "cat", "HEAD").json() == {"agent": {"status": "idle", "memory": ["learned"]}, "budget": 75}


def test_edits_made_before_a_python_commit_are_carried_by_refresh_and_commit_merge(demo):
    run(demo, "set", "/budget", "75")  # an edit of our own, then an agent commits
    pid = _python_commit(demo, lambda s: s["agent"].update(status="running"))
    r = run(demo, "status", "--json").json()
    assert r["moved"] is True and r["head"] == pid and r["clean"] is False
    assert r["changes"] == [{"op": "replace", "path": "/budget", "value": 75}]
    r = fails(demo, 3, "commit", "-m", "x")
    assert "would undo" in r.err and "commit --merge" in r.err
    run(demo, "commit", "--merge", "-m", "mine on top")
    assert run(demo, "cat", "HEAD").json() == {"agent": {"status": "running", "memory": []}, "budget": 75}
    assert run(demo, "status").out.endswith("Working state clean\n")


def test_overlapping_edits_are_refused_unless_a_strategy_settles_them(demo):
    run(demo, "set", "/budget", "75")
    _python_commit(demo, lambda s: s.update(budget=99))
    before = (demo / "state.json").read_text()
    r = fails(demo, 3, "refresh")
    assert "/budget" in r.err and "source_wins" in r.err
    assert (demo / "state.json").read_text() == before
    run(demo, "refresh", "--strategy", "source_wins")
    assert _state(demo)["budget"] == 75
    run(demo, "commit", "-m", "mine wins")
    assert run(demo, "cat", "HEAD", "/budget").json() == 75


def test_reset_hard_takes_the_new_head(demo):
    run(demo, "set", "/budget", "1")
    pid = _python_commit(demo, lambda s: s.update(extra=True))
    run(demo, "reset", "--hard")
    assert _state(demo)["extra"] is True and _state(demo)["budget"] == 10
    assert json.loads((demo / ".statevcs" / "WORKTREE.json").read_text())["base"] == pid


def test_commit_file_with_parent_detects_a_moved_branch(demo, tmp_path):
    base_id = run(demo, "status", "--json").json()["head"]
    edited = tmp_path / "edited.json"
    edited.write_text('{"agent": {"status": "idle", "memory": []}, "budget": 20}')
    _python_commit(demo, lambda s: s["agent"].update(status="done"))
    r = fails(demo, 3, "commit", "-f", str(edited), "--parent", base_id[:12], "-m", "x")
    assert "--merge" in r.err
    run(demo, "commit", "-f", str(edited), "--parent", base_id[:12], "--merge", "-m", "edits made on first")
    assert run(demo, "cat", "HEAD").json() == {"agent": {"status": "done", "memory": []}, "budget": 20}
    fails(demo, 2, "commit", "--parent", "HEAD", "-m", "no file")


def test_commit_file_moves_a_clean_working_file_along(demo, tmp_path):
    snap = tmp_path / "snap.json"
    snap.write_text('{"snapshot": 1}')
    run(demo, "commit", "-f", str(snap), "-m", "snapshot")
    assert _state(demo) == {"snapshot": 1}
    run(demo, "set", "/snapshot", "2")
    run(demo, "commit", "-m", "edit")
    assert run(demo, "cat", "HEAD").json() == {"snapshot": 2}


def test_python_api_status_load_and_refresh(demo):
    with Repository.open(str(demo)) as repo:
        first = repo.head().id
        st = repo.working_status()
        assert (st.base, st.head, st.moved, len(st.edits)) == (first, first, False, 0)
        repo.working_file.write({**repo.get(), "budget": 11})
        second = repo.commit({**repo.get(), "note": "x"}, message="agent").id
        st = repo.working_status()
        assert st.moved and st.base == first and st.head == second
        assert [c.path for c in st.edits.changes] == ["/budget"]
        done = repo.refresh_working()
        assert (done.base, done.head, done.edits) == (first, second, 1)
        assert repo.working_file.read() == {**repo.get(), "budget": 11}
        repo.load_working(first)
        assert repo.working_file.read() == repo.get(first)
        with pytest.raises(StaleWorkingFileError):
            from statevcs.porcelain.worktree.checkout import ensure_current

            ensure_current(repo, "committing")


def test_refresh_conflict_raises_merge_conflict_in_python(demo):
    with Repository.open(str(demo)) as repo:
        repo.working_file.write({**repo.get(), "budget": 1})
        repo.commit({**repo.get(), "budget": 2}, message="agent")
        with pytest.raises(MergeConflictError):
            repo.refresh_working()
        assert repo.working_file.read()["budget"] == 1


# ------------------------------------------------------------------ crashes between the ref and the file
CRASHER = """
import os, sys
from statevcs.porcelain.worktree import working_file as worktree
calls = 0
real = worktree.write_file_atomically
def write(path, text):
    global calls
    calls += 1
    if calls == int(os.environ["DIE_AT"]):
        os._exit(137)
    return real(path, text)
worktree.write_file_atomically = write
from statevcs.cli.main import main
main(sys.argv[1:])
"""


def _crash(cwd, die_at: int, *args: str) -> int:
    env = {**os.environ, "DIE_AT": str(die_at), "STATEVCS_AUTHOR": "tester"}
    return subprocess.run([sys.executable, "-c", CRASHER, *args], cwd=cwd, env=env, capture_output=True,
                          timeout=60).returncode


def _never_commits_a_revert(d) -> None:
    """Whatever the crash left, the next plain commit must not undo what the branch holds."""
    with Repository.open(str(d)) as repo:
        head = repo.head()
        held = repo.get(head)
    r = run(d, "commit", "-m", "after the crash", check=False)
    with Repository.open(str(d)) as repo:
        now = repo.head()
        if r.code == 0:  # only allowed when the file held the head's state plus real edits
            assert now.parents == (head.id,)
            for key, value in held.items():
                if key != "mine":
                    assert repo.get(now).get(key) == value
        else:
            assert now.id == head.id
            assert r.err.startswith("error: ")
    status = run(d, "status").out
    if "Working state clean" in status:
        assert _state(d) == held


@pytest.mark.parametrize("die_at", [1, 2])
@pytest.mark.parametrize("command", ["merge", "switch", "reset", "restore"])
def test_a_kill_between_moving_the_ref_and_writing_the_file_is_seen(tmp_path, command, die_at):
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"a": 1, "b": 1}')
    run(d, "commit", "-m", "base")
    run(d, "tag", "v1")
    run(d, "switch", "-c", "side")
    run(d, "set", "/b", "2")
    run(d, "commit", "-m", "side")
    run(d, "switch", "main")
    run(d, "set", "/a", "2")
    run(d, "commit", "-m", "main")
    args = {"merge": ["merge", "side", "-m", "merge"], "switch": ["switch", "side"],
            "reset": ["reset", "--hard", "v1"], "restore": ["restore", "v1"]}[command]
    code = _crash(d, die_at, *args)
    assert code == 137
    _never_commits_a_revert(d)


# ------------------------------------------------------------------ concurrent sets
def test_concurrent_sets_are_all_kept(demo):
    def one(i: int) -> None:
        run(demo, "set", f"/k{i}", str(i))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(40)))
    state = _state(demo)
    assert all(state[f"k{i}"] == i for i in range(40))


# ------------------------------------------------------------------ where the file may be
@pytest.mark.parametrize("name", ["../outside.json", "/tmp/statevcs-outside.json", "a/../../outside.json"])
def test_a_working_file_outside_the_work_tree_is_refused(tmp_path, name):
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    config = json.loads((d / ".statevcs" / "config.json").read_text())
    config["working_file"] = name
    (d / ".statevcs" / "config.json").write_text(json.dumps(config))
    r = fails(d, 3, "set", "/x", "1")
    assert "work tree" in r.err
    assert not (tmp_path / "outside.json").exists() and not os.path.exists("/tmp/statevcs-outside.json")
    fails(tmp_path, 3, "init", "r2", "--working-file", name)
    assert not (tmp_path / "r2" / ".statevcs").exists()


def test_a_symlinked_directory_cannot_carry_the_file_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    os.symlink(outside, d / "link")
    config = json.loads((d / ".statevcs" / "config.json").read_text())
    config["working_file"] = "link/state.json"
    (d / ".statevcs" / "config.json").write_text(json.dumps(config))
    fails(d, 3, "set", "/x", "1")
    assert list(outside.iterdir()) == []


def test_the_file_keeps_its_mode_and_a_new_one_gets_the_umask(demo, tmp_path):
    os.chmod(demo / "state.json", 0o644)
    run(demo, "set", "/x", "1")
    assert stat.S_IMODE(os.stat(demo / "state.json").st_mode) == 0o644
    old = os.umask(0o027)
    try:
        run(tmp_path, "init", "fresh")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "fresh" / "state.json").st_mode) == 0o640


def test_duplicate_keys_are_an_error_not_a_silent_pick(demo):
    (demo / "state.json").write_text('{"a": 1, "a": 2}')
    r = fails(demo, 3, "commit", "-m", "x")
    assert "duplicate key" in r.err and '"a"' in r.err
    run(demo, "reset", "--hard")
    fails(demo, 3, "set", "/x", '{"k": 1, "k": 2}')
    with pytest.raises(WorkingStateError):
        from statevcs.model.jsontext import parse_json_text

        parse_json_text('[{"z": 1, "z": 1}]', "x")


# ------------------------------------------------------------------ init leaves all or nothing
def test_init_with_a_working_file_in_a_subdirectory(tmp_path):
    run(tmp_path, "init", "r", "--working-file", "sub/state.json")
    d = tmp_path / "r"
    assert (d / "sub" / "state.json").read_text() == "{}\n"
    run(d, "set", "/x", "1")
    run(d, "commit", "-m", "x")
    assert run(d, "cat", "HEAD").json() == {"x": 1}


@pytest.mark.parametrize("die_at", [1, 2])
def test_a_killed_init_leaves_nothing_and_can_be_rerun(tmp_path, die_at):
    script = """
import os, sys
from statevcs.porcelain.worktree import creation
calls = 0
real = os.rename
def rename(a, b):
    os._exit(137)
creation.os.rename = rename if os.environ["DIE_AT"] == "2" else real
if os.environ["DIE_AT"] == "1":
    real_atomic = creation.write_file_atomically
    creation.write_file_atomically = lambda p, t: os._exit(137)
from statevcs.cli.main import main
main(sys.argv[1:])
"""
    env = {**os.environ, "DIE_AT": str(die_at)}
    p = subprocess.run([sys.executable, "-c", script, "init", "r"], cwd=tmp_path, env=env, capture_output=True)
    assert p.returncode == 137
    d = tmp_path / "r"
    assert not (d / ".statevcs").exists()
    fails(d, 3, "status") if d.exists() else None
    run(tmp_path, "init", "r")
    run(d, "status")


def test_an_incomplete_statevcs_directory_is_named_with_the_way_out(tmp_path):
    (tmp_path / "r" / ".statevcs").mkdir(parents=True)
    r = fails(tmp_path / "r", 3, "status")
    assert "incomplete repository" in r.err and "rm -r" in r.err
    with pytest.raises(NotARepositoryError):
        Repository.open(str(tmp_path / "r"))


@pytest.mark.parametrize("die_at", [1, 2])
def test_a_killed_clone_never_looks_like_a_whole_repository(tmp_path, die_at):
    run(tmp_path, "init", "src")
    src = tmp_path / "src"
    (src / "state.json").write_text('{"history": [1, 2, 3]}')
    run(src, "commit", "-m", "history")
    assert _crash(tmp_path, die_at, "clone", "src", "dst") == 137
    dst = tmp_path / "dst"
    assert not (dst / ".statevcs").exists()  # never a repository with an empty state over the history
    r = fails(tmp_path, 3, "clone", "src", "dst")
    assert "interrupted clone" in r.err and "rm -r" in r.err
    import shutil

    shutil.rmtree(dst)
    run(tmp_path, "clone", "src", "dst")
    assert _state(dst) == {"history": [1, 2, 3]}
    assert run(dst, "status").out.endswith("Working state clean\n")


RACER = """
import sys
from statevcs import Repository
from statevcs.porcelain.worktree import working_file as worktree
import os
real = worktree.WorkingFile.base
calls = []
def base(self):
    value = real(self)
    calls.append(1)
    if len(calls) == int(os.environ["COMMIT_AT"]):  # an agent commits right after this read of the base
        with Repository.open(".") as agent:
            agent.commit({**agent.get(), "agent": "landed"}, message="agent")
    return value
worktree.WorkingFile.base = base
from statevcs.cli.main import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("commit_at", [1, 2])
def test_a_commit_landing_during_a_cli_commit_is_never_undone(demo, commit_at):
    run(demo, "set", "/budget", "11")
    p = subprocess.run([sys.executable, "-c", RACER, "commit", "-m", "mine"], cwd=demo, capture_output=True,
                       text=True, env={**os.environ, "STATEVCS_AUTHOR": "tester", "COMMIT_AT": str(commit_at)},
                       timeout=60)
    assert p.returncode == 3 and p.stderr.startswith("error: "), p.stderr
    assert run(demo, "cat", "HEAD", "/agent").out == '"landed"\n'  # the agent's commit is the head
    run(demo, "commit", "--merge", "-m", "mine, merged")
    state = json.loads(run(demo, "cat", "HEAD", "--compact").out)
    assert state["agent"] == "landed" and state["budget"] == 11
