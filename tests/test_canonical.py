"""Validation and canonical encoding: what goes in, and how it is named."""

from __future__ import annotations

import collections
import datetime
import json
import math

import pytest
from hypothesis import given

from statevcs.errors import InvalidStateError
from statevcs.model.canonical import (
    MAX_DEPTH,
    canonical_bytes,
    loads,
    strict_equal,
    validate,
)
from statevcs.model.tree import ObjectsSource, read_tree, write_tree

from .conftest import DATA
from .strategies import big_values, json_values


@pytest.mark.parametrize(
    "value, pointer, words",
    [
        ({"a": float("nan")}, "/a", "not a JSON number"),
        ({"a": [1, float("inf")]}, "/a/1", "not a JSON number"),
        ({1: "x"}, "", "JSON keys must be str"),
        ({"a": {None: 1}}, "/a", "JSON keys must be str"),
        ({"b": b"bytes"}, "/b", "bytes is not JSON"),
        ({"s": {1, 2}}, "/s", "set is not JSON"),
        ({"t": (1, 2)}, "/t", "tuple is not JSON"),
        ({"d": datetime.datetime(2026, 1, 1)}, "/d", "datetime is not JSON"),
        ({"x/y": {"~": object()}}, "/x~1y/~0", "object is not JSON"),
    ],
)
def test_refuses_non_json_naming_the_pointer(value, pointer, words):
    with pytest.raises(InvalidStateError) as info:
        validate(value)
    assert info.value.pointer == pointer
    assert words in str(info.value)


def test_refuses_cycles():
    a: dict = {"x": []}
    a["x"].append(a)
    with pytest.raises(InvalidStateError, match="cycle") as info:
        validate(a)
    assert info.value.pointer == "/x/0"


def test_shared_but_acyclic_containers_are_fine():
    shared = {"k": 1}
    validate({"a": shared, "b": shared, "c": [shared, shared]})


def test_depth_limit():
    deep: list = []
    cur = deep
    for _ in range(MAX_DEPTH - 1):
        cur.append([])
        cur = cur[0]
    validate(deep)  # exactly the limit
    cur.append([])
    with pytest.raises(InvalidStateError, match="deeper than"):
        validate(deep)


def test_subclasses_of_json_types_are_accepted():
    validate(collections.OrderedDict(a=1))


def test_ids_do_not_depend_on_key_order_or_whitespace():
    a = json.loads('{"b": 1, "a": {"y": [1, 2], "x": null}}')
    b = json.loads('{ "a" : { "x":null ,"y":[1,2]},\n "b":1 }')
    assert write_tree(a)[0] == write_tree(b)[0]


def test_types_are_part_of_the_value():
    ids = {write_tree(v)[0] for v in (1, True, 1.0, "1", [1], [True], [1.0], {"a": 1}, {"a": True})}
    assert len(ids) == 9
    assert not strict_equal(True, 1) and not strict_equal(1, 1.0) and not strict_equal(0.0, -0.0)
    assert strict_equal({"a": [1, None]}, {"a": [1, None]})


@given(json_values)
def test_canonical_bytes_roundtrip(value):
    assert strict_equal(loads(canonical_bytes(value)), value)


@given(big_values)
def test_tree_roundtrip_is_exact(value):
    root, objects = write_tree(value)
    back = read_tree(ObjectsSource(objects), root)
    assert strict_equal(back, value)
    assert write_tree(back)[0] == root


@pytest.mark.parametrize("name", ["arrays", "french", "structures", "unicode", "values", "weird"])
def test_awkward_json_roundtrips(name):
    text = (DATA / "jcs" / "input" / f"{name}.json").read_text(encoding="utf-8")
    value = json.loads(text)
    root, objects = write_tree(value)
    assert strict_equal(read_tree(ObjectsSource(objects), root), value)
    # Equal values parsed from the canonical output (another text) get the same id.
    out = json.loads((DATA / "jcs" / "output" / f"{name}.json").read_text(encoding="utf-8"))
    if all(not isinstance(x, float) or not x.is_integer() for x in _scalars(value)):
        assert write_tree(out)[0] == root


def _scalars(v):
    if isinstance(v, dict):
        for x in v.values():
            yield from _scalars(x)
    elif isinstance(v, list):
        for x in v:
            yield from _scalars(x)
    else:
        yield v


def test_negative_zero_and_big_ints_survive():
    value = {"z": -0.0, "big": 2**100, "neg": -(2**80), "f": 1e300}
    root, objects = write_tree(value)
    back = read_tree(ObjectsSource(objects), root)
    assert math.copysign(1, back["z"]) == -1 and back["big"] == 2**100 and type(back["f"]) is float
