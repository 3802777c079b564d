"""Chunked containers through the repository: old-format reads, history independence,
O(change) commits, diffs and lookups on a 50,000-agent state, gc, fsck and transfers."""

from __future__ import annotations

import copy
import dataclasses
import random
import shutil
import subprocess
import sys

import jsonpatch
import pytest

from statevcs import Repository, merge3
from statevcs.algo.diff import diff_trees
from statevcs.model.canonical import strict_equal
from statevcs.model.chunks.format import CHUNK_KINDS
from statevcs.model.chunks.views import ENV_CHUNK_PARAMS, use_chunk_params
from statevcs.model.objects import FLAT_NODE_KINDS, split_kind
from statevcs.model.tree import lookup, read_tree, write_tree

from .chunking import SMALL_CHUNKS
from .conftest import ROOT
from .data.make_format1_repo import team as format1_team

FORMAT1 = ROOT / "tests" / "data" / "format1-repo"


def kinds(repo: Repository) -> set[bytes]:
    return {split_kind(repo.store.get(oid))[0] for oid in repo.store.iter_ids()}


# ---------------------------------------------------------------- format 1 repositories


@pytest.fixture
def format1(tmp_path):
    target = tmp_path / "old"
    shutil.copytree(FORMAT1, target)
    repo = Repository.open(str(target))
    yield repo
    repo.close()


def test_format1_repository_reads_diffs_merges_and_checks(format1):
    repo = format1
    assert kinds(repo) <= set(FLAT_NODE_KINDS) | {b"commit1", b"tag1"}  # made before chunking
    # Every commit reads back as the maker script wrote it.
    first = format1_team(120)
    second = copy.deepcopy(first)
    second["agents"]["agent-007"]["step"] = 700
    second["log"].append("turn 150: done")
    third = copy.deepcopy(second)
    third["config"]["temperature"] = 0.7
    experiment = copy.deepcopy(second)
    experiment["agents"]["agent-042"] = {"role": "critic", "step": 4200, "ok": False}
    experiment["extra"] = [1, 2.5, True, None, "x"]
    history = [c for c in repo.log("main")]
    assert [strict_equal(repo.get(c.id), v) for c, v in zip(history, [third, second, first])] == [True] * 3
    assert strict_equal(repo.get("v1"), second) and strict_equal(repo.get("light"), second)
    assert strict_equal(repo.get("experiment"), experiment)
    assert repo.get("array-root") == ["a scalar list state"] * 3
    assert repo.get("main", "/agents/agent-007/step") == 700
    # Diffs between old commits apply with jsonpatch.
    patch = repo.diff("v1", "experiment").patch
    assert strict_equal(jsonpatch.apply_patch(second, patch), experiment)
    # A merge onto it: unchanged old subtrees are reused as they are (flat nodes stay flat).
    outcome = repo.merge("experiment", "main", message="merge experiment")
    assert outcome.commit is not None
    merged = copy.deepcopy(third)
    merged["agents"]["agent-042"] = experiment["agents"]["agent-042"]
    merged["extra"] = experiment["extra"]
    assert strict_equal(repo.get("main"), merged)
    # A commit of a whole value writes format 2: the 120-agent map does not fit in one chunk.
    merged["config"]["model"] = "m-2"
    repo.commit(merged, message="new model")
    assert set(CHUNK_KINDS) & kinds(repo)
    assert repo.resolve("main").root == write_tree(merged)[0]
    # Flat (old) against chunked (new) nodes of the same containers: only the real change.
    assert [c["path"] for c in repo.diff("HEAD~1", "HEAD").patch] == ["/config/model"]
    assert strict_equal(jsonpatch.apply_patch(second, repo.diff("v1", "HEAD").patch), merged)
    assert strict_equal(jsonpatch.apply_patch(merged, repo.diff("HEAD", "experiment").patch), experiment)
    assert strict_equal(repo.get("HEAD~2"), third)
    assert repo.fsck().ok


def test_format1_repository_commits_and_gc(format1):
    repo = format1
    state = repo.get("main")
    state["agents"]["agent-100"]["ok"] = "changed"
    repo.commit(state, message="new-format commit")
    repo.gc(prune="now")
    assert repo.fsck().ok
    for commit in repo.log("main"):
        repo.get(commit.id)
    assert repo.get("main", "/agents/agent-100/ok") == "changed"


# ---------------------------------------------------------------- history independence


def _edit_sequences(rnd: random.Random, target: dict) -> list[dict]:
    """Three states reaching ``target`` by different routes (built up, torn down, shuffled)."""
    keys = list(target["m"])
    rnd.shuffle(keys)
    grown = {"m": {}, "l": []}
    steps = [copy.deepcopy(grown)]
    for k in keys:
        grown["m"][k] = target["m"][k]
        if rnd.random() < 0.2:
            steps.append(copy.deepcopy(grown))
    grown["l"] = list(target["l"])
    steps.append(copy.deepcopy(grown))
    return steps


def test_same_value_same_root_whatever_the_edits(repo):
    rnd = random.Random(8)
    with use_chunk_params(SMALL_CHUNKS):
        target = {"m": {f"k{i:03d}": "v" * rnd.randrange(30) for i in range(150)},
                  "l": [rnd.randrange(1000) for _ in range(200)]}
        roots = set()
        for branch in ("a", "b", "c"):
            repo.create_branch(branch, repo.commit({"start": branch}, branch="main").id)
            for state in _edit_sequences(rnd, target):
                repo.commit(state, branch=branch, allow_empty=True)
            # Then wander off and come back through graft-based merges and reverts.
            detour = copy.deepcopy(target)
            detour["m"].pop("k010")
            detour["l"].insert(50, "detour")
            repo.commit(detour, branch=branch)
            repo.revert(branch, branch=branch)
            roots.add(repo.resolve(branch).root)
        assert len(roots) == 1
        assert roots == {write_tree(target)[0]}
        assert set(CHUNK_KINDS) & kinds(repo)
        assert repo.fsck().ok


# ---------------------------------------------------------------- a 50,000-agent state


class CountingSource:
    """A NodeSource over a repository's reader that records every id it is asked for."""

    def __init__(self, objects):
        self.objects = objects
        self.seen: set[str] = set()

    def raw(self, oid):
        self.seen.add(oid)
        return self.objects.raw(oid)

    def node(self, oid):
        self.seen.add(oid)
        return self.objects.node(oid)


def big_team(n: int) -> dict:
    return {"agents": [{"id": f"agent-{i:05d}", "role": ["planner", "coder", "critic"][i % 3], "step": i,
                        "memory": [f"note {i}-{j}" for j in range(3)], "status": "idle"} for i in range(n)],
            "by_id": {f"agent-{i:05d}": {"score": i % 97, "tags": ["t%d" % (i % 7)]} for i in range(n)},
            "config": {"model": "m-1"}}


@pytest.mark.slow
def test_fifty_thousand_agents_cost_follows_the_change():
    repo = Repository.memory()
    state = big_team(50_000)
    first = repo.commit(state, message="50k agents")
    before = set(repo.store.iter_ids())
    state["agents"][31_337]["status"] = "busy"
    one = repo.commit(state, message="one leaf")
    added = set(repo.store.iter_ids()) - before
    added_bytes = sum(len(repo.store.get(o)) for o in added)
    # The commit, the root, the agent, one leaf chunk of the agents array and its spine.
    assert len(added) <= 10 and added_bytes < 12_000, (len(added), added_bytes)
    # Ten changes: a diff reads O(changes x depth) nodes, not 100,000 entries.
    for i in range(0, 50_000, 5_000):
        state["by_id"][f"agent-{i:05d}"]["score"] = -1
    ten = repo.commit(state, message="ten leaves")
    counting = CountingSource(repo.objects)
    changes = diff_trees(counting, one.root, ten.root)
    assert len(changes) == 10 and len(counting.seen) < 150, len(counting.seen)
    assert {c.path for c in changes} == {f"/by_id/agent-{i:05d}/score" for i in range(0, 50_000, 5_000)}
    counting = CountingSource(repo.objects)
    changes = diff_trees(counting, first.root, one.root)
    assert [c.path for c in changes] == ["/agents/31337/status"] and len(counting.seen) < 40
    # A lookup reads one path of chunks.
    counting = CountingSource(repo.objects)
    assert lookup(counting, ten.root, "/agents/49999/memory/2") == "note 49999-2"
    assert lookup(counting, ten.root, "/by_id/agent-25000/score") == -1
    assert len(counting.seen) < 30, len(counting.seen)
    assert strict_equal(read_tree(repo.objects, ten.root), state)


@pytest.mark.slow
def test_merge_of_disjoint_changes_in_a_big_state(repo):
    state = big_team(5_000)
    base = repo.commit(state, message="base")
    repo.create_branch("other", base.id)
    ours = copy.deepcopy(state)
    theirs = copy.deepcopy(state)
    for i in range(0, 5_000, 100):
        ours["agents"][i]["step"] = -1
        theirs["by_id"][f"agent-{i + 1:05d}"]["score"] = -2
    theirs["agents"].append({"id": "new"})
    theirs["agents"].insert(2_550, {"id": "inserted"})
    ours["agents"].pop(4_000)
    repo.commit(ours, message="ours")
    repo.commit(theirs, message="theirs", branch="other")
    outcome = repo.merge("other", "main", message="merge")
    expected = copy.deepcopy(ours)
    expected["by_id"] = theirs["by_id"]
    expected["agents"].insert(2_550, {"id": "inserted"})
    expected["agents"].append({"id": "new"})
    assert outcome.commit is not None and strict_equal(repo.get("main"), expected)
    assert repo.resolve("main").root == write_tree(expected)[0]
    assert strict_equal(merge3(state, ours, theirs).value, expected)  # as the plain-value merge


# ---------------------------------------------------------------- gc, fsck, transfers, CLI


def test_gc_and_fsck_follow_chunk_links(repo):
    with use_chunk_params(SMALL_CHUNKS):
        state = {"log": [f"message {i}" for i in range(300)], "m": {f"k{i}": i for i in range(300)}}
        repo.commit(state, message="one")
        for i in range(5):
            state["log"].append(f"more {i}")
            state["m"][f"k{i}"] = -i
            repo.commit(state, message=f"turn {i}")
        repo.create_branch("gone", "HEAD~3")
        repo.delete_branch("gone", force=True)
        report = repo.fsck()
        assert report.ok, report.problems
        repo.gc(prune="now", expire="now", expire_unreachable="now")
        assert repo.fsck().ok
        for commit in repo.log("main"):
            repo.get(commit.id)
        assert repo.get() == state
        # A lost chunk is reported by fsck.
        chunk = next(o for o in repo.store.iter_ids() if split_kind(repo.store.get(o))[0] == b"arrl1")
        repo.store.delete_objects([chunk])
        repo.objects.forget()
        assert any(chunk in p for p in repo.fsck().problems)


def test_push_and_clone_carry_chunked_states(tmp_path):
    with use_chunk_params(SMALL_CHUNKS):
        src = Repository.init(str(tmp_path / "src"))
        state = {"log": [f"message {i}" for i in range(300)]}
        src.commit(state, message="one")
        dst = Repository.clone(str(tmp_path / "src"), str(tmp_path / "dst"))
        assert dst.get() == state and dst.fsck().ok
        state["log"].append("next")
        dst.commit(state, message="two")
        report = dst.push("origin", "main")
        assert report.commits == 1 and report.objects < 10  # the new leaf chunk, its spine, the root
        assert src.get("main") == state and src.fsck().ok


def test_cli_writes_and_reads_chunked_states(tmp_path):
    env_params = ",".join(str(getattr(SMALL_CHUNKS, f.name)) for f in dataclasses.fields(SMALL_CHUNKS))
    work = tmp_path / "w"
    script = f"""
import json, os, subprocess, sys
def sv(*args):
    return subprocess.run([sys.executable, "-m", "statevcs", *args], check=True, capture_output=True, text=True).stdout
sv("init")
state = {{"log": ["m%d" % i for i in range(200)]}}
json.dump(state, open("state.json", "w"))
sv("commit", "-m", "one")
state["log"][100] = "changed"
json.dump(state, open("state.json", "w"))
sv("commit", "-m", "two")
print(sv("diff", "HEAD~1", "HEAD", "--format", "patch"))
"""
    work.mkdir()
    out = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True, text=True,
                         env={**__import__("os").environ, ENV_CHUNK_PARAMS: env_params})
    assert out.returncode == 0, out.stderr
    assert '"/log/100"' in out.stdout
    repo = Repository.open(str(work))
    assert set(CHUNK_KINDS) & kinds(repo)
    assert repo.get("HEAD", "/log/100") == "changed"


# ---------------------------------------------------------------- damaged chunk nodes


def _chunked_sample() -> dict[str, bytes]:
    with use_chunk_params(SMALL_CHUNKS):
        _, objects = write_tree({"l": [f"item {i}" for i in range(60)], "m": {f"k{i}": [i] * 3 for i in range(60)}})
    return objects


@pytest.mark.parametrize("cut", [0, 5, 17, 40, -3, -1])
def test_damaged_chunk_bytes_raise_only_statevcs_errors(cut):
    from statevcs.errors import StateVCSError
    from statevcs.model.nodes import child_ids, decode_node
    from statevcs.model.objects import object_id
    from statevcs.model.tree import ObjectsSource

    objects = _chunked_sample()
    chunks = [raw for raw in objects.values() if split_kind(raw)[0] in CHUNK_KINDS]
    assert {split_kind(raw)[0] for raw in chunks} == set(CHUNK_KINDS)
    for raw in chunks:
        for bad in (raw[:cut], raw[:cut] + b"x" + raw[cut + 1:], raw.replace(b'"h":', b'"h":9')):
            oid = object_id(bad)
            for read in (decode_node, lambda o, r: child_ids(r, o),
                         lambda o, r: read_tree(ObjectsSource({**objects, o: r}), o)):
                try:
                    read(oid, bad)
                except StateVCSError:
                    pass


class CountingStore:
    """The repository's real store, counting the queries a reader makes of it."""

    def __init__(self, store):
        self.store = store
        self.queries = 0
        self.objects: set[str] = set()

    def get(self, oid):
        self.queries += 1
        self.objects.add(oid)
        return self.store.get(oid)

    def get_many(self, oids):
        self.queries += 1
        found = self.store.get_many(oids)
        self.objects.update(found)
        return found


def test_a_diff_reads_each_level_of_chunks_in_one_query(repo):
    from statevcs.model.reader import ObjectReader

    with use_chunk_params(SMALL_CHUNKS):
        state = {"items": [{"n": i, "text": f"item {i}"} for i in range(2_000)]}
        one = repo.commit(state, message="one")
        for i in range(0, 2_000, 200):
            state["items"][i]["n"] = -i - 1
        ten = repo.commit(state, message="ten")
    counting = CountingStore(repo.store)
    changes = diff_trees(ObjectReader(counting), one.root, ten.root)
    assert sorted(c.path for c in changes) == sorted(f"/items/{i}/n" for i in range(0, 2_000, 200))
    assert changes == diff_trees(CountingSource(ObjectReader(repo.store)), one.root, ten.root)
    # Dozens of chunk nodes differ; they are fetched a level at a time, not one query each.
    assert len(counting.objects) > 30 and counting.queries < len(counting.objects) / 2, (
        counting.queries, len(counting.objects))
