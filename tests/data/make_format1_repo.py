"""Make tests/data/format1-repo: a small repository written by statevcs before chunked
containers (storage format 1: only obj1/arr1/val1 nodes), for the old-format tests.

Run it with the code of that version on the path, e.g.:

    git worktree add /tmp/oldcode aac0191
    PYTHONPATH=/tmp/oldcode python tests/data/make_format1_repo.py tests/data/format1-repo

It writes only the .statevcs directory (the working file is removed), with its SQLite
database checkpointed so that one file holds everything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys

from statevcs import Repository


def team(n: int) -> dict:
    return {
        "agents": {f"agent-{i:03d}": {"role": ["planner", "coder", "critic"][i % 3], "step": i, "ok": i % 2 == 0}
                   for i in range(n)},
        "log": [f"turn {i}: done" for i in range(150)],
        "config": {"model": "m-1", "temperature": 0.5},
    }


def main(target: str) -> None:
    if os.path.exists(target):
        shutil.rmtree(target)
    repo = Repository.init(target, author="format1 <maker@example.com>")
    state = team(120)
    repo.commit(state, message="first: 120 agents, 150 log lines (flat nodes of 120 and 150 entries)")
    state["agents"]["agent-007"]["step"] = 700
    state["log"].append("turn 150: done")
    second = repo.commit(state, message="second: one agent and one log line")
    repo.create_tag("v1", second.id, message="annotated tag")
    repo.create_tag("light", second.id)
    repo.create_branch("experiment", second.id)
    exp = dict(state, agents=dict(state["agents"]))
    exp["agents"]["agent-042"] = {"role": "critic", "step": 4200, "ok": False}
    exp["extra"] = [1, 2.5, True, None, "x"]
    repo.commit(exp, message="experiment: agent-042 and a new key", branch="experiment")
    state["config"]["temperature"] = 0.7
    repo.commit(state, message="third: temperature")
    repo.commit(["a scalar list state"] * 3, message="an array root", branch="array-root")
    repo.close()
    os.remove(os.path.join(target, "state.json"))
    db = os.path.join(target, ".statevcs", "statevcs.db")
    if os.path.exists(db):
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "format1-repo"))
