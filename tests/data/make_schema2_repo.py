"""Make tests/data/schema2-repo: a repository written by statevcs with SQLite schema 2 (one
``objects`` row per object with a write-time index, one ``reflog`` row per ref move), for the
tests that open old layouts with the current code.

Run it with the code of that version on the path (any commit before schema 3, e.g. c2fd6a7):

    git worktree add /tmp/schema2code c2fd6a7
    PYTHONPATH=/tmp/schema2code python tests/data/make_schema2_repo.py tests/data/schema2-repo

It holds format 2 objects (chunked containers), several branches, an annotated and a
lightweight tag, a merge commit, a deleted branch (whose reflog entries remain), a stored
schema (a refs/meta ref) and a few hundred reflog entries. Only the .statevcs directory is
kept (the working file is removed), checkpointed into one file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys

from statevcs import Repository


def team(n: int, step: int = 0) -> dict:
    return {
        "agents": {f"agent-{i:04d}": {"role": ["planner", "coder", "critic"][i % 3], "step": i + step}
                   for i in range(n)},
        "log": [f"turn {i}: done" for i in range(400)],
        "config": {"model": "m-2", "temperature": 0.5},
    }


def main(target: str, version: str = "2") -> None:
    if os.path.exists(target):
        shutil.rmtree(target)
    repo = Repository.init(target, author=f"schema{version} <maker@example.com>")
    state = team(600)
    first = repo.commit(state, message="first: 600 agents and 400 log lines (chunked containers)")
    for i in range(40):
        state["agents"][f"agent-{i * 7:04d}"]["step"] += 1000
        state["log"].append(f"turn {400 + i}: done")
        repo.commit(state, message=f"step {i}")
    repo.create_tag("v1", first.id, message="annotated tag")
    repo.create_tag("light", first.id)
    repo.create_branch("experiment", first.id)
    exp = team(600)
    exp["config"]["temperature"] = 0.9
    exp["agents"]["agent-0001"]["role"] = "lead"
    repo.commit(exp, message="experiment: temperature and a lead", branch="experiment")
    repo.merge("experiment", message="merge experiment")
    repo.create_branch("short-lived", first.id)
    repo.commit({"scratch": True}, message="scratch", branch="short-lived")
    repo.delete_branch("short-lived", force=True)
    repo.commit(["a scalar list state"] * 3, message="an array root", branch="array-root")
    repo.set_schema({"type": "object"}, branch="main")
    repo.close()
    os.remove(os.path.join(target, "state.json"))
    db = os.path.join(target, ".statevcs", "statevcs.db")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (version,)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    with sqlite3.connect(db) as conn:
        conn.execute("VACUUM")
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "schema2-repo"))
