"""Hostile remotes and repositories (issue 13, points 2, 7-12): every attack ends in one
clean error, and nothing changes on the receiving side."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from statevcs import Repository
from statevcs.errors import (
    AmbiguousRevisionError,
    CorruptObjectError,
    InvalidRefNameError,
    InvalidStateError,
    LimitExceededError,
    NonCanonicalObjectError,
    NotARepositoryError,
    RepositoryExistsError,
)
from statevcs.porcelain.transfer.remotes import fetch

from .cli_helpers import fails, run
from .hostile import (
    bomb,
    commit_raw,
    deep_chain,
    hostile_repository,
    obj_node,
    put_raw,
    put_stored,
)


def _snapshot(repo: Repository) -> tuple[dict, int]:
    """Everything a fetch could change: the refs and the number of objects."""
    return repo.store.list_refs(), sum(1 for _ in repo.store.iter_ids())


def _receiver(repo: Repository) -> Repository:
    repo.commit({"mine": 1}, message="local work")
    return repo


# ---------------------------------------------------------------- 8. decompression bombs

BOMB_SIZE = 3 << 30  # 3 GiB of zeros in a ~100 KB object
MEMORY_LIMIT = 1 << 30  # the whole process gets 1 GiB of address space


def _limited(cwd, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the CLI with its address space capped (RLIMIT_AS): a bomb would end in MemoryError."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (%d, %d)); "
            "from statevcs.cli.main import main; sys.argv[0] = 'statevcs'; main(sys.argv[1:])" % (MEMORY_LIMIT,
                                                                                                  MEMORY_LIMIT))
    full_env = {**os.environ, "STATEVCS_AUTHOR": "tester", **(env or {})}
    full_env.pop("STATEVCS_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=120)


def _clean_error(p: subprocess.CompletedProcess, *words: str) -> None:
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "internal error" not in p.stderr and "MemoryError" not in p.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def bomb_repo(tmp_path_factory):
    """A repository whose only commit's root is a 3 GiB decompression bomb that declares its
    size (as every frame statevcs writes does): a reader trusting it allocates 3 GiB at once."""
    path = str(tmp_path_factory.mktemp("bomb") / "evil")
    repo = Repository.init(path)
    bomb_id = "b" * 64  # the id is never reached: the reader stops long before hashing
    put_stored(repo.store, {bomb_id: bomb(BOMB_SIZE, declare_size=True)})
    cid = put_raw(repo.store, commit_raw(bomb_id))[0]
    repo.store.update_ref("refs/heads/main", cid)
    repo.close()
    return path


def test_bomb_clone_ends_in_a_clean_error_under_a_memory_limit(bomb_repo, tmp_path):
    p = _limited(tmp_path, "clone", bomb_repo, "copy")
    _clean_error(p, "object size limit")
    assert not (tmp_path / "copy").exists()  # nothing left behind


def test_bomb_fetch_and_cat_end_in_clean_errors_under_a_memory_limit(bomb_repo, tmp_path):
    run(tmp_path, "init", "mine")
    mine = tmp_path / "mine"
    (mine / "state.json").write_text('{"a": 1}\n')
    run(mine, "commit", "-m", "first")
    run(mine, "remote", "add", "evil", bomb_repo)
    with Repository.open(str(mine)) as repo:
        before = _snapshot(repo)
    _clean_error(_limited(mine, "fetch", "evil"), "object size limit")
    _clean_error(_limited(mine, "pull", "evil", "main"), "object size limit")
    with Repository.open(str(mine)) as repo:
        assert _snapshot(repo) == before
    _clean_error(_limited(bomb_repo, "cat", "main"), "object size limit")


def test_a_bomb_that_declares_its_size_is_refused_before_inflating(tmp_path, monkeypatch):
    monkeypatch.setenv("STATEVCS_MAX_OBJECT_SIZE", str(1 << 20))
    repo = Repository.init(str(tmp_path / "evil"))
    put_stored(repo.store, {"c" * 64: bomb(64 << 20, declare_size=True)})
    with pytest.raises(LimitExceededError, match="object size limit"):
        repo.store.get("c" * 64)


def test_a_bomb_without_a_declared_size_stops_at_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("STATEVCS_MAX_OBJECT_SIZE", str(1 << 20))
    repo = Repository.init(str(tmp_path / "evil"))
    put_stored(repo.store, {"d" * 64: bomb(256 << 20)})
    with pytest.raises(LimitExceededError, match="object size limit"):
        repo.store.get("d" * 64)


def test_the_object_size_limit_also_bounds_writes(monkeypatch):
    monkeypatch.setenv("STATEVCS_MAX_OBJECT_SIZE", "4096")
    repo = Repository.memory()
    with pytest.raises(InvalidStateError, match="object size limit"):
        repo.commit({"big": ["x" * 100] * 100}, message="too big")
    repo.commit({"small": 1}, message="fits")


def test_a_bad_limit_setting_is_one_clean_error(tmp_path):
    run(tmp_path, "init", "r")
    r = fails(tmp_path / "r", 3, "commit", "-m", "x", env={"STATEVCS_MAX_DEPTH": "lots"})
    assert "STATEVCS_MAX_DEPTH" in r.err


@pytest.mark.parametrize("setting", ["1,2", "5,1,2", "a,b,c"])
def test_a_bad_chunk_setting_is_one_clean_error(tmp_path, setting):
    run(tmp_path, "init", "r")
    (tmp_path / "r" / "state.json").write_text('{"a": [1, 2, 3]}')
    r = fails(tmp_path / "r", 3, "commit", "-m", "x", env={"STATEVCS_CHUNK_PARAMS": setting})
    assert r.err.startswith("error: STATEVCS_CHUNK_PARAMS=") and "internal error" not in r.err
    assert "unset it" in r.err and len(r.err.strip().splitlines()) == 1


# ---------------------------------------------------------------- 9. values the format forbids

FORBIDDEN = {
    "NaN": '"x":NaN',
    "Infinity": '"x":-Infinity',
    "huge float": '"x":1e400',
    "lone surrogate value": '"x":"\\ud800"',
    "lone surrogate key": '"\\udc00":1',
    "duplicate keys": '"x":1,"x":2',
    "unsorted keys": '"y":1,"x":2',
    "whitespace": '"x": 1',
    "number spelling": '"x":1.0e0',
    "escaped plain text": '"x":"\\u0041"',
}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_fetch_refuses_forbidden_values_and_writes_nothing(repo, tmp_path, case):
    evil, _ = hostile_repository(str(tmp_path / "evil"), obj_node(FORBIDDEN[case]))
    evil.close()
    _receiver(repo)
    before = _snapshot(repo)
    with pytest.raises(CorruptObjectError) as info:
        fetch(repo, str(tmp_path / "evil"))
    assert isinstance(info.value, (NonCanonicalObjectError, LimitExceededError)) or "malformed" in str(info.value)
    assert _snapshot(repo) == before


def test_reading_a_forbidden_value_names_the_object(tmp_path):
    evil, cid = hostile_repository(str(tmp_path / "evil"), obj_node('"x":1,"x":2'))
    root = evil.objects.commit(cid).root
    with pytest.raises(NonCanonicalObjectError, match=root):
        evil.get("main")
    with pytest.raises(NonCanonicalObjectError, match=root):
        evil.objects.node(root)


def test_lone_surrogates_through_the_api_are_invalid_state(repo):
    for state in ({"x": "\ud800"}, {"\udc00": 1}, ["ok", {"deep": ["\ud834"]}]):
        with pytest.raises(InvalidStateError):
            repo.commit(state, message="bad")
    with pytest.raises(InvalidStateError, match="/message"):
        repo.commit({"a": 1}, message="bad \ud800 message")
    with pytest.raises(InvalidStateError):
        repo.commit({"a": 1}, message="ok", metadata={"k": "\udfff"})
    assert repo.head() is None


# ---------------------------------------------------------------- 10. depth, validated before refs move

def test_a_deep_tree_is_refused_before_any_ref_moves(repo, tmp_path):
    evil = Repository.init(str(tmp_path / "evil"))
    top = deep_chain(evil.store, 3000)
    cid = put_raw(evil.store, commit_raw(top))[0]
    evil.store.update_ref("refs/heads/main", cid)
    with pytest.raises(LimitExceededError):  # reading it is a clean error, not a RecursionError
        evil.get("main")
    evil.close()
    _receiver(repo)
    before = _snapshot(repo)
    with pytest.raises(LimitExceededError, match="deeper than the limit"):
        fetch(repo, str(tmp_path / "evil"))
    assert _snapshot(repo) == before


def test_the_depth_limit_is_the_same_on_write_and_read(monkeypatch):
    monkeypatch.setenv("STATEVCS_MAX_DEPTH", "20")
    repo = Repository.memory()
    deep: list = []
    value: list = deep
    for _ in range(18):  # deep nests 19 levels
        value.append([])
        value = value[0]
    repo.commit({"a": deep}, message="exactly 20 levels")
    assert repo.get("main") == {"a": deep}
    with pytest.raises(InvalidStateError, match="deeper than 20"):
        repo.commit({"a": {"b": deep}}, message="21 levels")
    monkeypatch.setenv("STATEVCS_MAX_DEPTH", "10")
    with pytest.raises(LimitExceededError):
        repo.get("main")


def test_a_chunk_cached_at_the_root_is_checked_again_deeper_down(monkeypatch):
    """A decoded chunk is cached once and read at any depth: read below the root, its
    entries must still nest within the limit counted from there."""
    monkeypatch.setenv("STATEVCS_MAX_DEPTH", "6")
    repo = Repository.memory()
    items = [[[f"x{i}"]] for i in range(2000)]  # each item nests 2 levels; a few leaves
    commit = repo.commit({"a": items}, message="4 levels")
    chunk = repo.objects.node(commit.root).children["a"].id
    top = repo.objects.node(chunk)  # decoded as a root (depth 1): its leaves nest 3 levels
    assert top.height >= 1
    for ref in top.entries:
        repo.objects.node(ref.id)
    monkeypatch.setenv("STATEVCS_MAX_DEPTH", "3")  # the leaves as roots fit; under "a" they do not
    with pytest.raises(LimitExceededError):
        repo.get("main")
    monkeypatch.setenv("STATEVCS_MAX_DEPTH", "6")
    assert repo.get("main") == {"a": items}


def test_clone_of_a_deep_tree_leaves_nothing(tmp_path):
    evil = Repository.init(str(tmp_path / "evil"))
    cid = put_raw(evil.store, commit_raw(deep_chain(evil.store, 1000)))[0]
    evil.store.update_ref("refs/heads/main", cid)
    evil.close()
    fails(tmp_path, 3, "clone", "evil", "copy")
    assert not (tmp_path / "copy").exists()


# ---------------------------------------------------------------- 12. commit structure

def test_fetch_refuses_a_wrong_generation_and_fsck_reports_it(repo, tmp_path):
    evil, root_commit = hostile_repository(str(tmp_path / "evil"))
    root = evil.objects.commit(root_commit).root
    child = put_raw(evil.store, commit_raw(root, [root_commit], generation=7))[0]
    evil.store.update_ref("refs/heads/main", child)
    report = evil.fsck()
    assert not report.ok and any("generation 7" in p for p in report.problems)
    evil.close()
    _receiver(repo)
    before = _snapshot(repo)
    with pytest.raises(CorruptObjectError, match="generation 7"):
        fetch(repo, str(tmp_path / "evil"))
    assert _snapshot(repo) == before


@pytest.mark.parametrize("fields", [
    {"generation": "1"}, {"generation": True}, {"parents": "x"}, {"author": 5}, {"message": None},
    {"metadata": []}, {"time": "yesterday"}, {"root": "not-an-id"}, {"extra": 1},
])
def test_malformed_commits_are_refused_and_reported(tmp_path, fields):
    evil, cid = hostile_repository(str(tmp_path / "evil"))
    root = evil.objects.commit(cid).root
    fields = dict(fields)
    bad = put_raw(evil.store, commit_raw(fields.pop("root", root), **fields))[0]
    evil.store.update_ref("refs/heads/main", bad)
    assert not evil.fsck().ok
    evil.close()
    mine = Repository.init(str(tmp_path / "mine"))
    with pytest.raises(CorruptObjectError):
        fetch(mine, str(tmp_path / "evil"))
    assert mine.store.list_refs("refs/heads/") == {}


def test_a_commit_whose_root_is_a_commit_is_refused(repo, tmp_path):
    evil, first = hostile_repository(str(tmp_path / "evil"))
    bad = put_raw(evil.store, commit_raw(first))[0]  # root names a commit, not a node
    evil.store.update_ref("refs/heads/main", bad)
    assert any("not a state node" in p or "is a commit" in p for p in evil.fsck().problems)
    evil.close()
    with pytest.raises(CorruptObjectError):
        fetch(repo, str(tmp_path / "evil"))


# ---------------------------------------------------------------- 11. ref names from a remote

@pytest.mark.parametrize("name", ["refs/heads/bad\x1b]0;owned\x07", "refs/heads/c1\x9bname", "refs/tags/a..b",
                                  "refs/heads/" + "x" * 7990, "refs/heads/sp ace"])
def test_fetch_refuses_invalid_remote_ref_names(repo, tmp_path, name):
    evil, cid = hostile_repository(str(tmp_path / "evil"))
    evil.store.update_ref(name, cid)
    evil.close()
    _receiver(repo)
    before = _snapshot(repo)
    with pytest.raises(InvalidRefNameError, match="the remote has an invalid ref"):
        fetch(repo, str(tmp_path / "evil"))
    assert _snapshot(repo) == before


def test_a_tag_named_like_a_short_id_is_ambiguous(repo):
    first = repo.commit({"a": 1}, message="one")
    second = repo.commit({"a": 2}, message="two")
    short = first.id[:8]
    repo.create_tag(short, second.id)
    with pytest.raises(AmbiguousRevisionError) as info:
        repo.rev_parse(short)
    assert "refs/tags/" + short in str(info.value) and first.id[:12] in str(info.value)
    assert repo.rev_parse("refs/tags/" + short) == second.id
    assert repo.rev_parse(first.id) == first.id  # a full id is never ambiguous
    repo.create_tag(second.id[:8], second.id)  # a tag naming the commit it abbreviates is fine
    assert repo.rev_parse(second.id[:8]) == second.id


# ---------------------------------------------------------------- 2. and 7. where clone and remotes write

def test_clone_refuses_a_non_empty_destination_and_touches_nothing(tmp_path):
    run(tmp_path, "init", "src")
    (tmp_path / "src" / "state.json").write_text('{"a": 1}\n')
    run(tmp_path / "src", "commit", "-m", "one")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "state.json").write_text('{"uncommitted": true}\n')
    r = fails(tmp_path, 3, "clone", "src", "dest")
    assert "not an empty directory" in r.err
    assert (dest / "state.json").read_text() == '{"uncommitted": true}\n'
    assert sorted(os.listdir(dest)) == ["state.json"]
    with pytest.raises(RepositoryExistsError):
        Repository.clone(str(tmp_path / "src"), str(dest))
    (tmp_path / "empty").mkdir()
    run(tmp_path, "clone", "src", "empty")  # an empty directory is fine
    assert run(tmp_path / "empty", "cat", "main").json() == {"a": 1}


def test_a_remote_never_reaches_a_parent_repository(tmp_path):
    run(tmp_path, "init", "outer")
    outer = tmp_path / "outer"
    (outer / "state.json").write_text('{"precious": true}\n')
    run(outer, "commit", "-m", "precious")
    inner = outer / "not-a-repo"
    inner.mkdir()
    run(tmp_path, "init", "mine")
    mine = tmp_path / "mine"
    (mine / "state.json").write_text('{"other": 1}\n')
    run(mine, "commit", "-m", "unrelated")
    with Repository.open(str(outer)) as repo:
        before = repo.store.list_refs()
    r = fails(mine, 3, "remote", "add", "o", str(inner))
    assert "not a statevcs repository" in r.err
    for args in (("push", "--force", str(inner), "main"), ("fetch", str(inner)), ("pull", str(inner), "main")):
        fails(mine, 3, *args)
    fails(tmp_path, 3, "clone", str(inner), "copy")
    with Repository.open(str(outer)) as repo:
        assert repo.store.list_refs() == before
    with pytest.raises(NotARepositoryError):
        fetch(Repository.memory(), str(inner))
