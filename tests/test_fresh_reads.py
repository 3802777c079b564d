"""read_tree through an ObjectReader checks each id's bytes canonical once
(ObjectReader.fresh_payload): a later read of the same node parses without the check, yet
hands out the same values, fresh ones, and a node that fails the check fails every time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statevcs import Repository
from statevcs.errors import NonCanonicalObjectError
from statevcs.model.canonical import hash_object, strict_equal
from statevcs.model.tree import read_tree

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e-7, 2.5e-05, 0.00001, 1e21, -0.0]),
    st.text(max_size=12), st.sampled_from(["run-4e-7", "v2e-3", "0.00001"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=6), inner, max_size=6)), max_leaves=40)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), values, max_size=8),
       st.lists(st.integers(min_value=-(2**66), max_value=2**66), min_size=300, max_size=400))
def test_a_second_read_gives_the_same_fresh_values(state, long_list):
    state = {**state, "long": long_list, "floats": [i / 7 for i in range(50)]}  # chunked containers too
    repo = Repository.memory()
    commit = repo.commit(state, message="s")
    repo.objects.forget()
    first = read_tree(repo.objects, commit.root)
    assert repo.objects._checked  # the ids checked with an exact parse are remembered
    second = read_tree(repo.objects, commit.root)
    assert strict_equal(first, state) and strict_equal(second, state)
    first["long"].append("changed")
    first["floats"][0] = "changed"
    third = read_tree(repo.objects, commit.root)
    assert strict_equal(third, state)  # the first read's values were its own


def test_a_node_that_fails_the_check_fails_every_read():
    repo = Repository.memory()
    raw = b'obj1 {"r":{},"i":{"b":1,"a":2}}'  # keys out of order: not canonical
    oid = hash_object(raw).hex()
    repo.store.put(oid, raw)
    for _ in range(3):
        with pytest.raises(NonCanonicalObjectError):
            read_tree(repo.objects, oid)
    assert oid not in repo.objects._checked


def test_the_ledger_of_checked_ids_is_bounded(monkeypatch):
    repo = Repository.memory()
    monkeypatch.setattr(type(repo.objects), "CHECKED", 8)
    roots = [repo.commit({"n": i, "tag": f"t{i}"}, message=str(i)).root for i in range(30)]
    repo.objects.forget()
    for root in roots:
        assert read_tree(repo.objects, root)["n"] == roots.index(root)
    assert len(repo.objects._checked) == 8
