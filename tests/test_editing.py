"""Incremental writes: repo.edit() transactions, repo.commit_patch() and the tree editor.

Semantics are checked against the python jsonpatch package (hypothesis, and the JSON Patch
conformance suite); ids against write_tree of the expected value (an edit gives the tree a
full write of the result gives); cost by counting the nodes an edit writes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import pathlib

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import statevcs.model.tree as tree_module
from statevcs import Repository
from statevcs.errors import (
    InvalidPatchError,
    InvalidStateError,
    NothingToCommitError,
    PatchConflictError,
    PatchTestFailedError,
    PathNotFoundError,
)
from statevcs.model.canonical import strict_equal
from statevcs.model.chunks.build import ChunkParams, build_array, build_object
from statevcs.model.objects import Ref
from statevcs.model.tree import ObjectsSource, write_tree
from statevcs.model.treeedit import TreeEditor
from statevcs.porcelain.core.editing import json_equal

from .cli_helpers import fails, run
from .strategies import json_values, keys

DATA = pathlib.Path(__file__).parent / "data"

try:  # with the chunked-tree wiring, the writer chunks too: exercise it with small chunks
    from statevcs.model.chunks.views import use_chunk_params
except ImportError:  # pragma: no cover
    use_chunk_params = None


@contextlib.contextmanager
def small_nodes(limit: int = 24):
    """Lower the inline limit (and chunk sizes, once trees chunk) so small values make many nodes."""
    old = tree_module.INLINE_LIMIT
    tree_module.INLINE_LIMIT = limit
    try:
        if use_chunk_params is not None:
            with use_chunk_params(ChunkParams(8, 16, 64)):
                yield
        else:
            yield
    finally:
        tree_module.INLINE_LIMIT = old


def team(n: int) -> dict:
    return {"agents": [{"id": i, "name": f"agent-{i}", "notes": "n" * 600, "status": "idle"} for i in range(n)],
            "meta": {"version": 1}}


# ---------------------------------------------------------------- the transaction, every store

def test_edit_commits_on_clean_exit(repo):
    base = repo.commit(team(20), "start")
    with repo.edit(message="agent 3 works", metadata={"by": "test"}) as tx:
        tx.set("/agents/3/status", "working")
        tx.append("/agents", {"id": 20})
        tx.remove("/meta/version")
        assert tx.get("/agents/3/status") == "working"  # reads through pending edits
        assert tx.get("/meta") == {}
    c = tx.commit
    assert c.parents == (base.id,) and c.message == "agent 3 works" and c.metadata == {"by": "test"}
    expected = team(20)
    expected["agents"][3]["status"] = "working"
    expected["agents"].append({"id": 20})
    del expected["meta"]["version"]
    assert repo.get() == expected
    assert c.root == write_tree(expected)[0]


def test_edit_exception_commits_nothing(repo):
    base = repo.commit(team(3), "start")
    with pytest.raises(RuntimeError):
        with repo.edit(message="never") as tx:
            tx.set("/meta/version", 2)
            raise RuntimeError("agent crashed")
    assert repo.head().id == base.id and tx.commit is None


def test_edit_without_changes_makes_no_commit(repo):
    base = repo.commit(team(3), "start")
    with repo.edit() as tx:
        tx.set("/meta/version", 1)  # the value it already has
    assert tx.commit is None and repo.head().id == base.id


def test_edit_on_an_unborn_branch_starts_from_empty_object(repo):
    with repo.edit(message="first") as tx:
        tx.set("/a", [1, 2])
        tx.append("/a", 3)
    assert repo.get() == {"a": [1, 2, 3]} and tx.commit.parents == ()


def test_edit_other_branch(repo):
    repo.commit({"x": 1}, "start")
    repo.create_branch("exp")
    with repo.edit("exp", message="on exp") as tx:
        tx.set("/x", 2)
    assert repo.get("exp") == {"x": 2} and repo.get("main") == {"x": 1}


def test_lost_race_replays_edits_onto_new_head(repo):
    repo.commit(team(5), "start")
    with repo.edit(message="mine") as tx:
        tx.set("/agents/1/status", "busy")
        # another writer commits in between
        other = team(5)
        other["meta"]["version"] = 2
        theirs = repo.commit(other, "theirs")
    assert tx.commit.parents == (theirs.id,)
    state = repo.get()
    assert state["meta"]["version"] == 2 and state["agents"][1]["status"] == "busy"


def test_lost_race_whose_edit_no_longer_applies_commits_nothing(repo):
    repo.commit(team(5), "start")
    with pytest.raises(PatchConflictError, match="no longer applies"):
        with repo.edit(message="mine") as tx:
            tx.set("/agents/4/status", "busy")
            theirs = repo.commit(team(2), "theirs: fewer agents")
    assert repo.head().id == theirs.id


def test_bad_edits_raise_and_leave_the_transaction_usable(repo):
    repo.commit({"name": "bot", "list": [1, 2], "obj": {"a": 1}}, "start")
    with repo.edit(message="ok") as tx:
        with pytest.raises(PatchConflictError, match="scalar"):
            tx.set("/name/x", 1)
        with pytest.raises(PatchConflictError, match="append needs an array"):
            tx.append("/obj", 1)
        with pytest.raises(PatchConflictError):
            tx.remove("/missing")
        with pytest.raises(PatchConflictError):
            tx.set("/list/5", 0)
        with pytest.raises(PatchConflictError):
            tx.apply([{"op": "replace", "path": "/obj/a", "value": 2}, {"op": "remove", "path": "/nope"}])
        assert tx.get("/obj/a") == 1  # the failed patch left nothing behind
        with pytest.raises(InvalidStateError):
            tx.set("/x", float("nan"))
        with pytest.raises(PathNotFoundError):
            tx.get("/missing")
        tx.set("/list/-", 3)
    assert repo.get() == {"name": "bot", "list": [1, 2, 3], "obj": {"a": 1}}


# ---------------------------------------------------------------- commit_patch, every store

def test_commit_patch_matches_jsonpatch(repo):
    doc = team(30)
    repo.commit(doc, "start")
    patch = [
        {"op": "add", "path": "/agents/0/tags", "value": ["a", "b"]},
        {"op": "move", "from": "/agents/1", "path": "/archived"},
        {"op": "copy", "from": "/agents/2", "path": "/agents/-"},
        {"op": "test", "path": "/meta/version", "value": 1},
        {"op": "replace", "path": "/meta", "value": {"version": 2}},
        {"op": "remove", "path": "/agents/5/notes"},
    ]
    c = repo.commit_patch(patch, message="patched", author="bot")
    expected = jsonpatch.apply_patch(doc, patch)
    assert repo.get() == expected and c.root == write_tree(expected)[0]
    assert c.author == "bot" and c.message == "patched"


@pytest.mark.parametrize("patch,error", [
    ([{"op": "test", "path": "/a", "value": 2}], PatchTestFailedError),
    ([{"op": "remove", "path": "/missing"}], PatchConflictError),
    ([{"op": "add", "path": "/a/b", "value": 1}], PatchConflictError),  # into a scalar
    ([{"op": "add", "path": "/a/-", "value": 1}], PatchConflictError),  # '-' on a non-array
    ([{"op": "add", "path": "/l/5", "value": 1}], PatchConflictError),
    ([{"op": "move", "from": "/o", "path": "/o/x"}], PatchConflictError),
    ([{"op": "add", "path": "/x", "value": 1}, {"op": "test", "path": "/x", "value": 2}], PatchTestFailedError),
    ('{"op": "add"}', InvalidPatchError),
    ("not json", InvalidPatchError),
    ([{"op": "frobnicate", "path": "/a"}], InvalidPatchError),
    ([{"op": "add", "path": "/a"}], InvalidPatchError),
    ([{"op": "move", "path": "/a"}], InvalidPatchError),
    ([{"op": "add", "path": "a", "value": 1}], InvalidPatchError),
    ([{"op": "add", "path": "/a~2", "value": 1}], InvalidPatchError),
    ([["add"]], InvalidPatchError),
])
def test_bad_patch_leaves_branch_unchanged(repo, patch, error):
    head = repo.commit({"a": 1, "l": [1], "o": {"k": 1}}, "start")
    with pytest.raises(error):
        repo.commit_patch(patch, message="bad")
    assert repo.head().id == head.id


def test_commit_patch_that_changes_nothing(repo):
    repo.commit({"a": 1}, "start")
    with pytest.raises(NothingToCommitError):
        repo.commit_patch([{"op": "test", "path": "/a", "value": 1}])
    c = repo.commit_patch('[{"op": "test", "path": "/a", "value": 1}]', allow_empty=True, message="checked")
    assert c.message == "checked"


def test_one_leaf_edit_writes_only_its_path():
    repo = Repository.memory()
    repo.commit(team(1000), "start")
    with repo.edit(message="one leaf") as tx:
        tx.set("/agents/500/status", "busy")
        written = tx._editor.objects()
    # the agent, the agents array (its leaf chunk and spine, once chunked) and the root
    assert 3 <= len(written) <= 6
    assert sum(map(len, written.values())) < 20_000  # of a ~650 KB state


# ---------------------------------------------------------------- semantics = jsonpatch (hypothesis)

def _paths(doc, tokens=()):
    """Every (tokens, value) in doc, parents first."""
    yield tokens, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, tokens + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, tokens + (str(i),))


def _ptr(tokens):
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


@st.composite
def doc_and_patch(draw):
    doc = draw(st.dictionaries(keys, json_values, max_size=6))
    patch, current = [], copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 6))):
        paths = list(_paths(current))
        containers = [(t, v) for t, v in paths if isinstance(v, (dict, list))]
        kind = draw(st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]))
        if kind in ("remove", "move", "copy") and len(paths) == 1:  # (jsonpatch cannot copy the root)
            kind = "add"
        if not containers and kind in ("add", "copy", "move"):  # the root became a scalar
            kind = "replace"

        def target(doc_containers, exclude=None):
            tokens, parent = draw(st.sampled_from(doc_containers))
            if isinstance(parent, dict):
                last = draw(st.one_of(keys, st.sampled_from(sorted(parent) or ["k"])))
            else:
                last = draw(st.one_of(st.just("-"), st.integers(0, len(parent)).map(str)))
            return tokens + (last,)

        if kind == "add":
            op = {"op": "add", "path": _ptr(target(containers)), "value": draw(json_values)}
        elif kind == "remove":
            op = {"op": "remove", "path": _ptr(draw(st.sampled_from(paths[1:]))[0])}
        elif kind == "replace":
            op = {"op": "replace", "path": _ptr(draw(st.sampled_from(paths))[0]), "value": draw(json_values)}
        elif kind == "test":
            tokens, value = draw(st.sampled_from(paths))
            op = {"op": "test", "path": _ptr(tokens), "value": copy.deepcopy(value)}
        elif kind == "copy":
            op = {"op": "copy", "from": _ptr(draw(st.sampled_from(paths[1:]))[0]), "path": _ptr(target(containers))}
        else:
            source = draw(st.sampled_from(paths[1:]))[0]
            after = jsonpatch.apply_patch(current, [{"op": "remove", "path": _ptr(source)}])
            dest = target([(t, v) for t, v in _paths(after) if isinstance(v, (dict, list))])
            if dest[: len(source)] == source:
                continue
            op = {"op": "move", "from": _ptr(source), "path": _ptr(dest)}
        current = jsonpatch.apply_patch(current, [copy.deepcopy(op)])  # it shares values with its input
        patch.append(op)
    return doc, patch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc_and_patch())
def test_commit_patch_equals_jsonpatch(case):
    doc, patch = case
    expected = jsonpatch.apply_patch(doc, copy.deepcopy(patch))
    with small_nodes():
        repo = Repository.memory()
        repo.commit(doc, "doc")
        if strict_equal(expected, doc) and write_tree(expected)[0] == repo.head().root:
            with pytest.raises(NothingToCommitError):
                repo.commit_patch(patch)
            return
        c = repo.commit_patch(patch, message="p")
        assert strict_equal(repo.get(), expected)
        assert c.root == write_tree(expected)[0]  # same ids as a full write of the result


@settings(max_examples=100, deadline=None)
@given(json_values, json_values)
def test_json_equal_is_rfc_equality(a, b):
    assert json_equal(a, copy.deepcopy(a))
    if strict_equal(a, b):
        assert json_equal(a, b)
    assert json_equal(True, 1) is False and json_equal(1, 1.0) is True


# ---------------------------------------------------------------- the JSON Patch conformance suite

def _suite():
    cases = []
    for name in ("tests.json", "spec_tests.json"):
        for i, case in enumerate(json.loads((DATA / "json-patch-tests" / name).read_text())):
            if case.get("disabled") or ("expected" not in case and "error" not in case):
                continue
            cases.append(pytest.param(case, id=f"{name}:{i}"))
    return cases


@pytest.mark.parametrize("case", _suite())
def test_conformance_suite(case):
    repo = Repository.memory()
    head = repo.commit(case["doc"], "doc")
    if "error" in case:
        with pytest.raises((InvalidPatchError, PatchConflictError)):
            repo.commit_patch(case["patch"], allow_empty=True)
        assert repo.head().id == head.id
        return
    repo.commit_patch(case["patch"], allow_empty=True)
    assert json_equal(repo.get(), case["expected"])


# ---------------------------------------------------------------- chunked containers (built directly)

PARAMS = ChunkParams(8, 16, 64)


def _expected_root(value_items, container, params=PARAMS):
    """The tree of {"big": <container>, "x": 1}: chunked directly when the writer does not chunk
    yet, else as write_tree makes it with ``params``."""
    if use_chunk_params is not None:
        with use_chunk_params(params):
            return write_tree({"big": value_items, "x": 1})
    if container == "array":
        root, objects = build_array(value_items, params)
    else:
        root, objects = build_object(value_items, params)
    state_root, more = write_tree({"big": Ref(root), "x": 1})
    return state_root, {**objects, **more}


def _chunking(params=PARAMS):
    return use_chunk_params(params) if use_chunk_params is not None else contextlib.nullcontext()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**6).map(lambda i: f"item {i:07d} of the list"), min_size=40, max_size=200),
       st.data())
def test_chunked_array_edits_match_jsonpatch_and_a_fresh_build(items, data):
    root, objects = _expected_root(items, "array")
    source = ObjectsSource(objects)
    editor = TreeEditor(source, root, params=PARAMS)
    current = list(items)
    patch = []
    for _ in range(data.draw(st.integers(1, 5))):
        n = len(current)
        op = data.draw(st.sampled_from(["add", "remove", "replace", "append"]))
        if op == "add":
            p = {"op": "add", "path": f"/big/{data.draw(st.integers(0, n))}", "value": data.draw(st.integers())}
        elif op == "append":
            p = {"op": "add", "path": "/big/-", "value": data.draw(st.integers())}
        elif op == "remove":
            p = {"op": "remove", "path": f"/big/{data.draw(st.integers(0, n - 1))}"}
        else:
            p = {"op": "replace", "path": f"/big/{data.draw(st.integers(0, n - 1))}", "value": "v"}
        patch.append(p)
        current = jsonpatch.apply_patch({"big": current}, [p])["big"]
    from statevcs.porcelain.core.editing import apply_patch

    with _chunking():
        apply_patch(editor, patch)
    assert editor.get(("big",)) == current
    assert editor.get(()) == {"big": current, "x": 1}
    expected_root, _ = _expected_root(current, "array")
    assert editor.root == expected_root  # history independence through the editor
    stored = TreeEditor(ObjectsSource({**objects, **editor.objects()}), editor.root)
    assert stored.get(()) == {"big": current, "x": 1}  # objects() holds every new node the root needs


def _message(i: int) -> dict:
    return {"id": f"m-{i}", "role": "ai" if i % 2 else "human", "content": f"message {i} " + "word " * (i % 40)}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 120), st.data())
def test_default_chunking_edits_of_a_message_list_match_a_fresh_build(count, data):
    """With the default parameters (leaves of about 3 KB, more than an inlined value can
    be), a chat's message list grows, shrinks and changes through the editor into the tree
    write_tree makes: flat while it fits one leaf, chunked from its second leaf on."""
    current = [_message(i) for i in range(count)]
    root, objects = write_tree({"messages": current, "step": 1})
    editor = TreeEditor(ObjectsSource(objects), root, params=ChunkParams())
    for step in range(data.draw(st.integers(1, 6))):
        n = len(current)
        op = data.draw(st.sampled_from(["append", "append", "remove", "truncate", "replace"] if n else ["append"]))
        if op == "append":
            new = [_message(1000 + step * 10 + k) for k in range(data.draw(st.integers(1, 12)))]
            for item in new:
                editor.append(("messages",), item)
            current = current + new
        elif op == "remove":
            index = data.draw(st.integers(0, n - 1))
            editor.remove(("messages", str(index)))
            current = current[:index] + current[index + 1:]
        elif op == "truncate":  # down to a few: through one leaf to flat and inlined
            keep = data.draw(st.integers(0, min(n - 1, 20)))
            for index in range(n - 1, keep - 1, -1):
                editor.remove(("messages", str(index)))
            current = current[:keep]
        else:
            index = data.draw(st.integers(0, n - 1))
            editor.set(("messages", str(index)), _message(5000 + index))
            current = current[:index] + [_message(5000 + index)] + current[index + 1:]
        assert editor.root == write_tree({"messages": current, "step": 1})[0]
    stored = TreeEditor(ObjectsSource({**objects, **editor.objects()}), editor.root)
    assert stored.get(("messages",)) == current


def test_chunked_object_edit_touches_only_its_spine():
    children = {f"agent-{i:05d}": {"status": "idle", "n": i} for i in range(2000)}
    params = ChunkParams(128, 256, 2048)  # chunks of several entries (~41 weight units each)
    root, objects = _expected_root(children, "object", params)
    editor = TreeEditor(ObjectsSource(objects), root, params=params)
    with _chunking(params):
        editor.set(("big", "agent-01000", "status"), "busy")
        editor.set(("big", "agent-99999"), 1)
        editor.remove(("big", "agent-00007"))
    written = editor.objects()
    assert len(written) <= 20 and len(objects) > 10 * len(written)  # chunks near 3 edits, spines, root
    children["agent-01000"] = {"status": "busy", "n": 1000}
    children["agent-99999"] = 1
    del children["agent-00007"]
    assert editor.root == _expected_root(children, "object", params)[0]
    assert editor.get(("big", "agent-01000")) == {"status": "busy", "n": 1000}
    stored = TreeEditor(ObjectsSource({**objects, **written}), editor.root)
    assert stored.get(("big",)) == children  # written holds every new node the root needs
    with pytest.raises(PathNotFoundError):
        editor.get(("big", "agent-00007"))


def test_chunked_container_shrinking_to_one_chunk_is_written_flat():
    items = [f"item {i:07d} of the list" for i in range(30)]
    root, objects = _expected_root(items, "array")
    editor = TreeEditor(ObjectsSource(objects), root, params=PARAMS)
    with _chunking():
        for _ in range(27):
            editor.remove(("big", "0"))
    assert editor.get(()) == {"big": items[27:], "x": 1}
    assert editor.root == write_tree({"big": items[27:], "x": 1})[0]


# ---------------------------------------------------------------- the apply command (real subprocesses)

def _cli_repo(tmp_path):
    run(tmp_path, "init", "r")
    work = tmp_path / "r"
    (work / "state.json").write_text('{"agent": {"status": "idle", "tasks": []}}')
    run(work, "commit", "-m", "first")
    return work


def _committed(work, rev="HEAD", pointer="/agent/status"):
    return json.loads(run(work, "cat", rev, pointer).out)


def test_cli_apply_commits_and_the_clean_working_file_follows(tmp_path):
    work = _cli_repo(tmp_path)
    (work / "p.json").write_text('[{"op": "replace", "path": "/agent/status", "value": "busy"}]')
    out = run(work, "apply", "p.json", "-m", "busy").out
    assert out.startswith("[main ") and out.strip().endswith("busy")
    assert _committed(work) == "busy"
    assert json.loads((work / "state.json").read_text())["agent"]["status"] == "busy"
    run(work, "apply", "-", stdin='[{"op": "add", "path": "/agent/tasks/-", "value": "t1"}]')
    assert json.loads((work / "state.json").read_text())["agent"]["tasks"] == ["t1"]
    assert "Apply patch from stdin" in run(work, "log", "-1").out
    assert "Working state clean" in run(work, "status").out


def test_cli_apply_leaves_an_edited_working_file(tmp_path):
    work = _cli_repo(tmp_path)
    (work / "state.json").write_text('{"agent": {"status": "mine", "tasks": []}}')
    run(work, "apply", "-", "-m", "other", stdin='[{"op": "replace", "path": "/agent/status", "value": "other"}]')
    assert json.loads((work / "state.json").read_text())["agent"]["status"] == "mine"
    assert "moved" in run(work, "status").out
    assert _committed(work) == "other"


def test_cli_apply_to_another_branch_leaves_the_working_file(tmp_path):
    work = _cli_repo(tmp_path)
    run(work, "branch", "exp")
    run(work, "apply", "-", "--branch", "exp", stdin='[{"op": "replace", "path": "/agent/status", "value": "x"}]')
    assert _committed(work, "exp") == "x" and _committed(work, "main") == "idle"
    assert json.loads((work / "state.json").read_text())["agent"]["status"] == "idle"


@pytest.mark.parametrize("patch", [
    '[{"op": "test", "path": "/agent/status", "value": "busy"}]',
    '[{"op": "add", "path": "/agent/status/x", "value": 1}]',
    '[{"op": "add", "path": "/agent/-", "value": 1}, {"op": "remove", "path": "/nope"}]',
    '[{"op": "jump", "path": "/agent"}]',
    "{not json",
    '[{"op": "test", "path": "/agent/status", "value": "idle"}]',  # changes nothing
])
def test_cli_apply_errors_exit_3_and_leave_the_branch(tmp_path, patch):
    work = _cli_repo(tmp_path)
    before = run(work, "log", "-1").out
    fails(work, 3, "apply", "-", stdin=patch)
    assert run(work, "log", "-1").out == before
    fails(work, 3, "apply", "missing.json")


def test_a_replayed_edit_uses_the_value_as_it_was_and_the_branch_it_began_on(repo):
    repo.commit({"items": [], "n": 0}, message="base")
    repo.create_branch("other")
    value = {"note": "as passed"}
    with repo.edit(message="edit") as tx:
        tx.set("/x", value)
        value["note"] = "changed afterwards"  # the caller mutates what it passed in
        repo.commit({"items": [1], "n": 0}, message="a concurrent commit")  # forces a replay
        repo.set_head("other")  # HEAD moves to another branch before the edit commits
    assert repo.get("main")["x"] == {"note": "as passed"} and repo.get("main")["items"] == [1]
    assert "x" not in repo.get("other")
