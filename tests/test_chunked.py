"""Chunked containers (statevcs.model.chunks): format, history
independence, round trips, O(change) edits, O(path) lookups and O(change x depth) diffs.

Most properties run with lowered chunk parameters (SMALL) so that hypothesis-sized values
make trees of several levels, with both the hash rule and the max-weight cut at work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from statevcs.algo.align import align
from statevcs.errors import (
    CorruptObjectError,
    InvalidStateError,
    ObjectNotFoundError,
    PathNotFoundError,
    StateVCSError,
)
from statevcs.model.canonical import canonical_bytes, canonical_str
from statevcs.model.chunks import edit as chunkedit
from statevcs.model.chunks.build import DEFAULT_PARAMS, ChunkParams, build_array, build_object
from statevcs.model.chunks.diff import array_windows, object_changes
from statevcs.model.chunks.edit import (
    array_append,
    array_insert,
    array_remove,
    array_set,
    array_splice,
    object_remove,
    object_set,
)
from statevcs.model.chunks.format import (
    ARRAY,
    ARRAY_INTERIOR,
    ARRAY_LEAF,
    OBJECT,
    OBJECT_INTERIOR,
    OBJECT_LEAF,
    ChunkRef,
    chunk_links,
    decode_chunk,
    encode_chunk,
    entry_token,
    is_chunk,
)
from statevcs.model.chunks.read import (
    array_get,
    array_items,
    length,
    object_children,
    object_get,
    walk_chunks,
)
from statevcs.model.missing import MISSING
from statevcs.model.objects import Ref
from statevcs.model.tree import child_token

from .conftest import ROOT

SMALL = ChunkParams(min_weight=32, span=128, max_weight=192,
                    interior_min=64, interior_span=128, interior_max=320, ref_weight=80)

IDS = [f"{i:x}" * 64 for i in range(6)]
IDS = [i[:64] for i in IDS]
items = st.one_of(
    st.integers(-1000, 10**6),
    st.text(max_size=24),
    st.sampled_from([0, 1, True, 1.0, None, "", "x"]),  # repeats: equal entries in several places
    st.builds(Ref, st.sampled_from(IDS)),
    st.dictionaries(st.sampled_from("abc"), st.integers(0, 9), max_size=3),
)
item_lists = st.lists(items, max_size=160)
keys = st.one_of(st.text(max_size=10), st.sampled_from(["a", "b", "k1", "k2", "~", "é", "\U0001f600"]))
objects = st.dictionaries(keys, items, max_size=120)


class CountingSource:
    """A raw-object source over a dict that counts what is read (to prove O(path) reads)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads = 0

    def raw(self, oid: str) -> bytes:
        self.reads += 1
        if oid not in self.objects:
            raise ObjectNotFoundError(oid)
        return self.objects[oid]


def reachable(objects: dict[str, bytes], root: str) -> set[str]:
    return {oid for oid, _ in walk_chunks(CountingSource(objects), root)}


def leaves(objects: dict[str, bytes], root: str) -> list[str]:
    return [oid for oid, node in walk_chunks(CountingSource(objects), root) if node.height == 0]


def height(objects: dict[str, bytes], root: str) -> int:
    return decode_chunk(root, objects[root]).height


def same(a, b) -> bool:
    """Equal children, types included (Refs by id)."""
    return [entry_token(x) for x in a] == [entry_token(x) for x in b]


# ---------------------------------------------------------------- format


@given(item_lists)
def test_array_round_trip(values):
    root, objs = build_array(values, SMALL)
    src = CountingSource(objs)
    assert same(array_items(src, root), values)
    assert length(src, root) == len(values)
    assert reachable(objs, root) == set(objs)  # no garbage: every node written is in the tree
    for oid, raw in objs.items():
        decode_chunk(oid, raw)


@given(objects)
def test_object_round_trip(children):
    root, objs = build_object(children, SMALL)
    got = object_children(CountingSource(objs), root)
    assert list(got) == sorted(children)
    assert same(got.values(), [children[k] for k in sorted(children)])
    assert reachable(objs, root) == set(objs)


def test_small_params_make_deep_trees():
    """Guard: the hypothesis sizes above do exercise interior levels."""
    root, objs = build_array(list(range(160)), SMALL)
    assert height(objs, root) >= 2
    root, objs = build_object({f"k{i}": i for i in range(120)}, SMALL)
    assert height(objs, root) >= 2


@given(st.lists(items, max_size=20), st.integers(0, 3))
def test_encoding_is_canonical_json(values, h):
    """The assembled text is exactly kind + canonical JSON of the documented payload."""
    _, leaf_raw = encode_chunk(ARRAY, 0, values)
    payload = {"i": [v.id if type(v) is Ref else v for v in values], "r": [i for i, v in enumerate(values) if type(v) is Ref]}
    assert leaf_raw == ARRAY_LEAF + b" " + canonical_bytes(payload)
    pairs = sorted({canonical_str(v): v for v in values if type(v) is not Ref}.items())
    pairs += [(f"ref{i}", v) for i, v in enumerate(values) if type(v) is Ref]
    pairs.sort()
    _, raw = encode_chunk(OBJECT, 0, pairs)
    payload = {"i": {k: v for k, v in pairs if type(v) is not Ref}, "r": {k: v.id for k, v in pairs if type(v) is Ref}}
    assert raw == OBJECT_LEAF + b" " + canonical_bytes(payload)
    refs = [ChunkRef(IDS[i % 6], i + 1, f"k{i}") for i in range(len(values) + 1)]
    _, raw = encode_chunk(OBJECT, h + 1, refs)
    payload = {"c": [r.id for r in refs], "h": h + 1, "k": [r.last for r in refs], "n": [r.count for r in refs]}
    assert raw == OBJECT_INTERIOR + b" " + canonical_bytes(payload)
    _, raw = encode_chunk(ARRAY, h + 1, refs)
    assert raw == ARRAY_INTERIOR + b" " + canonical_bytes({"c": payload["c"], "h": h + 1, "n": payload["n"]})


@given(items)
def test_entry_token_is_tree_child_token(value):
    assert entry_token(value) == child_token(value)


def test_links_and_kinds():
    root, objs = build_array([Ref(IDS[0]), 1, Ref(IDS[1])] * 40, SMALL)
    assert all(is_chunk(raw) for raw in objs.values())
    linked = {link for oid, raw in objs.items() for link in chunk_links(oid, raw)}
    assert linked == (set(objs) - {root}) | {IDS[0], IDS[1]}


def test_empty_containers():
    root, objs = build_array([], SMALL)
    assert objs[root] == b'arrl1 {"i":[],"r":[]}'
    root, objs = build_object({}, SMALL)
    assert objs[root] == b'objl1 {"i":{},"r":{}}'
    assert object_get(CountingSource(objs), root, "a") is MISSING


# ---------------------------------------------------------------- history independence

edit_ops = st.lists(
    st.tuples(st.sampled_from(["set", "insert", "remove", "append", "splice"]), st.integers(0, 10**6), items, st.integers(0, 30)),
    max_size=12,
)


def apply_array_edit(store, root, values, op, where, item, span):
    """Apply one edit to both the chunked tree (in ``store``) and a plain list; returns the new root."""
    n = len(values)
    src = CountingSource(store)
    if op == "append" or n == 0:
        new_root, new = array_append(src, root, item, params=SMALL)
        values.append(item)
    elif op == "set":
        i = where % n
        new_root, new = array_set(src, root, i, item, SMALL)
        values[i] = item
    elif op == "insert":
        i = where % (n + 1)
        new_root, new = array_insert(src, root, i, item, SMALL)
        values.insert(i, item)
    elif op == "remove":
        i = where % n
        new_root, new = array_remove(src, root, i, SMALL)
        del values[i]
    else:
        i = where % (n + 1)
        k = min(span, n - i)
        inserted = [item] * (span % 4)
        new_root, new = array_splice(src, root, i, k, inserted, SMALL)
        values[i : i + k] = inserted
    assert set(new) <= reachable({**store, **new}, new_root)  # only nodes of the new tree
    store.update(new)
    return new_root


@given(item_lists, edit_ops)
def test_array_edits_equal_a_fresh_build(start, ops):
    """Whatever edits made a value, it has the ids a direct build gives it."""
    values = list(start)
    root, store = build_array(values, SMALL)
    for op, where, item, span in ops:
        root = apply_array_edit(store, root, values, op, where, item, span)
        direct_root, direct = build_array(values, SMALL)
        assert root == direct_root
        assert reachable(store, root) == set(direct)
    assert same(array_items(CountingSource(store), root), values)


@given(st.lists(items, min_size=1, max_size=80).flatmap(lambda v: st.tuples(st.just(v), st.permutations(range(len(v))))))
def test_array_built_in_any_insertion_order(case):
    """Inserting the items one by one in a random order ends at the directly built tree."""
    values, order = case
    root, store = build_array([], SMALL)
    present: list[int] = []
    for index in order:
        position = sum(1 for p in present if p < index)
        root, new = array_insert(CountingSource(store), root, position, values[index], SMALL)
        store.update(new)
        present.append(index)
    assert root == build_array(values, SMALL)[0]


@given(objects, st.lists(st.tuples(st.booleans(), keys, items), max_size=15))
def test_object_edits_equal_a_fresh_build(start, ops):
    children = dict(start)
    root, store = build_object(children, SMALL)
    for is_set, key, item in ops:
        src = CountingSource(store)
        if is_set or key not in children:
            root, new = object_set(src, root, key, item, SMALL)
            children[key] = item
        else:
            root, new = object_remove(src, root, key, SMALL)
            del children[key]
        store.update(new)
        direct_root, direct = build_object(children, SMALL)
        assert root == direct_root
        assert reachable(store, root) == set(direct)


@given(objects.flatmap(lambda d: st.tuples(st.just(d), st.permutations(sorted(d)))))
def test_object_built_in_any_key_order(case):
    children, order = case
    root, store = build_object({}, SMALL)
    for key in order:
        root, new = object_set(CountingSource(store), root, key, children[key], SMALL)
        store.update(new)
    assert root == build_object(children, SMALL)[0]


def test_remove_everything_gives_the_empty_tree():
    values = list(range(120))
    root, store = build_array(values, SMALL)
    while values:
        root, new = array_remove(CountingSource(store), root, len(values) // 2, SMALL)
        store.update(new)
        del values[len(values) // 2]
    assert root == build_array([], SMALL)[0]


def test_pathological_contents_terminate_and_stay_independent():
    """Equal items everywhere (forced cuts only) and keys heavier than max_weight."""
    same_items = [7] * 300
    root, store = build_array(same_items, SMALL)
    root, new = array_insert(CountingSource(store), root, 0, 7, SMALL)
    store.update(new)
    assert root == build_array([7] * 301, SMALL)[0]
    huge = {("k%03d" % i) * 60: i for i in range(40)}  # every entry alone outweighs max_weight
    root, store = build_object(huge, SMALL)
    assert list(object_children(CountingSource(store), root)) == sorted(huge)
    root, new = object_remove(CountingSource(store), root, "k007" * 60, SMALL)
    del huge["k007" * 60]
    assert root == build_object(huge, SMALL)[0]


# ---------------------------------------------------------------- O(change) edits


@given(item_lists, items)
def test_append_rewrites_the_last_leaf_and_the_spine(values, item):
    root, store = build_array(values, SMALL)
    before = leaves(store, root)
    new_root, new = array_append(CountingSource(store), root, item, params=SMALL)
    store.update(new)
    after = leaves(store, new_root)
    assert after[: len(before) - 1] == before[:-1]  # every leaf but the last is reused
    assert len(after) - len(before) in (0, 1)
    assert sum(1 for oid in new if decode_chunk(oid, new[oid]).height == 0) == 1
    assert len(new) <= height(store, new_root) + 1


def test_append_to_a_big_array_writes_little():
    values = [{"id": i, "name": f"agent-{i}"} for i in range(20000)]
    root, store = build_array(values)
    src = CountingSource(store)
    _, new = array_append(src, root, {"id": "new"})
    h = height(store, root)
    assert len(new) <= h + 2
    assert src.reads == h + 1  # the path to the last leaf, nothing else
    assert sum(map(len, new.values())) < (h + 1) * DEFAULT_PARAMS.max_weight


@given(st.dictionaries(st.text(max_size=8), st.integers(0, 9), min_size=1, max_size=150), st.data())
def test_one_value_change_rewrites_one_leaf_and_its_spine(children, data):
    """Boundaries hang on keys and weights only: a same-size value change moves none."""
    root, store = build_object(children, SMALL)
    key = data.draw(st.sampled_from(sorted(children)))
    new_value = (children[key] + 1) % 10
    new_root, new = object_set(CountingSource(store), root, key, new_value, SMALL)
    assert len(new) == height(store, root) + 1
    store.update(new)
    assert height(store, new_root) == height(store, root)
    before, after = leaves(store, root), leaves(store, new_root)
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) == 1


def test_one_key_change_in_a_big_object_writes_one_leaf_and_spine():
    children = {f"agent-{i:05d}": {"score": i} for i in range(50000)}
    root, store = build_object(children)
    src = CountingSource(store)
    _, new = object_set(src, root, "agent-31337", {"score": 0})
    h = height(store, root)
    assert len(new) == h + 1
    assert src.reads == h + 1


# ---------------------------------------------------------------- O(depth) lookups


def test_lookups_read_only_the_path():
    values = [{"i": i} for i in range(30000)]
    root, store = build_array(values)
    h = height(store, root)
    assert h >= 2
    for index in (0, 1, 12345, 29999):
        src = CountingSource(store)
        assert array_get(src, root, index) == values[index]
        assert src.reads == h + 1
    children = {f"k{i}": i for i in range(30000)}
    root, store = build_object(children)
    h = height(store, root)
    for key in ("k0", "k29999", "k12345", "missing", "zzz"):
        src = CountingSource(store)
        assert object_get(src, root, key) == children.get(key, MISSING)
        assert src.reads <= h + 1


@given(item_lists, st.integers())
def test_array_get_matches_the_list(values, index):
    root, store = build_array(values, SMALL)
    if 0 <= index < len(values):
        assert entry_token(array_get(CountingSource(store), root, index)) == entry_token(values[index])
    else:
        with pytest.raises(PathNotFoundError):
            array_get(CountingSource(store), root, index)


def test_bad_edits_raise_library_errors():
    root, store = build_array([1, 2, 3], SMALL)
    src = CountingSource(store)
    for call in (lambda: array_set(src, root, 3, 0), lambda: array_remove(src, root, -1), lambda: array_insert(src, root, 5, 0)):
        with pytest.raises(PathNotFoundError):
            call()
    oroot, ostore = build_object({"a": 1}, SMALL)
    with pytest.raises(PathNotFoundError):
        object_remove(CountingSource(ostore), oroot, "b")
    with pytest.raises(CorruptObjectError):  # an array root where an object is expected
        object_set(src, root, "a", 1)
    with pytest.raises(InvalidStateError):
        build_object({1: 2})  # type: ignore[dict-item]


# ---------------------------------------------------------------- diff


def apply_windows(a, windows):
    out, at = [], 0
    for w in windows:
        out.extend(a[at : w.a_start])
        out.extend(w.b_items)
        at = w.a_start + len(w.a_items)
    return out + list(a[at:])


@given(item_lists, edit_ops)
def test_array_windows_match_the_naive_diff(start, ops):
    values = list(start)
    root_a, store = build_array(values, SMALL)
    root = root_a
    for op, where, item, span in ops:
        root = apply_array_edit(store, root, values, op, where, item, span)
    windows = array_windows(CountingSource(store), root_a, root)
    tokens_a, tokens_b = [entry_token(x) for x in start], [entry_token(x) for x in values]
    assert [entry_token(x) for x in apply_windows(start, windows)] == tokens_b
    for w in windows:
        assert w.a_items or w.b_items
        assert [entry_token(x) for x in w.a_items] == tokens_a[w.a_start : w.a_start + len(w.a_items)]
        assert [entry_token(x) for x in w.b_items] == tokens_b[w.b_start : w.b_start + len(w.b_items)]
    # No more differing entries than the naive alignment of the two whole lists finds.
    naive = [op for op in align(tokens_a, tokens_b) if op[0] != "equal"]
    assert sum(len(w.a_items) + len(w.b_items) for w in windows) <= sum(i2 - i1 + j2 - j1 for _, i1, i2, j1, j2 in naive)
    assert (windows == []) == (naive == [])


@given(st.lists(st.integers(), min_size=1, max_size=150, unique=True), st.data())
def test_one_replaced_item_is_one_window(values, data):
    index = data.draw(st.integers(0, len(values) - 1))
    new_values = list(values)
    new_values[index] = "replaced"
    root_a, store = build_array(values, SMALL)
    root_b, more = build_array(new_values, SMALL)
    windows = array_windows(CountingSource({**store, **more}), root_a, root_b)
    assert [(w.a_start, w.b_start, w.a_items, w.b_items) for w in windows] == [(index, index, (values[index],), ("replaced",))]


@given(objects, objects)
def test_object_changes_match_the_naive_diff(a, b):
    root_a, store = build_object(a, SMALL)
    root_b, more = build_object(b, SMALL)
    got = object_changes(CountingSource({**store, **more}), root_a, root_b)
    naive = [
        (k, tok(a.get(k, MISSING)), tok(b.get(k, MISSING)))
        for k in sorted(a.keys() | b.keys())
        if tok(a.get(k, MISSING)) != tok(b.get(k, MISSING))
    ]
    assert [(c.key, tok(c.old), tok(c.new)) for c in got] == naive


def tok(child):
    return None if child is MISSING else entry_token(child)


def test_ten_changes_in_fifty_thousand_read_few_nodes():
    values = [{"id": i, "name": f"agent-{i}"} for i in range(50000)]
    root_a, store = build_array(values)
    root = root_a
    for n, index in enumerate(range(1000, 50000, 4900)):
        root, new = array_set(CountingSource(store), root, index, {"id": index, "name": "changed"})
        store.update(new)
        values[index] = {"id": index, "name": "changed"}
    src = CountingSource(store)
    windows = array_windows(src, root_a, root)
    assert [w.a_start for w in windows] == list(range(1000, 50000, 4900))
    h = height(store, root)
    assert src.reads <= 2 * 10 * (h + 1) + 2, (src.reads, h)

    children = {f"agent-{i:05d}": i for i in range(50000)}
    oroot_a, store = build_object(children)
    root = oroot_a
    changed = [f"agent-{i:05d}" for i in range(7, 50000, 4999)]
    for key in changed:
        root, new = object_set(CountingSource(store), root, key, -1)
        store.update(new)
    src = CountingSource(store)
    assert [c.key for c in object_changes(src, oroot_a, root)] == changed
    assert src.reads <= 2 * 10 * (height(store, root) + 1) + 2


# ---------------------------------------------------------------- stability and corruption

GOLDEN_VALUES = "[[{'n': i, 'name': 'agent-%d' % i} for i in range(3000)], {'key-%d' % i: [i] for i in range(3000)}]"


def golden_roots() -> list[str]:
    array_value, object_value = eval(GOLDEN_VALUES)  # the same expression in both processes
    return [build_array(array_value)[0], build_object(object_value)[0]]


def test_boundaries_stable_across_processes():
    code = (
        "import json; from statevcs.model.chunks.build import build_array, build_object\n"
        f"a, o = {GOLDEN_VALUES}\n"
        "print(json.dumps([build_array(a)[0], build_object(o)[0]]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == golden_roots()


def test_golden_ids_pin_the_format():
    """The documented format and boundary rule give these ids; a change here is a format change."""
    assert golden_roots() == [GOLDEN_ARRAY_ROOT, GOLDEN_OBJECT_ROOT]


GOLDEN_ARRAY_ROOT = "08ca948e82dbebead057b0969c2f8264da57e59ae7a71e6c9bb079b5fcb154de"
GOLDEN_OBJECT_ROOT = "f6e613554e780e9afccf369ea89ae49518af709e57141f1ca938a70a637c6bb1"

payloads = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.text(max_size=5), st.sampled_from(IDS)),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(["i", "r", "c", "h", "k", "n", "x"]), c, max_size=5)),
    max_leaves=12,
)


@given(st.sampled_from([ARRAY_LEAF, ARRAY_INTERIOR, OBJECT_LEAF, OBJECT_INTERIOR, b"obj1", b"zzz9"]), payloads)
def test_malformed_payloads_raise_library_errors(kind, payload):
    raw = kind + b" " + canonical_bytes(payload)
    try:
        decode_chunk("x" * 64, raw)
    except StateVCSError:
        pass


@given(item_lists, st.integers(0, 10**6), st.binary(max_size=4), st.integers(0, 3))
def test_damaged_trees_raise_library_errors(values, where, junk, how):
    """Any damage (cut, spliced bytes, a child swapped for another) is a StateVCSError, never a crash."""
    assume(values)
    root, store = build_array(values, SMALL)
    other_root, other = build_array(values[1:], SMALL)
    store.update(other)
    victim = sorted(store)[where % len(store)]
    raw = store[victim]
    cut = where % (len(raw) + 1)
    if how == 0:
        store[victim] = raw[:cut]
    elif how == 1:
        store[victim] = raw[:cut] + junk + raw[cut:]
    elif how == 2:
        other = sorted(store)[(where // 7) % len(store)]
        store[victim] = store[other]
    else:
        store[victim] = raw.replace(b"1", b"2", 1)
    src = CountingSource(store)
    for call in (
        lambda: array_items(src, root),
        lambda: array_get(src, root, where % len(values)),
        lambda: array_set(src, root, where % len(values), 0, SMALL),
        lambda: array_append(src, root, 0, params=SMALL),
        lambda: array_windows(src, root, other_root),
    ):
        try:
            call()
        except StateVCSError:
            pass


# ---------------------------------------------------------------- batched edits (merges)


@pytest.mark.parametrize("rebuild_every", [0, 10**9])  # always spliced / always rebuilt
@given(objects, st.dictionaries(keys, st.one_of(items, st.just(MISSING)), max_size=40))
@settings(deadline=None)
def test_object_update_equals_a_fresh_build(rebuild_every, start, changes):
    changes = {k: v for k, v in changes.items() if v is not MISSING or k in start}
    root, store = build_object(start, SMALL)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunkedit, "REBUILD_EVERY", rebuild_every)
        new_root, new = chunkedit.object_update(CountingSource(store), root, changes, SMALL)
    expected = {k: v for k, v in {**start, **changes}.items() if v is not MISSING}
    direct_root, direct = build_object(expected, SMALL)
    assert new_root == direct_root
    assert set(new) <= set(direct) and reachable({**store, **new}, new_root) == set(direct)
    assert set(direct) - set(store) <= set(new)  # every node the store lacks is returned


@pytest.mark.parametrize("rebuild_every", [0, 10**9])
@given(item_lists, st.data())
@settings(deadline=None)
def test_array_splices_equal_a_fresh_build(rebuild_every, start, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(start)), max_size=8)))
    splices, previous = [], 0
    for a, b in zip(cuts[::2], cuts[1::2]):
        if a >= previous:
            splices.append((a, b - a, data.draw(st.lists(items, max_size=4))))
            previous = b
    root, store = build_array(start, SMALL)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chunkedit, "REBUILD_EVERY", rebuild_every)
        new_root, new = chunkedit.array_splices(CountingSource(store), root, splices, SMALL)
    expected = list(start)
    for index, remove, insert in reversed(splices):
        expected[index:index + remove] = insert
    direct_root, direct = build_array(expected, SMALL)
    assert new_root == direct_root
    assert set(new) <= set(direct) and reachable({**store, **new}, new_root) == set(direct)
    assert set(direct) - set(store) <= set(new)


def test_batched_edits_refuse_bad_input():
    root, store = build_object({"a": 1, "b": 2}, SMALL)
    with pytest.raises(PathNotFoundError):
        chunkedit.object_update(CountingSource(store), root, {"zz": MISSING}, SMALL)
    root, store = build_array(list(range(50)), SMALL)
    with pytest.raises(PathNotFoundError):
        chunkedit.array_splices(CountingSource(store), root, [(10, 2, []), (5, 1, [])], SMALL)
    with pytest.raises(PathNotFoundError):
        chunkedit.array_splices(CountingSource(store), root, [(49, 2, [])], SMALL)
