"""Merkle trees of states: ids, sharing between versions, pointer lookups."""

from __future__ import annotations

import copy

import blake3
import pytest
from hypothesis import given

from statevcs.errors import PathNotFoundError
from statevcs.model.canonical import canonical_str, strict_equal
from statevcs.model.chunks.build import ChunkParams
from statevcs.model.chunks.views import use_chunk_params
from statevcs.model.nodes import decode_node
from statevcs.model.objects import ARRAY_NODE, OBJECT_NODE, VALUE_NODE, encode
from statevcs.model.tree import (
    INLINE_LIMIT,
    ObjectsSource,
    lookup,
    read_tree,
    write_tree,
)

from .chunking import SMALL_CHUNKS
from .strategies import big_values


def reference_write_tree(value, params=ChunkParams()):
    """The encoding spelled out naively (docs/storage-format.md, "Merkle tree of a state" and
    "Chunked containers"): write_tree must agree byte for byte."""
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

    def put(kind, payload):
        oid, raw = encode(kind, payload)
        objects[oid] = raw
        return oid

    def token(c):
        return c[1] if c[0] == "ref" else "=" + canonical_str(c[1])

    def boundary(h, identity):
        key = blake3.blake3(b"statevcs chunk boundary level %d" % h).digest()
        return int.from_bytes(blake3.blake3(identity.encode("utf-8"), key=key).digest()[:8], "big")

    def cut(h, entries):  # entries: (identity, weight, payload part); returns lists of entries
        chunks, current, weight = [], [], 0
        for identity, w, part in entries:
            current.append(part)
            weight += w
            low, span, high = ((params.min_weight, params.span, params.max_weight) if h == 0 else
                               (params.interior_min, params.interior_span, params.interior_max))
            if len(current) >= 2 and (weight >= high or (weight >= low and boundary(h, identity) * span < w * 2**64)):
                chunks.append(current)
                current, weight = [], 0
        if current:
            chunks.append(current)
        return chunks

    def flat_or_chunked(is_object, kids):  # kids: [(key or index, (kind, value))], keys sorted
        def weight(c):  # a child node's id weighs ref_weight; inline JSON its token's length
            return params.ref_weight if c[0] == "ref" else len(token(c))

        if is_object:
            leaves = cut(0, [(k, len(k) + weight(c), (k, c)) for k, c in kids])
        else:
            leaves = cut(0, [(token(c), weight(c), c) for _, c in kids])
        if len(leaves) <= 1:
            return None
        level = []  # (id, count, last key)
        for leaf in leaves:
            if is_object:
                payload = {"i": {k: c[1] for k, c in leaf if c[0] == "inline"},
                           "r": {k: c[1] for k, c in leaf if c[0] == "ref"}}
                level.append((put(b"objl1", payload), len(leaf), leaf[-1][0]))
            else:
                payload = {"i": [c[1] for c in leaf], "r": [i for i, c in enumerate(leaf) if c[0] == "ref"]}
                level.append((put(b"arrl1", payload), len(leaf), None))
        h = 1
        while len(level) > 1:
            entries = [((last if is_object else oid), 64 + (len(last) if is_object else 0), (oid, n, last))
                       for oid, n, last in level]
            level = []
            for chunk in cut(h, entries):
                payload = {"c": [e[0] for e in chunk], "h": h, "n": [e[1] for e in chunk]}
                if is_object:
                    payload["k"] = [e[2] for e in chunk]
                level.append((put(b"objn1" if is_object else b"arrn1", payload),
                              sum(e[1] for e in chunk), chunk[-1][2]))
            h += 1
        return level[0][0]

    def node(v):
        if isinstance(v, dict):
            kids = {k: child(x) for k, x in v.items()}
            chunked = flat_or_chunked(True, sorted(kids.items()))
            if chunked:
                return chunked
            payload = {"i": {k: c[1] for k, c in kids.items() if c[0] == "inline"},
                       "r": {k: c[1] for k, c in kids.items() if c[0] == "ref"}}
            return put(OBJECT_NODE, payload)
        kids = [child(x) for x in v]
        chunked = flat_or_chunked(False, list(enumerate(kids)))
        if chunked:
            return chunked
        payload = {"i": [c[1] for c in kids], "r": [i for i, c in enumerate(kids) if c[0] == "ref"]}
        return put(ARRAY_NODE, payload)

    if isinstance(value, (dict, list)):
        return node(value), objects
    return put(VALUE_NODE, {"v": value}), objects


def _is_ref(c):
    return c[0] == "ref"


@given(big_values)
def test_write_tree_matches_the_documented_encoding(value):
    assert write_tree(value) == reference_write_tree(value)


@given(big_values)
def test_write_tree_matches_the_documented_encoding_with_small_chunks(value):
    with use_chunk_params(SMALL_CHUNKS):
        assert write_tree(value) == reference_write_tree(value, SMALL_CHUNKS)


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
    # The agent's node, one leaf chunk of the agents map and one chunk per level above it, the root.
    kinds = sorted(after[o].split(b" ", 1)[0] for o in new)
    chunks = [k for k in kinds if k in (b"objl1", b"objn1")]
    assert kinds.count(b"objl1") == 1 and len(kinds) == len(chunks) + 2
    assert len(chunks) == 1 + max(decode_node(o, after[o]).height for o in new if after[o].startswith(b"objn1"))
    assert sum(len(after[o]) for o in new) < 12_000  # was 60 KB with one flat node of 1,000 ids


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


# ---------------------------------------------------------------- chunked trees (small chunks)

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from statevcs.model.missing import MISSING  # noqa: E402
from statevcs.model.treegraft import graft

from .chunking import big_pairs  # noqa: E402
from .strategies import scalars  # noqa: E402


@given(big_values)
def test_round_trip_and_lookups_with_small_chunks(value):
    with use_chunk_params(SMALL_CHUNKS):
        root, objects = write_tree(value)
        source = ObjectsSource(objects)
        assert strict_equal(read_tree(source, root), value)
        for pointer, expected in _all_pointers(value):
            assert strict_equal(lookup(source, root, pointer), expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(big_pairs, st.data())
def test_grafts_give_the_ids_of_a_fresh_write(value, data):
    """History independence: a value reached by path edits (chunk edits inside chunked
    containers) has the ids a write from scratch gives it."""
    with use_chunk_params(SMALL_CHUNKS):
        root, objects = write_tree(value)
        plain = copy.deepcopy(value)
        for _ in range(data.draw(st.integers(1, 8))):
            kind = data.draw(st.sampled_from(["set", "remove", "append", "item", "drop"]))
            if kind in ("set", "remove"):
                keys = sorted(plain["m"])
                key = data.draw(st.sampled_from(keys)) if keys and data.draw(st.booleans()) else data.draw(
                    st.text(max_size=3))
                new = MISSING if kind == "remove" else data.draw(st.one_of(scalars, st.text(min_size=20)))
                tokens = ["m", key]
                if new is MISSING:
                    plain["m"].pop(key, None)
                else:
                    plain["m"][key] = new
            elif kind == "append":
                new = data.draw(scalars)
                tokens = ["l", str(len(plain["l"]))]
                plain["l"].append(new)
            elif not plain["l"]:
                continue
            else:
                i = data.draw(st.integers(0, len(plain["l"]) - 1))
                new = MISSING if kind == "drop" else data.draw(scalars)
                tokens = ["l", str(i)]
                if new is MISSING:
                    del plain["l"][i]
                else:
                    plain["l"][i] = new
            root, written = graft(ObjectsSource(objects), root, tokens, new)
            objects.update(written)
            assert root == write_tree(plain)[0]
        assert strict_equal(read_tree(ObjectsSource(objects), root), plain)
