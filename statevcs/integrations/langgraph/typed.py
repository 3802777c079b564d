"""Python values that are not JSON, as readable JSON with a small type tag.

A tagged value is an object whose ``$lg`` key names the type and whose other keys hold
the value as JSON (``{"$lg": "datetime", "v": "2024-05-01T12:00:00+00:00"}``); values
inside (a tuple's items, a model's fields) are encoded the same way, recursively, by the
``enc``/``dec`` functions the codec passes in. Every form loads back as the same type
with the same value:

==============  ==================================================================
tag             value
==============  ==================================================================
``tuple``       ``v``: the items
``set``         ``v``: the items, sorted by their canonical JSON (``frozenset`` too)
``bytes``       ``v``: the text when the bytes are UTF-8, else ``b64`` (``bytearray`` too)
``datetime``    ``v``: ISO 8601; ``tz``: a ``zoneinfo`` key; ``tzname``; ``fold``
``date``,       ``v``: ISO 8601 (``time`` with a fixed-offset zone or none)
``time``
``timedelta``   ``v``: [days, seconds, microseconds]
``uuid``        ``v``: the canonical text
``decimal``     ``v``: ``str(d)`` (exact: digits, exponent, sign, NaN)
``float``       ``v``: ``"nan"``, ``"inf"`` or ``"-inf"``
``dict``        ``v``: an object whose keys would read as a tag; ``items``: [key, value]
                pairs of a dict with keys that are not text
``enum``        ``class``, ``v``: the member's value
``pydantic``    ``class``, ``v``: fields and extras; ``set``: fields set, when not all;
                ``private``: private attributes (``pydantic.v1`` for v1 models)
``dataclass``   ``class``, ``v``: the fields (rebuilt without running ``__init__``)
``namedtuple``  ``class``, ``v``: the fields
``send``        ``node``, ``arg`` (and ``timeout``): a LangGraph ``Send``
``snapshot``    ``v``: a LangGraph ``_DeltaSnapshot``'s value
==============  ==================================================================

``class`` is ``module:qualified.name``. Loading one imports that module, so it is
allowed exactly as LangGraph's own serializer allows it: the types LangGraph lists as
safe always, others per the serializer's ``allowed_msgpack_modules`` (all of them by
default, none beyond the safe list with ``LANGGRAPH_STRICT_MSGPACK=true``); a class that
is not allowed loads as its plain JSON payload, as LangGraph does. Anything else has no
faithful JSON form here and stays an opaque leaf made by LangGraph's serializer.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import math
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from ...errors import CorruptObjectError
from ...model.canonical import canonical_str

TAG = "$lg"
Enc = Callable[[Any], Any]
Dec = Callable[[Any], Any]
#: Returned by ``encode_typed`` for a value with no readable form.
OPAQUE = object()

#: class -> its ``module:qualname`` when that name loads back to it, else None.
_CLASS_REFS: dict[type, str | None] = {}


def class_ref(cls: type) -> str | None:
    """``module:qualname`` of a class that importing that name gives back, else None."""
    if cls in _CLASS_REFS:
        return _CLASS_REFS[cls]
    ref: str | None = f"{cls.__module__}:{cls.__qualname__}"
    if "<locals>" in cls.__qualname__ or _lookup(ref) is not cls:  # type: ignore[arg-type]
        ref = None
    _CLASS_REFS[cls] = ref
    return ref


def _lookup(ref: str) -> Any:
    module, _, qualname = ref.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return found


def _allowed(ref: str, serde: Any) -> bool:
    """Whether LangGraph's serializer ``serde`` would construct this class on load."""
    module, _, qualname = ref.partition(":")
    from langgraph.checkpoint.serde._msgpack import SAFE_MSGPACK_TYPES

    if (module, qualname) in SAFE_MSGPACK_TYPES:
        return True
    allowed = getattr(serde, "_allowed_msgpack_modules", None)
    return allowed is True or (isinstance(allowed, (set, frozenset)) and (module, qualname) in allowed)


def _resolve(form: dict[str, Any], serde: Any) -> Any:
    """The class a form names, or None when the serializer does not allow it."""
    ref = form.get("class")
    if type(ref) is not str or ":" not in ref:
        raise CorruptObjectError(f"a stored {form.get(TAG)!r} value names no class ({ref!r})")
    if not _allowed(ref, serde):
        return None
    cls = _lookup(ref)
    if cls is None:
        raise CorruptObjectError(f"a stored value names the class {ref}, which cannot be imported here")
    return cls


# ---------------------------------------------------------------- encoding
def encode_typed(value: Any, enc: Enc) -> Any:
    """The tagged form of ``value``, or OPAQUE when it has none (see the module docstring)."""
    t = type(value)
    simple = _SIMPLE.get(t)
    if simple is not None:
        return simple(value, enc)
    if isinstance(value, Enum):
        ref = class_ref(t)
        return OPAQUE if ref is None else {TAG: "enum", "class": ref, "v": enc(value.value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _namedtuple(value, enc)
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return _pydantic(value, enc)
    v1 = sys.modules.get("pydantic.v1")
    if v1 is not None and isinstance(value, v1.BaseModel):
        return _pydantic_v1(value, enc)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dataclass(value, enc)
    send = _send_class()
    if send is not None and t is send:
        form = {TAG: "send", "node": enc(value.node), "arg": enc(value.arg)}
        if getattr(value, "timeout", None) is not None:
            form["timeout"] = enc(value.timeout)
        return form
    return OPAQUE


def _send_class() -> Any:
    types = sys.modules.get("langgraph.types")
    return getattr(types, "Send", None) if types is not None else None


def _items(value: Any, enc: Enc) -> list[Any]:
    return [enc(v) for v in value]


def _set_items(value: Any, enc: Enc) -> list[Any]:
    return sorted((enc(v) for v in value), key=canonical_str)


def _bytes(tag: str) -> Callable[[Any, Enc], Any]:
    def form(value: Any, enc: Enc) -> dict[str, Any]:
        try:
            return {TAG: tag, "v": bytes(value).decode("utf-8")}
        except UnicodeDecodeError:
            return {TAG: tag, "b64": base64.b64encode(value).decode("ascii")}

    return form


def _datetime(value: datetime, enc: Enc) -> Any:
    tz = value.tzinfo
    if tz is None or type(tz) is timezone:
        form = {TAG: "datetime", "v": value.isoformat()}
        if tz is not None and tz.tzname(None) != timezone(tz.utcoffset(None)).tzname(None):  # type: ignore[arg-type]
            form["tzname"] = tz.tzname(None)
    elif type(tz).__name__ == "ZoneInfo" and type(tz).__module__ == "zoneinfo" and getattr(tz, "key", None):
        form = {TAG: "datetime", "v": value.replace(tzinfo=None).isoformat(), "tz": tz.key}  # type: ignore[attr-defined]
    else:
        return OPAQUE
    if value.fold:
        form["fold"] = 1
    return form


def _time(value: time, enc: Enc) -> Any:
    tz = value.tzinfo
    if tz is not None and (type(tz) is not timezone
                           or tz.tzname(None) != timezone(tz.utcoffset(None)).tzname(None)):  # type: ignore[arg-type]
        return OPAQUE
    form = {TAG: "time", "v": value.isoformat()}
    if value.fold:
        form["fold"] = 1
    return form


def _float(value: float, enc: Enc) -> Any:
    return {TAG: "float", "v": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


_SIMPLE: dict[type, Callable[[Any, Enc], Any]] = {
    tuple: lambda v, enc: {TAG: "tuple", "v": _items(v, enc)},
    set: lambda v, enc: {TAG: "set", "v": _set_items(v, enc)},
    frozenset: lambda v, enc: {TAG: "frozenset", "v": _set_items(v, enc)},
    bytes: _bytes("bytes"),
    bytearray: _bytes("bytearray"),
    datetime: _datetime,
    date: lambda v, enc: {TAG: "date", "v": v.isoformat()},
    time: _time,
    timedelta: lambda v, enc: {TAG: "timedelta", "v": [v.days, v.seconds, v.microseconds]},
    uuid.UUID: lambda v, enc: {TAG: "uuid", "v": str(v)},
    Decimal: lambda v, enc: {TAG: "decimal", "v": str(v)},
    float: _float,
}


def _namedtuple(value: Any, enc: Enc) -> Any:
    if type(value).__name__ == "_DeltaSnapshot" and type(value).__module__ == "langgraph.checkpoint.serde.types":
        return {TAG: "snapshot", "v": enc(value.value)}
    ref = class_ref(type(value))
    if ref is None:
        return OPAQUE
    return {TAG: "namedtuple", "class": ref, "v": {f: enc(getattr(value, f)) for f in value._fields}}


def _pydantic(value: Any, enc: Enc) -> Any:
    ref = class_ref(type(value))
    if ref is None:
        return OPAQUE
    fields = dict(value.__dict__)
    extra = value.__pydantic_extra__
    if extra:
        fields.update(extra)
    form: dict[str, Any] = {TAG: "pydantic", "class": ref, "v": {k: enc(v) for k, v in fields.items()}}
    if value.__pydantic_fields_set__ != fields.keys():
        form["set"] = sorted(value.__pydantic_fields_set__)
    private = value.__pydantic_private__
    if private:
        form["private"] = {k: enc(v) for k, v in private.items()}
    return form


def _pydantic_v1(value: Any, enc: Enc) -> Any:
    ref = class_ref(type(value))
    if ref is None:
        return OPAQUE
    fields = dict(value.__dict__)
    form: dict[str, Any] = {TAG: "pydantic.v1", "class": ref, "v": {k: enc(v) for k, v in fields.items()}}
    if value.__fields_set__ != fields.keys():
        form["set"] = sorted(value.__fields_set__)
    return form


def _dataclass(value: Any, enc: Enc) -> Any:
    ref = class_ref(type(value))
    if ref is None:
        return OPAQUE
    names = [f.name for f in dataclasses.fields(value)]
    own = getattr(value, "__dict__", None)
    if own is not None and not own.keys() <= set(names):
        return OPAQUE  # attributes beyond the fields: not rebuilt faithfully from them
    try:
        fields = {n: getattr(value, n) for n in names}
    except AttributeError:  # a field never assigned
        return OPAQUE
    return {TAG: "dataclass", "class": ref, "v": {n: enc(v) for n, v in fields.items()}}


# ---------------------------------------------------------------- decoding
def decode_typed(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    """The value a tagged form holds (``form[TAG]`` is its tag)."""
    tag = form[TAG]
    try:
        load = _LOADERS[tag]
    except (KeyError, TypeError):
        raise CorruptObjectError(f"a stored value has the unknown type tag {tag!r} (a newer statevcs?)") from None
    try:
        return load(form, dec, serde)
    except CorruptObjectError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise CorruptObjectError(f"a stored {tag!r} value does not load: {type(exc).__name__}: {exc}") from None


def _load_bytes(kind: type) -> Callable[[dict[str, Any], Dec, Any], Any]:
    def load(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
        data = form["v"].encode("utf-8") if "v" in form else base64.b64decode(form["b64"], validate=True)
        return kind(data)

    return load


def _load_datetime(form: dict[str, Any], dec: Dec, serde: Any) -> datetime:
    value = datetime.fromisoformat(form["v"])
    if "tz" in form:
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(form["tz"]))
    if "tzname" in form:
        value = value.replace(tzinfo=timezone(value.utcoffset(), form["tzname"]))  # type: ignore[arg-type]
    return value.replace(fold=1) if form.get("fold") else value


def _load_time(form: dict[str, Any], dec: Dec, serde: Any) -> time:
    value = time.fromisoformat(form["v"])
    return value.replace(fold=1) if form.get("fold") else value


def _load_float(form: dict[str, Any], dec: Dec, serde: Any) -> float:
    text = form["v"]
    if text not in ("nan", "inf", "-inf"):
        raise ValueError(f"{text!r} is not nan, inf or -inf")
    return float(text)


def _load_dict(form: dict[str, Any], dec: Dec, serde: Any) -> dict[Any, Any]:
    if "items" in form:
        return {dec(k): dec(v) for k, v in form["items"]}
    return {k: dec(v) for k, v in form["v"].items()}


def _load_enum(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    cls = _resolve(form, serde)
    value = dec(form["v"])
    return value if cls is None else cls(value)


def _fields(form: dict[str, Any], dec: Dec) -> dict[str, Any]:
    return {k: dec(v) for k, v in form["v"].items()}


def _load_pydantic(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    cls = _resolve(form, serde)
    fields = _fields(form, dec)
    if cls is None:
        return fields
    model = cls.model_construct(_fields_set=set(form["set"]) if "set" in form else None, **fields)
    if "private" in form:
        object.__setattr__(model, "__pydantic_private__", {k: dec(v) for k, v in form["private"].items()})
    return model


def _load_pydantic_v1(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    cls = _resolve(form, serde)
    fields = _fields(form, dec)
    if cls is None:
        return fields
    return cls.construct(_fields_set=set(form["set"]) if "set" in form else None, **fields)


def _load_dataclass(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    cls = _resolve(form, serde)
    fields = _fields(form, dec)
    if cls is None:
        return fields
    if not dataclasses.is_dataclass(cls):
        raise CorruptObjectError(f"a stored dataclass value names {form['class']}, which is not a dataclass")
    obj = cls.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj


def _load_namedtuple(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    cls = _resolve(form, serde)
    fields = _fields(form, dec)
    if cls is None:
        return fields
    return cls._make(fields[f] for f in cls._fields)


def _load_send(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    from langgraph.types import Send

    if "timeout" in form:
        return Send(dec(form["node"]), dec(form["arg"]), timeout=dec(form["timeout"]))
    return Send(dec(form["node"]), dec(form["arg"]))


def _load_snapshot(form: dict[str, Any], dec: Dec, serde: Any) -> Any:
    from langgraph.checkpoint.serde.types import _DeltaSnapshot

    return _DeltaSnapshot(dec(form["v"]))


_LOADERS: dict[str, Callable[[dict[str, Any], Dec, Any], Any]] = {
    "tuple": lambda f, dec, s: tuple(dec(v) for v in f["v"]),
    "set": lambda f, dec, s: {dec(v) for v in f["v"]},
    "frozenset": lambda f, dec, s: frozenset(dec(v) for v in f["v"]),
    "bytes": _load_bytes(bytes),
    "bytearray": _load_bytes(bytearray),
    "datetime": _load_datetime,
    "date": lambda f, dec, s: date.fromisoformat(f["v"]),
    "time": _load_time,
    "timedelta": lambda f, dec, s: timedelta(*f["v"]),
    "uuid": lambda f, dec, s: uuid.UUID(f["v"]),
    "decimal": lambda f, dec, s: Decimal(f["v"]),
    "float": _load_float,
    "dict": _load_dict,
    "enum": _load_enum,
    "pydantic": _load_pydantic,
    "pydantic.v1": _load_pydantic_v1,
    "dataclass": _load_dataclass,
    "namedtuple": _load_namedtuple,
    "send": _load_send,
    "snapshot": _load_snapshot,
}
