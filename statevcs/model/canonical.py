"""Validation of JSON input and the one canonical byte encoding of a JSON value.

Canonical form: UTF-8 JSON with object keys sorted by code point, no insignificant
whitespace, integers in decimal, floats as Python's shortest round-trip ``repr``.
Types are part of the value: ``true``, ``1`` and ``1.0`` are three different values
with three different encodings, so Python's ``True == 1 == 1.0`` never leaks into
ids, diffs or merges. Object ids are blake3 (256-bit, hex) of ``kind + b" " + bytes``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import blake3

from ..errors import InvalidStateError

#: Deepest nesting of containers accepted in a state (root container = depth 1).
MAX_DEPTH = 256

JSONValue = Any  # dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None

_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, check_circular=False
)
_decoder = json.JSONDecoder()


def escape_token(token: str) -> str:
    """Escape one reference token for an RFC 6901 pointer."""
    return token.replace("~", "~0").replace("/", "~1")


def validate(value: JSONValue) -> None:
    """Refuse anything that is not plain JSON, naming the offending JSON Pointer.

    Accepts dict (str keys), list, str, int, float, bool and None, and their subclasses
    (``str`` enums, ``OrderedDict``); refuses NaN and infinities, non-str keys, tuples,
    bytes, sets, datetimes and every other type, cycles, and nesting past ``MAX_DEPTH``.
    """
    # Iterative walk: deep or wide states must not hit Python's recursion limit.
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    on_path: dict[int, int] = {}  # id(container) -> depth, for cycle detection
    while stack:
        item, pointer, depth = stack.pop()
        if depth < 0:  # marker: leaving a container
            on_path.pop(-depth - 1, None)
            continue
        t = type(item)
        if item is None or t is str or t is bool or t is int:
            continue
        if t is float:
            if math.isnan(item) or math.isinf(item):
                raise InvalidStateError(f"{item!r} is not a JSON number", pointer)
            continue
        if t is dict or t is list or isinstance(item, (dict, list)):
            if depth + 1 > MAX_DEPTH:
                raise InvalidStateError(f"nesting deeper than {MAX_DEPTH} levels", pointer)
            ident = id(item)
            if ident in on_path:
                raise InvalidStateError("cycle: a container contains itself", pointer)
            on_path[ident] = depth
            stack.append((None, "", -ident - 1))
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidStateError(
                            f"object key {key!r} is a {type(key).__name__}, JSON keys must be str",
                            pointer,
                        )
                    stack.append((child, pointer + "/" + escape_token(key), depth + 1))
            else:
                for index, child in enumerate(item):
                    stack.append((child, f"{pointer}/{index}", depth + 1))
            continue
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            continue  # str/int subclasses (enums) encode as their plain value
        if isinstance(item, float):
            if math.isnan(item) or math.isinf(item):
                raise InvalidStateError(f"{item!r} is not a JSON number", pointer)
            continue
        hint = " (use a list)" if isinstance(item, (tuple, set, frozenset)) else ""
        raise InvalidStateError(f"{type(item).__name__} is not JSON{hint}", pointer)


def canonical_str(value: JSONValue) -> str:
    """Canonical JSON text of an already validated value."""
    return _encoder.encode(value)


def canonical_bytes(value: JSONValue) -> bytes:
    """Canonical UTF-8 bytes of an already validated value."""
    return _encoder.encode(value).encode("utf-8")


def loads(data: bytes | str) -> JSONValue:
    """Parse JSON text exactly (big integers stay integers, floats stay floats)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return _decoder.decode(data)


def hash_object(raw: bytes) -> bytes:
    """The 32-byte id of an encoded object (its kind tag included in ``raw``)."""
    return blake3.blake3(raw).digest()


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
