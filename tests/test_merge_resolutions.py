"""Side resolutions (OURS / THEIRS / BASE / BOTH) and the union policy's edits, on the pure
merge functions: hypothesis properties against the strategies, and the cases from issue 12."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from statevcs import BASE, BOTH, MISSING, OURS, THEIRS, ConflictResolutionError, merge3
from statevcs.algo.diff3 import combine_region
from statevcs.algo.merge import Conflict, resolve_conflict
from statevcs.algo.treemerge import apply_resolutions
from statevcs.model.canonical import strict_equal
from statevcs.model.tree import ObjectsSource, read_tree, write_tree

from .strategies import json_values

# Small alphabets so that the sides overlap, insert the same items and touch the same regions.
items = st.one_of(st.sampled_from(["sys", "u1", "u2", "a", "b", "c", "d"]), st.integers(0, 4),
                  st.fixed_dictionaries({"role": st.sampled_from(["u", "a"]), "text": st.sampled_from(["x", "y"])}))
arrays = st.lists(items, max_size=8)
nested = st.fixed_dictionaries({"m": arrays, "k": st.one_of(st.integers(0, 2), arrays)})


def settle_all(base, ours, theirs, side, policies=None):
    """merge3 with the merge strategy, then every (outermost) conflict resolved with ``side``
    (or ``side(conflict)``) through apply_resolutions, the function the porcelain's
    ``resolutions=`` uses. Returns the value and the conflicts resolved."""
    out = merge3(base, ours, theirs, policies=policies)
    outer = [c for c in out.conflicts
             if not any(o.path != c.path and (o.path == "" or c.path.startswith(o.path + "/"))
                        for o in out.conflicts)]
    root, objects = write_tree(out.value)
    source = ObjectsSource(dict(objects))
    chosen = {c.path: side(c) if callable(side) else side for c in outer}
    root, more, left = apply_resolutions(source, root, outer, chosen, policies)
    assert left == []
    return read_tree(ObjectsSource({**objects, **more}), root), outer


def settle(base, ours, theirs, side, policies=None):
    return settle_all(base, ours, theirs, side, policies)[0]


# ------------------------------------------------------------ side resolutions == side strategies
#
# In merge.py a conflict is the only place the strategy acts (policies, clean changes and the
# one-element recursion do not depend on it), and ``merge`` stands in ours' value exactly where
# ``target_wins`` takes ours. So: the merge strategy's value IS target_wins's value, resolving
# every conflict with OURS leaves it so, and resolving every conflict with THEIRS gives exactly
# source_wins's value.


@settings(max_examples=500)
@given(arrays, arrays, arrays)
def test_on_arrays_ours_is_target_wins_and_theirs_is_source_wins(b, o, t):
    assert strict_equal(settle(b, o, t, OURS), merge3(b, o, t, strategy="target_wins").value)
    assert strict_equal(settle(b, o, t, THEIRS), merge3(b, o, t, strategy="source_wins").value)


@settings(max_examples=500)
@given(nested, nested, nested)
def test_in_objects_ours_is_target_wins_and_theirs_is_source_wins(b, o, t):
    assert strict_equal(settle(b, o, t, OURS), merge3(b, o, t, strategy="target_wins").value)
    assert strict_equal(settle(b, o, t, THEIRS), merge3(b, o, t, strategy="source_wins").value)


@given(json_values, json_values, json_values)
def test_for_any_json_ours_is_target_wins_and_theirs_is_source_wins(b, o, t):
    assert strict_equal(settle(b, o, t, OURS), merge3(b, o, t, strategy="target_wins").value)
    assert strict_equal(settle(b, o, t, THEIRS), merge3(b, o, t, strategy="source_wins").value)


@given(nested, nested, nested)
def test_the_merge_strategy_stands_in_the_target_wins_value(b, o, t):
    assert strict_equal(merge3(b, o, t).value, merge3(b, o, t, strategy="target_wins").value)


@given(nested, nested, nested)
def test_policies_are_honoured_by_side_resolutions(b, o, t):
    policies = {"/m/*": "atomic", "/k": "union"}
    assert strict_equal(settle(b, o, t, THEIRS, policies),
                        merge3(b, o, t, strategy="source_wins", policies=policies).value)


flat = st.lists(st.sampled_from(["s", "u1", "u2", "a", "b", "c"]), max_size=7)


@given(flat, flat, flat)
def test_both_keeps_every_item_either_side_added(b, o, t):
    """On arrays of scalars, with BOTH for the array conflicts (and OURS for a single element
    both sides replaced, where BOTH is refused): every item new in ours survives, every item
    new in theirs too unless it was theirs' side of such an element conflict, and nothing
    appears that neither side has."""
    merged, outer = settle_all(b, o, t, lambda c: BOTH if c.kind == "array" else OURS)
    lost_to_ours = {c.theirs for c in outer if c.kind != "array"}
    for item in set(o) - set(b):
        assert item in merged
    for item in set(t) - set(b) - lost_to_ours:
        assert item in merged
    assert set(merged) <= set(o) | set(t)


@given(flat, flat, flat)
def test_base_keeps_clean_changes_and_restores_only_the_overlaps(b, o, t):
    out = merge3(b, o, t)
    merged = settle(b, o, t, BASE)
    if not out.conflicts:
        assert merged == out.value
    assert set(merged) <= set(b) | set(o) | set(t)


# ------------------------------------------------------------ the example

BASE_LOG, OURS_LOG, THEIRS_LOG = ["sys", "u1"], ["sys", "u1", "a-ours"], ["SYS2", "u1", "a-theirs"]


def log_conflict() -> Conflict:
    (c,) = merge3({"m": BASE_LOG}, {"m": OURS_LOG}, {"m": THEIRS_LOG}).conflicts
    assert (c.path, c.kind, c.ranges) == ("/m", "array", ((2, 3, 2, 3),))
    return c


@pytest.mark.parametrize("side, expected", [
    (OURS, ["SYS2", "u1", "a-ours"]),
    (THEIRS, ["SYS2", "u1", "a-theirs"]),
    (BOTH, ["SYS2", "u1", "a-ours", "a-theirs"]),
    (BASE, ["SYS2", "u1"]),
])
def test_side_resolution_keeps_the_clean_edit_of_the_other_side(side, expected):
    assert resolve_conflict(log_conflict(), side) == expected


def test_ours_resolution_agrees_with_target_wins_on_the_example():
    for side, strategy in ((OURS, "target_wins"), (THEIRS, "source_wins")):
        assert resolve_conflict(log_conflict(), side) == merge3(
            {"m": BASE_LOG}, {"m": OURS_LOG}, {"m": THEIRS_LOG}, strategy=strategy).value["m"]


def test_both_keeps_both_versions_of_an_element_edited_differently_on_each_side():
    base = [{"role": "u", "text": "hi"}, "x"]
    ours = [{"role": "u", "text": "hello"}, "x", "o"]
    theirs = [{"role": "u", "text": "hey"}, "x", "t"]
    c = Conflict("/m", base, ours, theirs, "array")
    assert resolve_conflict(c, BOTH) == [{"role": "u", "text": "hello"}, {"role": "u", "text": "hey"}, "x", "o", "t"]
    # Edits to different fields of the same element still merge into one element.
    ours2 = [{"role": "a", "text": "hi"}, "x", "o"]
    theirs2 = [{"role": "u", "text": "hey"}, "x", "t"]
    c2 = Conflict("/m", base, ours2, theirs2, "array")
    assert resolve_conflict(c2, BOTH) == [{"role": "a", "text": "hey"}, "x", "o", "t"]


def test_both_drops_an_element_the_other_side_edited():
    """An edit is a removal plus an add: BOTH must not bring back the old copy."""
    c = Conflict("/m", ["s", "u1"], ["s", "u1", "a-ours"], ["s", "U1", "a-theirs"], "array")
    assert resolve_conflict(c, BOTH) == ["s", "U1", "a-ours", "a-theirs"]


@pytest.mark.parametrize("side, expected", [(OURS, 2), (THEIRS, 3), (BASE, 1)])
def test_non_array_conflicts_take_that_sides_value(side, expected):
    (c,) = merge3({"a": 1}, {"a": 2}, {"a": 3}).conflicts
    assert resolve_conflict(c, side) == expected


def test_a_missing_side_resolves_to_missing():
    (c,) = merge3({"a": 1}, {}, {"a": 3}).conflicts
    assert resolve_conflict(c, OURS) is MISSING
    assert resolve_conflict(c, THEIRS) == 3


@pytest.mark.parametrize("ours, theirs, kind", [({"a": 2}, {"a": 3}, "modify/modify"), ({}, {"a": 3}, "delete/modify"),
                                                 ({"a": [1]}, {"a": "x"}, "type")])
def test_both_is_refused_for_conflicts_that_are_not_arrays(ours, theirs, kind):
    (c,) = merge3({"a": 1}, ours, theirs).conflicts
    with pytest.raises(ConflictResolutionError, match=f"{kind} conflict at /a"):
        resolve_conflict(c, BOTH)


def test_a_side_must_be_a_side():
    with pytest.raises(TypeError):
        resolve_conflict(log_conflict(), "ours")  # type: ignore[arg-type]


def test_a_plain_value_in_resolutions_is_that_value_even_if_it_spells_a_side():
    out = merge3({"a": 1}, {"a": 2}, {"a": 3})
    root, objects = write_tree(out.value)
    root, more, _ = apply_resolutions(ObjectsSource(objects), root, out.conflicts, {"/a": "ours"})
    assert read_tree(ObjectsSource({**objects, **more}), root) == {"a": "ours"}


# ------------------------------------------------------------ union: an edit is a removal plus an add

def union(b, o, t):
    out = merge3({"m": b}, {"m": o}, {"m": t}, policies={"/m": "union"})
    assert out.conflicts == []
    return out.value["m"]


@pytest.mark.parametrize("b, o, t, expected", [
    # theirs edits u1 while ours appends: the old u1 goes, the new one takes its place once
    (["sys", "u1"], ["sys", "u1", "a1"], ["sys", "U1"], ["sys", "U1", "a1"]),
    # the same with the sides swapped
    (["sys", "u1"], ["sys", "U1"], ["sys", "u1", "a1"], ["sys", "U1", "a1"]),
    # both edit the same element differently: both new versions, no old copy
    (["sys", "u1"], ["sys", "Uo"], ["sys", "Ut"], ["sys", "Uo", "Ut"]),
    # one side deletes while the other appends next to it: the deletion applies
    (["sys", "u1"], ["sys"], ["sys", "u1", "a1"], ["sys", "a1"]),
    (["sys", "u1"], ["sys", "u1", "a1"], ["sys"], ["sys", "a1"]),
    # both append the same item: once
    (["s"], ["s", "x", "o"], ["s", "x", "t"], ["s", "x", "o", "t"]),
])
def test_union_treats_an_edit_as_a_removal_plus_an_add(b, o, t, expected):
    assert union(b, o, t) == expected


unique = st.lists(st.sampled_from(list("abcdefgh")), max_size=6, unique=True)


@given(unique, unique, unique)
def test_union_keeps_every_addition_and_applies_every_removal(b, o, t):
    """With items that are unique in each list and no moves (a moved item is a removal and
    an insert elsewhere, where diff3 lets the insert win): the result holds exactly what
    either side has, minus what either side removed from the base (an edit removes the old item)."""
    for side in (o, t):
        assume([x for x in side if x in b] == [x for x in b if x in side])
    removed = (set(b) - set(o)) | (set(b) - set(t))
    assert set(union(b, o, t)) == (set(o) | set(t)) - removed


@given(st.lists(st.sampled_from([0, 1, 2, 3]), max_size=6), st.lists(st.sampled_from([0, 1, 2, 3]), max_size=6),
       st.lists(st.sampled_from([0, 1, 2, 3]), max_size=6))
def test_combine_region_picks_ours_in_order_then_new_items_of_theirs(b, o, t):
    for dedupe in (True, False):
        picks = combine_region(b, o, t, dedupe)
        ours_picked = [i for side, i in picks if side == 0]
        assert ours_picked == sorted(ours_picked)
        assert all(t[i] not in b for side, i in picks if side == 1)
        assert all(o[i] not in b or o[i] in t for side, i in picks if side == 0)
        assert len({p for p in picks}) == len(picks)
