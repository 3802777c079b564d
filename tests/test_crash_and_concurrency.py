"""Writers in other processes, and processes killed mid-commit, on the embedded store."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

from statevcs import Repository
from statevcs.model.canonical import hash_object
from statevcs.store.stored import pack, unpack_verified

from .conftest import ROOT

COMMIT_LOOP = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from statevcs import Repository, RefConflictError
    repo = Repository.open({path!r})
    tag = sys.argv[1]
    count = int(sys.argv[2])
    i = 0
    while count < 0 or i < count:
        while True:
            head = repo.head()
            state = repo.get(head) if head else {{"log": []}}
            state["log"].append(f"{{tag}}-{{i}}")
            state.setdefault("blob", ["x" * 600])  # some nodes beyond the root
            try:
                c = repo.commit(state, message=f"{{tag}} {{i}}", parent=head.id if head else None)
                break
            except RefConflictError:
                continue
        print(c.id, flush=True)  # acknowledged: the transaction has committed
        i += 1
    """
)


def _script(tmp_path, repo_dir):
    path = tmp_path / "loop.py"
    path.write_text(COMMIT_LOOP.format(root=str(ROOT), path=str(repo_dir)))
    return path


def test_writers_in_several_processes_lose_nothing(tmp_path):
    Repository.init(str(tmp_path / "r")).close()
    script = _script(tmp_path, tmp_path / "r")
    procs = [subprocess.Popen([sys.executable, str(script), f"p{n}", "25"], stdout=subprocess.PIPE, text=True)
             for n in range(3)]
    acked = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        acked += out.split()
    repo = Repository.open(str(tmp_path / "r"))
    history = {c.id for c in repo.log()}
    assert set(acked) <= history and len(history) == 75
    final = repo.get("main")["log"]
    assert sorted(final) == sorted(f"p{n}-{i}" for n in range(3) for i in range(25))
    assert repo.fsck().ok


def test_kill_9_during_commit_loop_leaves_a_sound_repository(tmp_path):
    Repository.init(str(tmp_path / "r")).close()
    script = _script(tmp_path, tmp_path / "r")
    rng = random.Random(7)
    acked: list[str] = []
    for round_ in range(4):
        p = subprocess.Popen([sys.executable, str(script), f"k{round_}", "-1"], stdout=subprocess.PIPE, text=True)
        # Wait for a first acknowledged commit, then kill at a random moment.
        first = p.stdout.readline().strip()
        assert first
        acked.append(first)
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(p.pid, signal.SIGKILL)
        rest, _ = p.communicate()
        acked += [line for line in rest.split() if len(line) == 64]
        repo = Repository.open(str(tmp_path / "r"))
        report = repo.fsck()
        assert report.ok, report.problems
        history = {c.id for c in repo.log()}
        missing = [a for a in acked if a not in history]
        assert not missing
        repo.close()
    assert len(acked) >= 4  # at least one acknowledged commit per round


def test_objects_pack_and_unpack_in_many_threads_at_once():
    """Every store compresses and inflates through store.base; zstandard's codecs must not be
    shared between threads (a shared one corrupted frames or crashed under concurrent commits)."""
    blobs = [os.urandom(n // 2).hex().encode() + b"x" * n for n in range(64, 40_000, 997)]
    ids = [hash_object(b).hex() for b in blobs]
    errors: list[str] = []
    start = threading.Barrier(8)

    def work(seed: int) -> None:
        start.wait()
        try:
            for _ in range(30):
                for i in range(seed % 3, len(blobs), 2):
                    assert unpack_verified(ids[i], pack(blobs[i])) == blobs[i]
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
