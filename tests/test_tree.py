"""Merkle trees of states: ids, sharing between versions, pointer lookups."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given

from statevcs.errors import PathNotFoundError
from statevcs.model.canonical import canonical_str, strict_equal
from statevcs.model.objects import (
    ARRAY_NODE,
    OBJECT_NODE,
    VALUE_NODE,
    decode_node,
    encode,
)
from statevcs.model.tree import (
    INLINE_LIMIT,
    ObjectsSource,
    lookup,
    read_tree,
    write_tree,
)

from .strategies import big_values


def reference_write_tree(value):
    """The encoding spelled out naively (docs/storage-format.md): write_tree must agree byte for byte."""
    objects = {}

    def child(v):
        if isinstance(v, (dict, list)):
            if isinstance(v, dict) and any(_is_ref(child(x)) for x in v.values()):
                return ("ref", node(v))
            if isinstance(v, list) and any(_is_ref(child(x)) for x in v):
                return ("ref", node(v))
            if len(canonical_str(v)) > INLINE_LIMIT:
                return ("ref", node(v))
        return ("inline", v)

    def node(v):
        if isinstance(v, dict):
            kids = {k: child(x) for k, x in v.items()}
            payload = {"i": {k: c[1] for k, c in kids.items() if c[0] == "inline"},
                       "r": {k: c[1] for k, c in kids.items() if c[0] == "ref"}}
            oid, raw = encode(OBJECT_NODE, payload)
        else:
            kids = [child(x) for x in v]
            payload = {"i": [c[1] for c in kids], "r": [i for i, c in enumerate(kids) if c[0] == "ref"]}
            oid, raw = encode(ARRAY_NODE, payload)
        objects[oid] = raw
        return oid

    if isinstance(value, (dict, list)):
        return node(value), objects
    oid, raw = encode(VALUE_NODE, {"v": value})
    objects[oid] = raw
    return oid, objects


def _is_ref(c):
    return c[0] == "ref"


@given(big_values)
def test_write_tree_matches_the_documented_encoding(value):
    assert write_tree(value) == reference_write_tree(value)


def test_small_states_are_one_node():
    root, objects = write_tree({"a": {"b": [1, 2, 3]}, "c": "x" * 100})
    assert list(objects) == [root]


def test_large_containers_get_their_own_nodes():
    value = {"small": {"a": 1}, "big": {"text": "y" * (INLINE_LIMIT + 10)}}
    root, objects = write_tree(value)
    assert len(objects) == 2
    node = decode_node(root, objects[root])
    assert node.children["small"] == {"a": 1}
    assert type(node.children["big"]).__name__ == "Ref"


def test_one_leaf_change_rewrites_only_its_path(fixture_state):
    state = fixture_state("team_1000.json")
    _, before = write_tree(state)
    changed = copy.deepcopy(state)
    changed["agents"]["agent-0042"]["status"] = "paused"
    _, after = write_tree(changed)
    new = set(after) - set(before)
    assert len(new) == 3  # the agent's node, the agents map, the root
    assert sum(len(after[o]) for o in new) < 100_000


@given(big_values)
def test_lookup_agrees_with_plain_resolution(value):
    root, objects = write_tree(value)
    source = ObjectsSource(objects)
    for pointer, expected in _all_pointers(value):
        assert strict_equal(lookup(source, root, pointer), expected)


def _all_pointers(value, prefix=""):
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _all_pointers(v, prefix + "/" + k.replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _all_pointers(v, f"{prefix}/{i}")


def test_lookup_errors():
    root, objects = write_tree({"a": [1, {"b": 2}], "big": ["z" * 600]})
    source = ObjectsSource(objects)
    for bad in ("/nope", "/a/2", "/a/01", "/a/-", "/a/0/x", "/big/1", "/big/0/q"):
        with pytest.raises(PathNotFoundError):
            lookup(source, root, bad)
    assert lookup(source, root, "/big/0") == "z" * 600


def test_read_tree_keeps_sorted_keys():
    value = {"b": ["x" * 600], "a": 1, "c": {"d": ["y" * 600]}}
    root, objects = write_tree(value)
    back = read_tree(ObjectsSource(objects), root)
    assert list(back) == ["a", "b", "c"]
