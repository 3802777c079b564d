"""Validation of JSON input and the one canonical byte encoding of a JSON value.

Canonical form: UTF-8 JSON with object keys sorted by code point, no insignificant
whitespace, integers in decimal, floats as Python's shortest round-trip ``repr``.
Types are part of the value: ``true``, ``1`` and ``1.0`` are three different values
with three different encodings, so Python's ``True == 1 == 1.0`` never leaks into
ids, diffs or merges. Object ids are blake3 (256-bit, hex) of ``kind + b" " + bytes``.
"""

from __future__ import annotations

import gc
import json
import math
import re
import sys
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from ..errors import InvalidStateError
from ..limits import DEFAULT_MAX_DEPTH, max_depth

#: Default deepest nesting of containers in a state (root container = depth 1);
#: ``$STATEVCS_MAX_DEPTH`` changes it (statevcs.limits, docs/security.md).
MAX_DEPTH = DEFAULT_MAX_DEPTH

JSONValue = Any  # dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None

_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, check_circular=False
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# NaN and Infinity are not JSON: Python's parser accepts them unless told otherwise.
_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def escape_token(token: str) -> str:
    """Escape one reference token for an RFC 6901 pointer."""
    return token.replace("~", "~0").replace("/", "~1")


class _Invalid(Exception):
    """Raised inside the walk; collects the path on the way out, so pointers cost nothing
    unless something is wrong."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.tokens: list[str] = []


def validate(value: JSONValue) -> None:
    """Refuse anything that is not plain JSON, naming the offending JSON Pointer.

    Accepts dict (str keys), list, str, int, float, bool and None, and their subclasses
    (``str`` enums, ``OrderedDict``); refuses NaN and infinities, non-str keys, tuples,
    bytes, sets, datetimes and every other type, cycles, and nesting past ``MAX_DEPTH``.

    A value of exact plain types is accepted by C-speed passes (``_plainly_valid``); any
    doubt runs the walk below, which names the pointer of what is wrong.
    """
    limit = max_depth()
    if _plainly_valid(value, limit):
        return
    try:
        _check(value, 0, set(), limit)
    except _Invalid as exc:
        pointer = "".join("/" + escape_token(t) for t in reversed(exc.tokens))
        raise InvalidStateError(exc.message, pointer) from None


_PLAIN = frozenset((str, int, bool, type(None)))  # scalars that need no further look


def _check(item: Any, depth: int, active: set[int], limit: int) -> None:
    t = type(item)
    if t in _PLAIN:
        return
    if t is float:
        if not math.isfinite(item):
            raise _Invalid(f"{item!r} is not a JSON number")
        return
    if t is dict or t is list or isinstance(item, (dict, list)):
        if depth >= limit:
            raise _Invalid(f"nesting deeper than {limit} levels")
        ident = id(item)
        if ident in active:
            raise _Invalid("cycle: a container contains itself")
        is_dict = isinstance(item, dict)
        values = item.values() if is_dict else item
        if is_dict and not set(map(type, item)) <= _STR:
            for key in item:
                if not isinstance(key, str):
                    raise _Invalid(f"object key {key!r} is a {type(key).__name__}, JSON keys must be str")
        # The common case, a container of plain scalars, is settled by one C-speed pass.
        if set(map(type, values)) <= _PLAIN:
            return
        active.add(ident)
        for key, child in (item.items() if is_dict else enumerate(item)):
            if type(child) in _PLAIN:
                continue
            try:
                _check(child, depth + 1, active, limit)
            except _Invalid as exc:
                exc.tokens.append(key if is_dict else str(key))
                raise
        active.discard(ident)
        return
    if isinstance(item, (str, int)):
        return  # str/int subclasses (enums) encode as their plain value
    if isinstance(item, float):
        if not math.isfinite(item):
            raise _Invalid(f"{item!r} is not a JSON number")
        return
    hint = " (use a list)" if isinstance(item, (tuple, set, frozenset)) else ""
    raise _Invalid(f"{type(item).__name__} is not JSON{hint}")


_STR = frozenset((str,))
_PLAIN_SCALARS = frozenset((str, int, float, bool, type(None)))
_EXACT_JSON = frozenset((dict, list, str, int, float, bool, type(None)))
_CONTAINERS = frozenset((dict, list))
_MAX_FLOAT = sys.float_info.max


def _referents_count_keys() -> bool:
    """Whether gc.get_referents shows the keys of a dict with a non-str key and only the
    values of a dict of str keys (CPython's dict traversal): the key check below needs it."""
    return len(gc.get_referents({1: None})) == 2 and len(gc.get_referents({"a": None})) == 1


def _plainly_valid(value: JSONValue, limit: int) -> bool:
    """True only if ``value`` is valid JSON made of exact dict/list/str/int/float/bool/None
    nesting at most ``limit`` deep; False means "not shown", never "invalid".

    Level by level, gc.get_referents lists the children of every container at C speed: every
    child must be of an exact JSON type and every float finite; a dict whose keys are not
    all exact str shows its keys too, so the children's count exceeds the containers'
    lengths; a container twice in one level (a cycle, or shared) is left to the walk."""
    if not _FAST_CHECKS:
        return False
    t = type(value)
    if t not in _CONTAINERS:
        return t in _EXACT_JSON and (t is not float or -_MAX_FLOAT <= value <= _MAX_FLOAT)
    level = [value]
    get_referents = gc.get_referents
    for _ in range(limit):
        if len(set(map(id, level))) != len(level):
            return False
        children = get_referents(*level)
        if len(children) != sum(map(len, level)):
            return False
        types = set(map(type, children))
        if not types <= _EXACT_JSON:
            return False
        if float in types and any(type(x) is float and not -_MAX_FLOAT <= x <= _MAX_FLOAT for x in children):
            return False
        if dict not in types and list not in types:
            return True
        level = [x for x in children if type(x) is dict or type(x) is list]
    return False  # deeper than the limit: the walk says where


_FAST_CHECKS = _referents_count_keys()


def _refuse(o: Any) -> Any:
    raise TypeError(f"{type(o).__name__} is not JSON")


# json.JSONEncoder builds its C encoder anew on every call; build ours once (same settings).
_c_encode = (
    c_make_encoder(None, _refuse, encode_basestring, None, ":", ",", True, False, False)
    if c_make_encoder is not None
    else None
)


def canonical_str(value: JSONValue) -> str:
    """Canonical JSON text of an already validated value."""
    if _c_encode is not None:
        return "".join(_c_encode(value, 0))
    return _encoder.encode(value)


#: Where orjson may spell a float otherwise than the canonical form: a negative exponent
#: (``1e-7``, ``7.03e-5``) or a float below 1e-4 written out (``0.00001``).
_FLOAT_RISK = re.compile(r"[0-9]e-|0\.0000")
_NUMBER_CHARS = frozenset("0123456789.-")


def _may_misspell_floats(text: str) -> bool:
    """Whether orjson's text may spell a float otherwise than the canonical form: a risky
    spelling in a number token. In the compact text both encoders write, a number starts
    the text or follows ``:``, ``,`` or ``[``; the same letters inside a string (``"v2e-3"``,
    an id such as ``"...4a3e-..."``) rarely do, and where they do the exact path runs,
    which is only slower."""
    if "e-" not in text and "0.0000" not in text:
        return False
    for match in _FLOAT_RISK.finditer(text):
        start = match.start()
        while start > 0 and text[start - 1] in _NUMBER_CHARS:
            start -= 1
        if start == 0 or text[start - 1] in ":,[":
            return True
    return False


def fast_canonical_str(value: JSONValue) -> str:
    """``canonical_str`` of a validated value, through orjson where its text is the same.

    orjson writes sorted keys, strings and integers exactly as the canonical form does (an
    integer past 64 bits makes it raise: then the json encoder runs) and floats as Python's
    shortest ``repr`` except below 1e-4 (``1e-7`` for ``1e-07``, ``0.00001`` for ``1e-05``):
    any output holding a number with a negative exponent or ``0.0000`` is encoded again by
    the json encoder (``_may_misspell_floats``); text such as ``"v2e-3"`` or an id with
    ``4e-`` in it is not. ``_orjson_agrees`` checks these claims once per process against
    the installed orjson; tests/test_canonical_fast.py checks them on generated values."""
    if _ORJSON or (_ORJSON is None and _load_orjson()):
        try:
            out = _orjson_dumps(value, default=_refuse, option=_ORJSON_OPTIONS)
        except TypeError:  # a Ref (caller's concern), a big integer, a lone surrogate
            return canonical_str(value)
        text = out.decode()  # before the guard: str searches are cheaper than bytes'
        if not _may_misspell_floats(text):
            return text
    return canonical_str(value)


def _orjson_agrees(orjson: Any) -> bool:
    """Whether the installed orjson spells every probe as canonical_str does (or as the
    fast path's guard catches): otherwise fast_canonical_str never uses it."""
    probes: list[Any] = [
        0.0, -0.0, 0.1, 1.5, -2.5, 1e-4, 1.5e-4, 1e-5, 7.03e-05, 1e-7, 1e-10, 5e-324, 123456789.123,
        1e15, 1e16, 1e17, 1e21, 1e22, 1.5e300, 1.7976931348623157e308, 2.0**63, 9007199254740993.0,
        0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, True, False, None, "", "/", "\u2028\u2029",
        "\"\\\b\f\n\r\t", "".join(map(chr, range(0x20))), "".join(map(chr, range(0x7F, 0xA1))),
        "\u00e9\uffff\U0001f600", "one-shot", "large-2026-10", "v2e-3", "run-4a3e-9", ["0.00001"],
        {"\uffff": 1, "\U00010000": 2, "a": [], "": {}, "b": {"d": 1, "c": 2}},
    ]
    for probe in probes:
        out = orjson.dumps(probe, option=orjson.OPT_SORT_KEYS)
        if _may_misspell_floats(out.decode()):  # the fast paths' guard sends these to the exact path
            continue
        if out != canonical_str(probe).encode("utf-8"):
            return False
    return True


#: Whether fast_canonical_str and parse_canonical use orjson; None until their first call,
#: which loads and checks it (what needs no object bytes, such as git's merge driver,
#: never pays for loading it).
_ORJSON: bool | None = None


def _load_orjson() -> bool:
    global _ORJSON, _orjson_dumps, _orjson_loads, _ORJSON_OPTIONS
    try:  # a C-speed encoder, used only where its bytes are proved equal to the canonical form
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; stay correct without it
        _ORJSON = False
        return False
    _orjson_dumps, _orjson_loads = orjson.dumps, orjson.loads
    _ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
    _ORJSON = _orjson_agrees(orjson)
    return _ORJSON


def canonical_bytes(value: JSONValue) -> bytes:
    """Canonical UTF-8 bytes of an already validated value.

    A string with a lone surrogate has no UTF-8 encoding: InvalidStateError names where it is."""
    try:
        return canonical_str(value).encode("utf-8")
    except UnicodeEncodeError:
        raise surrogate_error(value) from None


def surrogate_error(value: JSONValue) -> InvalidStateError:
    """The error for a value holding a lone surrogate, naming the first one's pointer."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return InvalidStateError("string holds a lone surrogate (not Unicode text)", _pointer(path))
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _has_surrogate(key):
                    return InvalidStateError(f"key {key.encode('utf-8', 'backslashreplace').decode()!r} holds a "
                                             "lone surrogate (not Unicode text)", _pointer(path))
                stack.append((child, path + (key,)))
        elif isinstance(item, list):
            stack.extend((child, path + (str(i),)) for i, child in enumerate(item))
    return InvalidStateError("text holds a lone surrogate (not Unicode text)")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _pointer(tokens: tuple[str, ...]) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def loads(data: bytes | str) -> JSONValue:
    """Parse JSON text exactly (big integers stay integers, floats stay floats).

    Raises ValueError for anything that is not JSON, NaN and Infinity included, and for
    nesting too deep to parse (never RecursionError)."""
    try:
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return _decoder.decode(data)
    except RecursionError:
        raise ValueError("nesting too deep to parse") from None


def parse_canonical(body: bytes) -> JSONValue:
    """Parse bytes that must be the canonical encoding of their value; ValueError if not.

    This is what the format allows and nothing else: NaN, Infinity, lone surrogates,
    duplicate or unsorted keys, whitespace and other spellings of a number are refused,
    so a value read from an object always re-encodes to the very bytes it came from.

    orjson parses and re-encodes first where its text provably equals the canonical form
    (see fast_canonical_str); anything it does not reproduce byte for byte (a big integer
    it reads as a float, a float the guard doubts, a malformed body) takes the exact path."""
    return parse_canonical_noting(body)[0]


def parse_canonical_noting(body: bytes) -> tuple[JSONValue, bool]:
    """``parse_canonical``, and whether orjson's parse of these bytes was exact (its text
    re-encoded to them): then ``parse_known`` may parse the same bytes again unchecked."""
    if _ORJSON or (_ORJSON is None and _load_orjson()):
        try:
            fast = _orjson_loads(body)
            again_fast = _orjson_dumps(fast, option=_ORJSON_OPTIONS)
        except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
            pass
        else:
            if again_fast == body and ((b"e-" not in body and b"0.0000" not in body)
                                       or not _may_misspell_floats(body.decode())):
                return fast, True
    return _parse_exactly(body), False


def parse_known(body: bytes) -> JSONValue:
    """Fresh values of bytes ``parse_canonical_noting`` accepted with an exact orjson parse
    before (the same bytes: an object's, under its checked id). No check is repeated."""
    return _orjson_loads(body)


def _parse_exactly(body: bytes) -> JSONValue:
    """The exact parser, then the check that the value re-encodes to ``body``."""
    value = loads(body)
    try:
        again = canonical_str(value).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("it holds a lone surrogate (not Unicode text)") from None
    except (ValueError, RecursionError) as exc:  # a float too large for JSON (1e400 parses as inf)
        raise ValueError(f"it holds a value JSON cannot carry: {exc}") from None
    if again != body:
        raise ValueError("it is not in canonical form (duplicate or unsorted keys, whitespace, "
                         "escapes or another spelling of a number)")
    return value


def nesting(value: JSONValue) -> int:
    """How deeply containers nest in ``value`` (a scalar 0, ``[]`` 1, ``[[1]]`` 2)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
        if set(map(type, children)) <= _PLAIN_SCALARS:
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def hash_object(raw: bytes) -> bytes:
    """The 32-byte id of an encoded object (its kind tag included in ``raw``)."""
    return _blake3(raw).digest()


def _first_blake3(raw: bytes) -> Any:
    """blake3 loaded on the first hash (merging or diffing plain values hashes nothing)."""
    global _blake3
    from blake3 import blake3

    _blake3 = blake3
    return blake3(raw)


_blake3 = _first_blake3


def strict_equal(a: JSONValue, b: JSONValue) -> bool:
    """JSON equality where ``True != 1`` and ``1 != 1.0`` (types are part of the value)."""
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if ta is not tb:
        # Allow subclasses of the same JSON kind (OrderedDict vs dict, StrEnum vs str).
        if _kind(a) != _kind(b):
            return False
    if isinstance(a, dict):
        if len(a) != len(b) or a.keys() != b.keys():
            return False
        return all(strict_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return type(v).__name__


def json_kind(v: Any) -> str:
    """The JSON kind name of a value: null, bool, int, float, str, object or array."""
    return _kind(v)
