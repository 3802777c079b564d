"""diff: RFC 6902 patches that any conforming tool applies to get the target state."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonpatch
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statevcs import diff
from statevcs.algo.diff import diff_changes
from statevcs.model.canonical import strict_equal

from .conftest import DATA, ROOT
from .strategies import big_values, json_values


def apply(doc, patch):
    return jsonpatch.apply_patch(doc, patch)


@given(json_values, json_values)
def test_apply_diff_gives_target(a, b):
    assert strict_equal(apply(a, diff(a, b)), b)


@given(big_values, big_values)
def test_apply_diff_gives_target_across_nodes(a, b):
    assert strict_equal(apply(a, diff(a, b)), b)


@given(json_values)
def test_diff_of_equal_values_is_empty(a):
    assert diff(a, json.loads(json.dumps(a))) == [] or not strict_equal(a, json.loads(json.dumps(a)))


@given(st.lists(json_values, max_size=8), st.data())
def test_small_array_edits_are_not_whole_replacements(items, data):
    edited = list(items)
    if items:
        i = data.draw(st.integers(0, len(items) - 1))
        del edited[i]
    edited.append("new-item-xyz")
    patch = diff(items, edited)
    assert all(op["path"] != "" for op in patch)
    assert len(patch) <= 2 + sum(1 for _ in items) // 4 + 2
    assert strict_equal(apply(items, patch), edited)


def test_true_and_one_are_different():
    assert diff([1], [True]) == [{"op": "replace", "path": "/0", "value": True}]
    assert diff({"a": 0}, {"a": False}) == [{"op": "replace", "path": "/a", "value": False}]
    assert diff({"a": 1}, {"a": 1.0}) == [{"op": "replace", "path": "/a", "value": 1.0}]


def test_null_is_a_value_not_absence():
    assert diff({}, {"a": None}) == [{"op": "add", "path": "/a", "value": None}]
    assert diff({"a": None}, {}) == [{"op": "remove", "path": "/a"}]


def test_keys_needing_escapes():
    a, b = {"a/b": {"~x": 1}}, {"a/b": {"~x": 2}}
    assert diff(a, b) == [{"op": "replace", "path": "/a~1b/~0x", "value": 2}]


def test_changes_carry_old_values():
    changes = diff_changes({"a": 1, "b": [1, 2]}, {"a": 2, "b": [2]})
    assert [(c.op, c.path, c.old) for c in changes] == [("replace", "/a", 1), ("remove", "/b/0", 1)]


def test_insert_at_front_is_one_add():
    a = [{"id": i} for i in range(20)]
    b = [{"id": -1}] + a
    assert diff(a, b) == [{"op": "add", "path": "/0", "value": {"id": -1}}]


def test_output_is_the_same_in_every_process():
    code = (
        "import json,sys; sys.path.insert(0, %r); from statevcs import diff; "
        "a={'k%%d'%%i: {'v': i, 's': [i, str(i)]} for i in range(40)}; "
        "b={'k%%d'%%i: {'v': -i, 's': [str(i)]} for i in range(3, 45)}; print(json.dumps(diff(a, b)))" % str(ROOT)
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout
        for seed in (0, 1, 2, 12345)
    }
    assert len(outputs) == 1


def _conformance_cases():
    cases = []
    for name in ("tests.json", "spec_tests.json"):
        for i, case in enumerate(json.loads((DATA / "json-patch-tests" / name).read_text())):
            if case.get("disabled") or "expected" not in case:
                continue
            cases.append(pytest.param(case, id=f"{name}:{i}"))
    return cases


@pytest.mark.parametrize("case", _conformance_cases())
def test_conformance_suite(case):
    """Each valid case's (doc, expected) pair: our diff must reproduce expected via jsonpatch."""
    expected = case["expected"]
    try:
        assert jsonpatch.apply_patch(case["doc"], case["patch"]) == expected
    except TypeError:
        # jsonpatch 1.33 cannot apply `add` at "" to an array document (case "replace array
        # document with object document"); the suite's expected value stands on its own.
        pass
    ours = diff(case["doc"], expected)
    assert strict_equal(jsonpatch.apply_patch(case["doc"], ours), expected)


# ---------------------------------------------------------------- chunked trees (small chunks)

from hypothesis import HealthCheck, settings  # noqa: E402

from statevcs.algo.diff import diff_trees  # noqa: E402
from statevcs.model.chunks.views import use_chunk_params  # noqa: E402
from statevcs.model.tree import ObjectsSource, write_tree  # noqa: E402

from .chunking import SMALL_CHUNKS, big_pairs, edited  # noqa: E402

_slow = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tree_patch(a, b):
    with use_chunk_params(SMALL_CHUNKS):
        ra, oa = write_tree(a)
        rb, ob = write_tree(b)
        kinds = {raw.split(b" ", 1)[0] for raw in {**oa, **ob}.values()}
        return [c.as_patch_op() for c in diff_trees(ObjectsSource({**oa, **ob}), ra, rb)], kinds


@_slow
@given(st.data())
def test_tree_diff_of_chunked_states_applies(data):
    a = data.draw(big_pairs)
    b = data.draw(edited(a))
    patch, kinds = _tree_patch(a, b)
    assert strict_equal(apply(a, patch), b)
    if len(json.dumps(a["l"])) > 2000:
        assert {b"arrn1", b"arrl1"} <= kinds  # the property ran on chunked arrays


@_slow
@given(big_values, big_values)
def test_tree_diff_of_unrelated_chunked_states_applies(a, b):
    patch, _ = _tree_patch(a, b)
    assert strict_equal(apply(a, patch), b)


def test_tree_diff_compares_flat_and_chunked_nodes():
    a = {"l": [f"item {i}" for i in range(100)]}
    b = {"l": [f"item {i}" for i in range(100)] + ["x"]}
    with use_chunk_params(SMALL_CHUNKS):
        ra, oa = write_tree(a)
    rb, ob = write_tree(b)  # default chunks: one flat node
    assert any(raw.startswith(b"arrn1") for raw in oa.values()) and ob[rb].startswith(b"obj1")
    patch = [c.as_patch_op() for c in diff_trees(ObjectsSource({**oa, **ob}), ra, rb)]
    assert patch == [{"op": "add", "path": "/l/100", "value": "x"}]
