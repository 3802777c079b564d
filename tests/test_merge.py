"""merge3: properties for all JSON (hypothesis), data-driven vectors, strategies and policies."""

from __future__ import annotations

import json

import jsonpatch
import pytest
from deepdiff import DeepDiff
from hypothesis import given
from hypothesis import strategies as st

from statevcs import MISSING, diff, merge3
from statevcs.algo.merge import diff3, parse_attributes
from statevcs.model.canonical import strict_equal

from .conftest import FIXTURES
from .strategies import big_values, json_values

values = st.one_of(json_values, big_values)


@given(values, values)
def test_only_ours_changed(b, x):
    out = merge3(b, x, b)
    assert out.conflicts == [] and strict_equal(out.value, x)


@given(values, values)
def test_only_theirs_changed(b, y):
    out = merge3(b, b, y)
    assert out.conflicts == [] and strict_equal(out.value, y)


@given(values, values)
def test_same_change_on_both_sides(b, x):
    out = merge3(b, x, x)
    assert out.conflicts == [] and strict_equal(out.value, x)


@given(values, values, values)
def test_patch_turns_ours_into_the_result(b, x, y):
    for strategy in ("merge", "source_wins", "target_wins"):
        out = merge3(b, x, y, strategy=strategy)
        assert strict_equal(jsonpatch.apply_patch(x, out.patch), out.value)


@given(values, values, values)
def test_side_strategies_never_conflict(b, x, y):
    assert merge3(b, x, y, strategy="source_wins").conflicts == []
    assert merge3(b, x, y, strategy="target_wins").conflicts == []


@given(values, values, values)
def test_clean_merges_do_not_depend_on_which_side_is_ours(b, x, y):
    one = merge3(b, x, y)
    two = merge3(b, y, x)
    if not one.conflicts and not two.conflicts:
        assert strict_equal(one.value, two.value)
    assert bool(one.conflicts) == bool(two.conflicts)


def edits(base_strategy):
    """(base, ours, theirs) where ours and theirs edit different keys of an object base."""
    return st.dictionaries(st.text(max_size=4), base_strategy, min_size=2, max_size=8).flatmap(
        lambda base: st.tuples(st.just(base), st.sampled_from(sorted(base)), st.sampled_from(sorted(base)),
                               base_strategy, base_strategy))


@given(edits(json_values))
def test_edits_to_different_keys_combine(args):
    base, k1, k2, v1, v2 = args
    if k1 == k2:
        return
    ours, theirs = dict(base), dict(base)
    ours[k1] = v1
    theirs[k2] = v2
    out = merge3(base, ours, theirs)
    expected = dict(base)
    expected[k1] = v1
    expected[k2] = v2
    assert out.conflicts == [] and strict_equal(out.value, expected)


def _typed(value):
    """Scalars as type-tagged strings, so DeepDiff cannot confuse 1, 1.0 and True."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return f"{type(value).__name__}:{json.dumps(value)}"


def _cut_at_array(path_tokens, value):
    """The prefix of a path up to (not into) its first array."""
    out = []
    current = value
    for token in path_tokens:
        if isinstance(current, list):
            break
        out.append(token)
        current = current[token] if isinstance(current, dict) and token in current else None
    return tuple(out)


@given(json_values, json_values)
def test_changed_paths_agree_with_deepdiff(a, b):
    """deepdiff is the oracle: both must agree on which object paths (above any array) changed."""
    ours = set()
    for op in diff(a, b):
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        ours.add(_cut_at_array(tokens, a if op["op"] != "add" else b))
    tree = DeepDiff(_typed(a), _typed(b), threshold_to_diff_deeper=0, view="tree")
    theirs = set()
    for kind, levels in tree.items():
        for level in levels:
            tokens = [str(t) for t in level.path(output_format="list")]
            theirs.add(_cut_at_array(tokens, a if "added" not in kind else b))
    assert ours == theirs


def _vectors():
    return [pytest.param(p, id=p.stem) for p in sorted((FIXTURES / "merge").glob("*.json"))]


@pytest.mark.parametrize("path", _vectors())
def test_merge_vectors(path):
    case = json.loads(path.read_text())
    out = merge3(case["base"], case["ours"], case["theirs"], policies=case.get("policies"))
    if "expected" in case:
        assert out.conflicts == [], case["comment"]
        assert strict_equal(out.value, case["expected"]), case["comment"]
    else:
        assert [(c.path, c.kind) for c in out.conflicts] == [(c["path"], c["kind"]) for c in case["conflicts"]]
    assert strict_equal(jsonpatch.apply_patch(case["ours"], out.patch), out.value)


def test_conflicts_carry_all_three_sides_with_missing_marker():
    out = merge3({"a": 1}, {}, {"a": 2})
    (c,) = out.conflicts
    assert (c.path, c.base, c.ours, c.theirs) == ("/a", 1, MISSING, 2)
    assert c.ours is MISSING and c.ours is not None


def test_strategies_pick_sides_only_where_both_changed():
    base = {"a": 1, "b": 1, "c": 1}
    ours = {"a": 2, "b": 2, "c": 1}
    theirs = {"a": 3, "b": 1, "c": 3}
    assert merge3(base, ours, theirs, strategy="source_wins").value == {"a": 3, "b": 2, "c": 3}
    assert merge3(base, ours, theirs, strategy="target_wins").value == {"a": 2, "b": 2, "c": 3}
    assert merge3(base, ours, theirs).value == {"a": 2, "b": 2, "c": 3}


def test_unknown_strategy_and_policy():
    with pytest.raises(ValueError, match="unknown merge strategy"):
        merge3({}, {}, {}, strategy="mine")
    with pytest.raises(ValueError, match="unknown merge policy"):
        merge3({}, {}, {}, policies={"/a": "first"})


def test_policy_patterns():
    base = {"agents": {"x": {"log": [1]}, "y": {"log": [1]}}}
    ours = {"agents": {"x": {"log": [1, 2]}, "y": {"log": [1, 5]}}}
    theirs = {"agents": {"x": {"log": [1, 3]}, "y": {"log": [1, 6]}}}
    out = merge3(base, ours, theirs, policies={"/agents/*/log": "union"})
    assert out.value == {"agents": {"x": {"log": [1, 2, 3]}, "y": {"log": [1, 5, 6]}}}
    out = merge3({"deep": base}, {"deep": ours}, {"deep": theirs}, policies={"/**/log": "union"})
    assert out.conflicts == []


def test_attributes_file_syntax():
    text = "# comment\n/agents/*/memory union\n\n/tasks keyed:id   # tasks by id\n"
    assert parse_attributes(text) == {"/agents/*/memory": "union", "/tasks": "keyed:id"}
    with pytest.raises(ValueError, match="line 1"):
        parse_attributes("/a")
    with pytest.raises(ValueError, match="unknown merge policy"):
        parse_attributes("/a sometimes")


@given(st.lists(st.integers(0, 5), max_size=10), st.lists(st.integers(0, 5), max_size=10),
       st.lists(st.integers(0, 5), max_size=10))
def test_diff3_chunks_cover_all_three_sequences(b, o, t):
    chunks = diff3(b, o, t)
    for side, seq in ((1, b), (2, o), (3, t)):
        covered = []
        for chunk in chunks:
            lo, hi = chunk[side]
            covered.extend(seq[lo:hi])
        assert covered == seq
    for kind, (b0, b1), (o0, o1), (t0, t1) in chunks:
        if kind == "stable":
            assert b[b0:b1] == o[o0:o1] == t[t0:t1] and b1 > b0


# ---------------------------------------------------------------- chunked trees (small chunks)

from hypothesis import HealthCheck, settings  # noqa: E402

from statevcs.algo.treemerge import merge_trees  # noqa: E402
from statevcs.model.chunks.views import use_chunk_params  # noqa: E402
from statevcs.model.tree import ObjectsSource, read_tree, write_tree  # noqa: E402

from .chunking import SMALL_CHUNKS, big_pairs, edited  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["merge", "source_wins", "target_wins"]))
def test_tree_merge_of_chunked_states_agrees_with_merge3(data, strategy):
    base = data.draw(big_pairs)
    ours = data.draw(edited(base))
    theirs = data.draw(edited(base))
    expected = merge3(base, ours, theirs, strategy)
    with use_chunk_params(SMALL_CHUNKS):
        objects = {}
        roots = []
        for value in (base, ours, theirs):
            root, written = write_tree(value)
            objects.update(written)
            roots.append(root)
        merged = merge_trees(ObjectsSource(objects), *roots, strategy=strategy)
        value = read_tree(ObjectsSource({**objects, **merged.objects}), merged.root)
        assert merged.root == write_tree(value)[0]  # canonical: the same ids as a fresh write
    assert strict_equal(value, expected.value)
    assert [(c.path, c.kind, c.ranges) for c in merged.conflicts] == [
        (c.path, c.kind, c.ranges) for c in expected.conflicts]
