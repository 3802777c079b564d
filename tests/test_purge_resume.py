"""An interrupted purge is finished (issue 17.1, docs/erasure.md): killed with SIGKILL at every
step by a real ``statevcs purge`` process, the repository reports the unfinished purge
(``status``, ``fsck``), and ``purge --continue`` or the same command again finishes it: the
erased value is then in no raw database file (the SQLite database and its ``-wal``, plain
and inside every zstd frame found in their bytes), in no decompressed object and in no
PostgreSQL row; the old->new map is recorded once and whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
import zstandard

from statevcs import Repository
from statevcs.errors import PurgeError, PurgeInterruptedError
from statevcs.porcelain.upkeep.purge import purge_history
from statevcs.porcelain.upkeep.purge_journal import ENV_KILL_AT, JOURNAL_REF

from .cli_helpers import fails, run
from .conftest import postgres_url, require_postgres, track_postgres

MARKER = "ERASE-ME-51f3"
#: Where the purge is killed: just before each of its steps, and before the journal goes.
KILL_POINTS = ["refs", "expire", "record", "working", "gc", "wipe", "finish"]
COMMITS = 30


def build(location: str) -> Repository:
    """30 commits holding the marker (small objects, stored plain, and a big one, compressed),
    annotated tags, a branch, and a reset that leaves a commit holding it only in the reflog."""
    repo = Repository.init(location, author="tester")
    for i in range(COMMITS):
        bio = [f"{MARKER} {j}" * 20 for j in range(3)] if i % 10 == 0 else []  # compressed
        repo.commit({"users": {"42": {"email": MARKER, "i": i, "bio": bio}, "7": {"email": "kept", "i": i}},
                     "n": i}, message=f"c{i}")
        if i % 10 == 5:
            repo.create_tag(f"v{i}", message=f"release {i}")
    repo.create_branch("side", "HEAD~3")
    repo.commit({"users": {"42": {"email": MARKER, "side": True}}}, "on side", branch="side")
    repo.commit({"users": {"7": {"email": "kept"}}, "n": 99}, "without 42")
    repo.reset("HEAD~1")
    if repo.workdir:
        repo.load_working("HEAD")
    return repo


def frames_holding(data: bytes, marker: bytes) -> int:
    """How many zstd frames anywhere in ``data`` (free pages and the WAL too) decompress to
    something holding ``marker``, with or without statevcs's dictionary, plus plain occurrences."""
    from statevcs.store import stored

    found = data.count(marker)
    readers = [zstandard.ZstdDecompressor(),
               zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(stored.dictionary(2)))]
    i = 0
    while (i := data.find(b"\x28\xb5\x2f\xfd", i)) >= 0:
        for d in readers:
            try:
                if marker in d.decompressobj().decompress(data[i:i + (1 << 20)]):
                    found += 1
                    break
            except zstandard.ZstdError:
                pass
        i += 4
    return found


def raw_sqlite(d) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((d / ".statevcs").glob("statevcs.db*")))


def postgres_rows(url: str) -> list[bytes]:
    """Every row of the repository, objects decompressed and verified."""
    import psycopg

    from statevcs.store.stored import unpack_verified
    from statevcs.store.postgres import split_url

    base, name = split_url(url)
    out: list[bytes] = []
    with psycopg.connect(base) as conn:
        for oid, data in conn.execute("SELECT id, data FROM statevcs_objects WHERE repo = %s", (name,)):
            out += [bytes(data), unpack_verified(bytes(oid).hex(), bytes(data))]
        for table in ("statevcs_refs", "statevcs_reflog"):
            out += [repr(r).encode() for r in conn.execute(f"SELECT * FROM {table} WHERE repo = %s", (name,))]
    return out


def postgres_files(url: str) -> list[str] | None:
    """Paths of the files holding the repository's partitions (heap and TOAST), after a
    CHECKPOINT wrote them out; None when this process cannot read the server's files."""
    import psycopg

    from statevcs.store.postgres.partitions import partition_names
    from statevcs.store.postgres import split_url

    base, name = split_url(url)
    with psycopg.connect(base, autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
            data = conn.execute("SHOW data_directory").fetchone()[0]
        except psycopg.Error:  # not a superuser: the files are not ours to read
            return None
        paths = []
        for part in partition_names(conn, name):
            for rel in conn.execute("SELECT c.oid::regclass::text FROM pg_class c WHERE c.oid = %s::regclass "
                                    "UNION SELECT c.reltoastrelid::regclass::text FROM pg_class c "
                                    "WHERE c.oid = %s::regclass AND c.reltoastrelid <> 0", (part, part)):
                (path,) = conn.execute("SELECT pg_relation_filepath(%s)", rel).fetchone()
                paths.append(os.path.join(data, path))
    if not os.access(os.path.dirname(paths[0]), os.R_OK):
        return None
    return paths


def file_bytes(paths: list[str]) -> bytes:
    out = b""
    for path in paths:  # a relation file and its 1 GB segments (path.1, path.2, ...)
        for candidate in [path] + [f"{path}.{i}" for i in range(1, 100)]:
            if not os.path.exists(candidate):
                break
            with open(candidate, "rb") as f:
                out += f.read()
    return out


def purge_cli(where: list[str], cwd, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop(ENV_KILL_AT, None)
    if kill_at:
        env[ENV_KILL_AT] = kill_at
    return subprocess.run([sys.executable, "-m", "statevcs", *where, "purge", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_finished(repo: Repository, old: set[str]) -> None:
    repo.objects.forget()
    assert repo.store.read_ref(JOURNAL_REF) is None and repo.unfinished_purge() is None
    for oid in repo.store.iter_ids():
        assert MARKER.encode() not in repo.store.get(oid), oid
    records = purge_history(repo)
    assert len(records) == 1  # recorded once, never twice, and never lost
    assert set(records[0]["map"]) == old  # every commit that held it (reachable at the start) is mapped
    assert not repo.store.has_many(old)
    for name in repo.store.reflog_names():
        for entry in repo.store.reflog(name):
            assert entry.old not in old and entry.new not in old
    for c in repo.log("main"):
        assert "42" not in repo.get(c.id).get("users", {})
    report = repo.fsck()
    assert report.ok, report.problems


def _holding(repo: Repository) -> set[str]:
    """Commits the purge will rewrite (every commit of every ref; all hold the value or follow one)."""
    return set(repo.purge("/users/42", all=True, dry_run=True).map)


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_sqlite_purge_killed_at_each_step_is_finished(tmp_path, kill_at):
    d = tmp_path / "r"
    # Kept open throughout, as another process using the repository would: its connection
    # keeps the write-ahead log (with the marker in the frames of its commits) from being
    # folded in and deleted when the purge's process exits, so only the wipe empties it.
    keeper = build(str(d))
    old = _holding(keeper)
    assert frames_holding((d / ".statevcs" / "statevcs.db-wal").read_bytes(), MARKER.encode()) > 0
    killed = purge_cli([], d, "/users/42", "--all", "--yes", kill_at=kill_at)
    assert killed.returncode == -9, killed.stderr
    # The unfinished purge is reported, and a different purge is refused until it is finished.
    status = run(d, "status").out
    assert "interrupted purge of /users/42" in status and "statevcs purge --continue" in status
    assert run(d, "status", "--json").json()["purge"]["pointer"] == "/users/42"
    checked = run(d, "fsck", check=False)
    assert checked.code == 1 and "statevcs purge --continue" in checked.out
    assert "statevcs purge --continue" in fails(d, 3, "purge", "/n", "--all", "--yes").err
    assert "statevcs purge --continue" in fails(d, 2, "purge", "/users/42", "--all").err
    # Half of the kill points finish with --continue, half by running the same purge again.
    again = ["--continue"] if KILL_POINTS.index(kill_at) % 2 else ["/users/42", "--all", "--yes"]
    done = purge_cli([], d, *again, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pointer"] == "/users/42"
    assert frames_holding(raw_sqlite(d), MARKER.encode()) == 0
    assert MARKER not in (d / "state.json").read_text()
    assert "interrupted" not in run(d, "status").out
    fails(d, 3, "purge", "--continue")  # nothing left to continue
    assert_finished(keeper, old)
    keeper.close()


@pytest.mark.parametrize("kill_at", ["refs", "expire", "record", "gc", "wipe", "finish"])
def test_postgres_purge_killed_at_each_step_is_finished(tmp_path, kill_at):
    require_postgres()
    url = track_postgres(postgres_url())
    repo = build(url)
    old = _holding(repo)
    repo.close()
    assert any(MARKER.encode() in row for row in postgres_rows(url))
    before = postgres_files(url)
    if before is not None:  # the probe finds the marker in the files when it is there
        assert frames_holding(file_bytes(before), MARKER.encode()) > 0
    killed = purge_cli(["-C", url], tmp_path, "/users/42", "--all", "--yes", kill_at=kill_at)
    assert killed.returncode == -9, killed.stderr
    assert "statevcs purge --continue" in purge_cli(["-C", url], tmp_path, "/n", "--all", "--yes").stderr
    done = purge_cli(["-C", url], tmp_path, "--continue")
    assert done.returncode == 0, done.stderr
    assert not any(MARKER.encode() in row for row in postgres_rows(url))
    if before is not None:  # the files the rows were in, and the rewritten ones (WAL aside: docs/erasure.md)
        after = postgres_files(url)
        assert after is not None and set(after).isdisjoint(before)
        assert frames_holding(file_bytes(before + after), MARKER.encode()) == 0
    with Repository.open(url) as repo:
        assert_finished(repo, old)


def test_timed_kills_are_finished(tmp_path):
    """SIGKILL at whatever moment the process has reached, a few times over: each rerun finishes."""
    d = tmp_path / "r"
    build(str(d)).close()
    for delay in (0.3, 0.5, 0.7, 0.9):
        proc = subprocess.Popen([sys.executable, "-m", "statevcs", "purge", "/users/42", "--all", "--yes"], cwd=d,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode == 0:  # finished before the kill: purge again for the next round
            break
    with Repository.open(str(d)) as repo:
        if repo.unfinished_purge() is not None:
            repo.purge_continue()
        else:
            with pytest.raises(PurgeError):  # either done, or never began: run it whole
                repo.purge_continue()
            try:
                repo.purge("/users/42", all=True)
            except PurgeError as exc:
                assert "nothing changed" in str(exc)
    assert frames_holding(raw_sqlite(d), MARKER.encode()) == 0


# ---------------------------------------------------------------- the Python API and contention
def test_an_error_after_the_start_names_continue_and_the_journal_finishes(repo, monkeypatch):
    from statevcs.porcelain.upkeep import purge as purge_module

    for i in range(3):
        repo.commit({"s": MARKER, "i": i}, f"c{i}")

    def broken(*args, **kwargs):
        raise PurgeError("simulated failure of the collection")

    monkeypatch.setattr(purge_module, "gc", broken)
    with pytest.raises(PurgeInterruptedError, match="statevcs purge --continue") as info:
        repo.purge("/s")
    assert "after step working-file" in str(info.value)
    assert repo.unfinished_purge().step == "working-file"
    monkeypatch.undo()
    report = repo.purge_continue()
    assert report.rewritten == 3 and report.removed > 0
    assert repo.unfinished_purge() is None
    assert not any(MARKER.encode() in repo.store.get(o) for o in repo.store.iter_ids())
    with pytest.raises(PurgeError, match="no purge to continue"):
        repo.purge_continue()


def test_purge_moves_its_refs_under_steady_writes(repo):
    """A writer keeps committing to the purged branch, one commit a millisecond or so: the ref
    move catches up on its commits inside its transaction (or retries with backoff) instead
    of failing every time. (A writer that never pauses can starve the purge on the memory
    store, whose lock is not fair: docs/erasure.md.)"""
    for i in range(20):
        repo.commit({"s": MARKER, "n": i}, f"c{i}")
    stop = threading.Event()
    landed: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                landed.append(repo.update("main", lambda s: {**s, "n": s["n"] + 1}, message="tick").id)
                stop.wait(0.001)
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(landed) < 5:
            threading.Event().wait(0.01)
        report = repo.purge("/s")
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert report.rewritten >= 20
    head = repo.get("main")
    assert "s" not in head and head["n"] >= 20
    assert not any(MARKER.encode() in repo.store.get(o) for o in repo.store.iter_ids())
    assert repo.fsck().ok


def test_judging_a_long_reflog_reads_each_commit_about_once(repo, monkeypatch):
    """Commits made after the refs moved (here 300, while the purge was stopped) fill the
    purged branch's reflog; judging every entry walks each history once, not once per entry
    (a quadratic walk kept a purge under steady writes busy for ever)."""
    from statevcs.porcelain.upkeep import purge as purge_module

    repo.commit({"s": MARKER, "n": 0}, "holds it")
    repo.commit({"n": 1}, "not any more")

    def stop(*args, **kwargs):
        raise PurgeError("simulated stop before the reflogs are expired")

    monkeypatch.setattr(purge_module, "expire_reflogs", stop)
    with pytest.raises(PurgeInterruptedError):
        repo.purge("/s", all=True)
    monkeypatch.undo()
    for i in range(300):
        repo.commit({"n": 2 + i}, f"after {i}")
    repo.objects.forget()
    reads = [0]
    real = repo.objects.commit

    def counted(oid):
        reads[0] += 1
        return real(oid)

    monkeypatch.setattr(repo.objects, "commit", counted)
    report = repo.purge_continue()
    assert report.rewritten == 2
    assert reads[0] < 5 * 300, reads[0]  # a walk per entry would read ~45,000
    assert not any(MARKER.encode() in repo.store.get(o) for o in repo.store.iter_ids())
