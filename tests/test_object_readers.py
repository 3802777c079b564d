"""Malformed object bytes fed to every reader raise only statevcs's own errors.

Never IndexError, KeyError, TypeError, RecursionError, UnicodeError or MemoryError: a
hostile peer's bytes must end in a StateVCSError naming the object, whatever they are.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from statevcs.errors import StateVCSError
from statevcs.model.nodes import child_ids, decode_node
from statevcs.model.objects import decode_commit, decode_tag, encode_commit, encode_tag
from statevcs.model.reader import ByteLRU
from statevcs.model.tree import ObjectsSource, read_tree, write_tree
from statevcs.store.stored import pack, unpack_verified

from .hostile import oid_of
from .strategies import big_values

KINDS = [b"obj1", b"arr1", b"val1", b"commit1", b"tag1", b"nope9", b""]
FRAGMENTS = [b'{"i":', b'{"r":', b'"v":', b"[", b"]", b"{", b"}", b",", b":", b'"', b"0", b"-1", b"1e999",
             b"NaN", b"\\ud800", b'"' + b"a" * 64 + b'"', b"null", b"true", b'"root":', b'"parents":',
             b'"generation":', b'"time":"2024-01-01T00:00:00.000000Z"', b"\xff", b" ", b"[" * 2000]

body = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(b"".join),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.just("a" * 64),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(["i", "r", "v", "x"]), c,
                                                                    max_size=4), max_leaves=12)
    .map(lambda v: __import__("json").dumps(v, separators=(",", ":"), sort_keys=True).encode()),
)
raw_objects = st.builds(lambda kind, b: kind + b" " + b, st.sampled_from(KINDS), body) | st.binary(max_size=100)


def _only_own_errors(fn, *args):
    try:
        fn(*args)
    except StateVCSError:
        pass


@given(raw_objects)
@example(b'obj1 {"i":{},"r":{"a":"' + b"0" * 64 + b'"},"r":{}}')
@example(b'arr1 {"i":["x"],"r":[0]}')
@example(b'arr1 {"i":[],"r":[5]}')
@example(b"val1 " + b"[" * 100_000 + b"]" * 100_000)
@example(b'commit1 {"author":"a","generation":1,"message":"m","metadata":{},"parents":[],"root":"x","time":"t"}')
@example(b'tag1 {"message":"m","name":"\\ud800","tagger":"t","target":"' + b"0" * 64 + b'","time":"x"}')
def test_decoders_raise_only_statevcs_errors(raw):
    oid = oid_of(raw)
    for decode in (decode_node, decode_commit, decode_tag, lambda o, r: child_ids(r, o)):
        _only_own_errors(decode, oid, raw)
    _only_own_errors(read_tree, ObjectsSource({oid: raw}), oid)


@given(st.binary(max_size=300))
@example(b"\x01" + b"\x28\xb5\x2f\xfd" + b"\x00" * 10)
def test_unpacking_stored_bytes_raises_only_statevcs_errors(stored):
    _only_own_errors(unpack_verified, "0" * 64, stored)


@given(big_values, st.data())
def test_mutated_trees_read_back_or_fail_cleanly(value, data):
    """Flip, cut or splice the bytes of real nodes: reading gives the value or a StateVCSError."""
    root, objects = write_tree(value)
    oid = data.draw(st.sampled_from(sorted(objects)))
    raw = bytearray(objects[oid])
    pos = data.draw(st.integers(0, len(raw) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "dup"]))
    if how == "flip":
        raw[pos] ^= data.draw(st.integers(1, 255))
    elif how == "cut":
        del raw[pos:]
    else:
        raw[pos:pos] = raw[pos:]
    mutated = {**objects, oid: bytes(raw)}  # the id no longer matches: a reader trusting ids sees it
    _only_own_errors(read_tree, ObjectsSource(mutated), root)
    _only_own_errors(decode_node, oid, bytes(raw))


@given(big_values)
def test_every_node_statevcs_writes_passes_the_strict_readers(value):
    root, objects = write_tree(value)
    for oid, raw in objects.items():
        decode_node(oid, raw)
        assert oid_of(raw) == oid
        assert unpack_verified(oid, pack(raw)) == raw
    assert read_tree(ObjectsSource(objects), root) == value


def test_commits_and_tags_statevcs_writes_pass_the_strict_readers():
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    c, raw = encode_commit("a" * 64, ("b" * 64,), 2, "ann é", now, "msg\nbody ☃", {"k": [1, 2.5, None]})
    assert decode_commit(c.id, raw) == c
    t, traw = encode_tag(c.id, "v1", "ann", now, "release")
    assert decode_tag(t.id, traw) == t


def test_the_cache_is_bounded_by_bytes_and_a_hit_refreshes_an_entry():
    from statevcs.model.reader import ENTRY_OVERHEAD

    cache = ByteLRU(3 * (1000 + ENTRY_OVERHEAD))
    for key in "abc":
        cache.put(key, key, 1000)
    assert cache.get("a") == "a"  # a is now the most recent
    cache.put("d", "d", 1000)  # evicts b, the least recently used
    assert "b" not in cache and "a" in cache and "c" in cache and "d" in cache
    assert cache.used <= cache.capacity
    cache.put("huge", "x", 10**9)  # larger than the whole cache: not kept, nothing evicted
    assert "huge" not in cache and len(cache) == 3
    cache.put("e", "e", 2500)  # one big entry evicts as many as it needs
    assert cache.used <= cache.capacity and "e" in cache


def test_object_reader_cache_holds_bytes_not_entries():
    from statevcs import Repository
    from statevcs.model.reader import ObjectReader

    repo = Repository.memory()
    repo.commit({f"k{i}": "x" * 2000 for i in range(200)}, message="big")
    reader = ObjectReader(repo.store, cache_bytes=20_000)
    assert read_tree(reader, repo.head().root) == repo.get()
    for oid in list(repo.store.iter_ids()):
        reader.raw(oid)
    assert reader._raw.used <= 5_000 and reader._nodes.used <= 10_000


@pytest.mark.parametrize("env", ["0", "-5", "x", "1e9"])
def test_bad_limit_settings_are_refused(monkeypatch, env):
    from statevcs.errors import InvalidLimitError
    from statevcs.limits import max_depth, max_object_bytes

    monkeypatch.setenv("STATEVCS_MAX_DEPTH", env)
    monkeypatch.setenv("STATEVCS_MAX_OBJECT_SIZE", env)
    with pytest.raises(InvalidLimitError):
        max_depth()
    with pytest.raises(InvalidLimitError):
        max_object_bytes()
