"""The C-speed paths of canonical.py give exactly what the pure ones give.

fast_canonical_str (orjson where its text is provably the canonical text) must equal
canonical_str on every valid value, floats, big integers, escapes and non-ASCII included;
validate's fast acceptance (_plainly_valid) must never accept what the pure walk refuses,
and refusals must still name the pointer.
"""

from __future__ import annotations

import collections
import enum
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statevcs.errors import InvalidStateError
from statevcs.model import canonical
from statevcs.model.canonical import _check, _plainly_valid, canonical_str, fast_canonical_str, validate
from statevcs.model.objects import Ref
from statevcs.model.tree import write_tree

tricky_floats = st.sampled_from([
    0.0, -0.0, 1e-4, 9.999e-5, 1e-5, 7.03e-05, 1e-7, -1e-9, 1e-10, 5e-324, 1e15, 1e16, 1e17, 1e21, 1e22,
    1.7976931348623157e308, 0.1, 123456789.123, 2.0 ** 63, 9007199254740993.0,
])
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False), tricky_floats,
    st.text(), st.text(alphabet=st.characters(max_codepoint=0xA0)),
    st.sampled_from(["/", "\u2028", "\u2029", "\x7f", "\x00", "e-", "0.0000", "\ufffe", "\U0001f600",
                     "9e-3", 'a\\"1e-', "0.00001", "run-4a3e-9b1f"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=6), inner, max_size=6)),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_fast_text_is_the_canonical_text(value):
    assert fast_canonical_str(value) == canonical_str(value)


def test_orjson_is_used_and_agrees_with_the_probes():
    # If this fails, the installed orjson spells something differently: the fast path is off.
    fast_canonical_str([1])  # the first call loads and checks orjson
    assert canonical._ORJSON is True
    assert canonical._FAST_CHECKS


@pytest.mark.parametrize("value", [[1e-7], {"a": 0.00001}, [2 ** 64], [-(2 ** 63) - 1], ["\x1f\x7f"], 1e16])
def test_fast_text_edges(value):
    assert fast_canonical_str(value) == canonical_str(value)


@pytest.mark.parametrize("value", [{"mode": "one-shot", "tag": "large-2026-10"}, ["state-3", "re-run"]])
def test_text_with_a_hyphenated_e_stays_on_the_fast_path(value, monkeypatch):
    # Only a digit before "e-" (a float's exponent) or "0.0000" sends a value to the json encoder.
    calls = []
    monkeypatch.setattr(canonical, "canonical_str", lambda v: calls.append(v) or "")
    assert fast_canonical_str(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))
    assert calls == []


def test_parsing_text_with_a_hyphenated_e_stays_on_the_fast_path(monkeypatch):
    calls = []
    real = canonical.loads
    monkeypatch.setattr(canonical, "loads", lambda b: calls.append(b) or real(b))
    assert canonical.parse_canonical(b'{"mode":"one-shot","tag":"large-2026-10"}') == {
        "mode": "one-shot", "tag": "large-2026-10"}
    assert calls == []
    assert canonical.parse_canonical(b"[1e-07]") == [1e-07]  # a float's exponent: the exact path
    assert calls == [b"[1e-07]"]
    assert canonical.parse_canonical(b'{"id":"run-4a3e-9","v":"1e-7"}') == {"id": "run-4a3e-9", "v": "1e-7"}
    assert calls == [b"[1e-07]"]  # exponents inside strings: still the fast path
    with pytest.raises(ValueError):
        canonical.parse_canonical(b'{"id":"run-4a3e-9","v":1e-7}')  # orjson's spelling, not canonical


@pytest.mark.parametrize("value, exact", [
    (["v2e-3"], False), ({"a": "0.00001"}, False), ({"id": "run-4a3e-9", "q": '"2e-'}, False),
    ([1e-7], True), (["run-4a3e-9", 1e-7], True), ({"a": "x", "b": 0.00001}, True)])
def test_only_floats_orjson_may_spell_otherwise_take_the_exact_path(value, exact, monkeypatch):
    """Float-like text inside strings (ids, versions) stays on the fast path; a float orjson
    may spell otherwise than the canonical form goes to the json encoder."""
    calls = []
    real = canonical.canonical_str
    monkeypatch.setattr(canonical, "canonical_str", lambda v: calls.append(v) or real(v))
    assert fast_canonical_str(value) == real(value)
    assert calls == ([value] if exact else [])


def test_fast_text_refuses_refs_and_lone_surrogates_as_before():
    with pytest.raises(TypeError):
        fast_canonical_str({"a": Ref("0" * 64)})
    with pytest.raises(InvalidStateError) as info:
        write_tree({"x": ["a" * 600, "\ud800"]})
    assert info.value.pointer == "/x/1"


@settings(max_examples=300, deadline=None)
@given(values)
def test_fast_validation_accepts_valid_plain_values(value):
    assert _plainly_valid(value, 256)


def _pure_refuses(value) -> bool:
    try:
        _check(value, 0, set(), 256)
    except canonical._Invalid:
        return True
    return False


class Color(enum.Enum):
    RED = 1


class Name(str, enum.Enum):
    A = "a"


def _cycle():
    a: list = []
    a.append(a)
    return {"x": [a]}


def _shared():
    s = [1, 2]
    return [s, s]


@pytest.mark.parametrize("value, pointer", [
    ({"a": [1, (2, 3)]}, "/a/1"),
    ({"a": {1: "x"}}, "/a"),
    ({"a": [float("nan")]}, "/a/0"),
    ([{"b": float("inf")}], "/0/b"),
    ({"u": uuid.UUID(int=1)}, "/u"),
    ({"c": [Color.RED]}, "/c/0"),
    ({"s": {1, 2}}, "/s"),
    ({"b": b"x"}, "/b"),
    (_cycle(), "/x/0/0"),
])
def test_fast_validation_never_accepts_invalid_values(value, pointer):
    assert not _plainly_valid(value, 256)
    with pytest.raises(InvalidStateError) as info:
        validate(value)
    assert info.value.pointer == pointer


@pytest.mark.parametrize("value", [
    collections.OrderedDict(b=1, a=2), {"k": Name.A}, {Name.A: 1}, _shared(), [True, 1, 1.0],
])
def test_values_the_fast_check_leaves_to_the_walk_stay_valid(value):
    validate(value)
    assert not _pure_refuses(value)


def test_depth_limit_still_applies():
    deep: list = []
    for _ in range(300):
        deep = [deep]
    assert not _plainly_valid(deep, 256)
    with pytest.raises(InvalidStateError):
        validate(deep)


invalid_leaves = st.sampled_from([(1,), float("nan"), float("-inf"), Color.RED, b"x", {1, 2}])


@settings(max_examples=200, deadline=None)
@given(values, st.data())
def test_fast_validation_agrees_with_the_walk_on_planted_faults(value, data):
    """Plant one invalid leaf (or a non-str key) anywhere: both paths refuse it."""
    bad = data.draw(invalid_leaves)
    use_key = data.draw(st.booleans())
    holder = {"v": value}
    node = holder
    while True:
        kids = [k for k, v in (node.items() if isinstance(node, dict) else enumerate(node))
                if isinstance(v, (dict, list))]
        if not kids or data.draw(st.booleans()):
            break
        node = node[data.draw(st.sampled_from(kids))]
    if isinstance(node, dict):
        if use_key:
            node[7] = "x"
        else:
            node["bad"] = bad
    else:
        node.append(bad)
    assert _pure_refuses(holder)
    assert not _plainly_valid(holder, 256)


def _parse_exactly(body: bytes, fast: bool, monkeypatch: pytest.MonkeyPatch):
    """(accepted, value) of parse_canonical with orjson's path on or off."""
    monkeypatch.setattr(canonical, "_ORJSON", fast)
    try:
        return True, canonical.parse_canonical(body)
    except ValueError:
        return False, None


# Bodies near the canonical form: other spacings, escapes, number spellings, duplicates, big numbers.
def _spellings(value) -> list[bytes]:
    import json

    text = canonical_str(value)
    out = [text, json.dumps(value), json.dumps(value, ensure_ascii=True, separators=(",", ":")),
           text.replace("1", "1.0", 1), text.replace("0", "-0", 1), text.replace("e+", "E", 1),
           text.replace("}", ',"a":1}', 1), text + " "]
    return [t.encode("utf-8", "surrogatepass") for t in out]


@settings(max_examples=300, deadline=None)
@given(values)
def test_parsing_through_orjson_accepts_and_refuses_exactly_as_the_pure_parser(value):
    with pytest.MonkeyPatch.context() as mp:
        for body in _spellings(value):
            fast, slow = _parse_exactly(body, True, mp), _parse_exactly(body, False, mp)
            assert fast[0] == slow[0], body
            if fast[0]:
                assert canonical.strict_equal(fast[1], slow[1])
                assert canonical_str(fast[1]).encode() == body


@pytest.mark.parametrize("body", [b"[18446744073709551616]", b"[-9223372036854775809]", b"[1e-07]",
                                  b"[1e400]", b'"\\ud800"', b"NaN", b'{"a":1,"a":2}', b'{"b":1,"a":2}',
                                  b"[1E+5]", b"[0.00001]", b"[1e-05]", b"[100000.0]", b"[1e+16]"])
def test_parsing_edges_agree(body, monkeypatch):
    assert _parse_exactly(body, True, monkeypatch) == _parse_exactly(body, False, monkeypatch)
