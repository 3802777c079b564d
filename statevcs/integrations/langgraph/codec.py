"""Channel values <-> readable JSON, so statevcs can diff, merge and log them.

JSON stays JSON (exact types only: a ``str`` enum or a tuple is not JSON here); messages
from langchain_core become their LangChain JSON form (``{"lc": 1, "type":
"constructor", ...}``) and load back as the same message classes; the other values
LangGraph users keep (tuples, sets, bytes, datetimes, UUIDs, Decimals, enums, Pydantic
models, dataclasses, ...) become readable JSON with a small type tag (``{"$lg":
"datetime", "v": "..."}``, see typed.py) that loads back as the same type. Only a value
with no faithful JSON form (or any non-JSON value, with a serializer other than
LangGraph's ``JsonPlusSerializer``) becomes one opaque leaf ``{"$lg": {"type": T,
"data": BASE64}}`` made by the saver's serializer. A dict whose keys are not all text,
or which has a key a tagged form or a LangChain form starts with, is stored tagged too,
so decoding is exact.
"""

from __future__ import annotations

import base64
import math
import operator
import threading
import warnings
from itertools import chain
from typing import Any

from langchain_core.load import dumpd, load
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from .typed import OPAQUE, TAG, decode_typed, encode_typed

_MARKERS = (TAG, "lc")


def encode_value(value: Any, serde: SerializerProtocol) -> Any:
    """``value`` as plain JSON (see the module docstring)."""
    t = type(value)
    if value is None or t is bool or t is int:
        return value
    if t is str:
        return value if _is_text(value) else tagged(value, serde)
    if t is list:
        return [encode_value(v, serde) for v in value]
    if t is dict:
        if all(type(k) is str for k in value) and all(_is_text(k) for k in value):
            inner = {k: encode_value(v, serde) for k, v in value.items()}
            return {TAG: "dict", "v": inner} if any(m in value for m in _MARKERS) else inner
        if not _readable(serde):
            return tagged(value, serde)
        return {TAG: "dict", "items": [[encode_value(k, serde), encode_value(v, serde)] for k, v in value.items()]}
    if t is float and math.isfinite(value):
        return value
    if isinstance(value, BaseMessage):
        form = _message_form(value)
        if form is not None:
            return form
    if _readable(serde):
        form = encode_typed(value, lambda v: encode_value(v, serde))
        if form is not OPAQUE:
            return form
    return tagged(value, serde)


def _readable(serde: SerializerProtocol) -> bool:
    """Whether non-JSON values get readable forms: with LangGraph's own serializer, whose
    rules for loading classes those forms follow; a custom one keeps its own encoding."""
    return isinstance(serde, JsonPlusSerializer)


def decode_value(value: Any, serde: SerializerProtocol) -> Any:
    """Inverse of ``encode_value``."""
    t = type(value)
    if t is list:
        return [decode_value(v, serde) for v in value]
    if t is dict:
        tag = value.get(TAG)
        if tag is not None:
            if type(tag) is dict and len(value) == 1:
                return serde.loads_typed((tag["type"], base64.b64decode(tag["data"])))
            return decode_typed(value, lambda v: decode_value(v, serde), serde)
        if value.get("lc") == 1 and value.get("type") == "constructor":
            return _load_message(value)
        return {k: decode_value(v, serde) for k, v in value.items()}
    return value


def _load_message(form: dict[str, Any]) -> Any:
    """A message class from its LangChain JSON form, allowing message classes only.

    A form whose kwargs hold no nested LangChain form (nothing for ``load`` to revive
    inside) goes straight to LangChain's reviver, which is what ``load`` ends with: the
    same classes and checks, without ``load``'s per-call set-up and beta warning."""
    reviver = _reviver()
    if reviver is not None and not _has_forms(kwargs := form.get("kwargs", {})):
        key = tuple(form["id"]) if type(form.get("id")) is list else None
        cls = _CLASSES.get(key)
        if cls is None:  # the reviver checks and imports it; later forms of it skip to the class
            message = reviver(form)
            if isinstance(message, BaseMessage) and key is not None:
                _CLASSES[key] = type(message)
            return message
        if reviver.init_validator is not None:
            reviver.init_validator(key, kwargs)
        return cls(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load() is marked beta
        try:
            return load(form, allowed_objects="messages")
        except TypeError:  # langchain-core before allowed_objects: messages are in its default mapping
            return load(form)


_REVIVER: list[Any] = []
#: Class path of a message form -> its class, as the reviver resolved and allowed it.
_CLASSES: dict[tuple[str, ...], type] = {}


def _reviver() -> Any:
    """LangChain's reviver allowing message classes only, made once; None if this
    langchain-core has none taking ``allowed_objects`` (then ``load`` is used)."""
    if not _REVIVER:
        try:
            from langchain_core.load.load import Reviver

            _REVIVER.append(Reviver(allowed_objects="messages"))
        except (ImportError, TypeError):
            _REVIVER.append(None)
    return _REVIVER[0]


def _has_forms(value: Any) -> bool:
    """Whether ``value`` holds a dict ``load`` would treat specially (an ``lc`` form or an
    escaped dict): then only ``load`` itself decodes it exactly."""
    t = type(value)
    if t is dict:
        if "lc" in value or "__lc_escaped__" in value:
            return True
        values: Any = value.values()
    elif t is list:
        values = value
    else:
        return False
    for v in values:
        if (type(v) is dict or type(v) is list) and _has_forms(v):
            return True
    return False


def tagged(value: Any, serde: SerializerProtocol) -> dict[str, Any]:
    """One opaque leaf made by LangGraph's serializer."""
    type_, data = serde.dumps_typed(value)
    return {TAG: {"type": type_, "data": base64.b64encode(data).decode("ascii")}}


def encode_channels(values: dict[str, Any], serde: SerializerProtocol) -> dict[str, Any]:
    """Channel name -> encoded value: the state a checkpoint commit records.

    Channel names are keys as they are; a name that is not text (never made by
    LangGraph) would be refused by the store."""
    return {k: encode_value(v, serde) for k, v in values.items()}


def decode_channels(state: Any, serde: SerializerProtocol) -> dict[str, Any]:
    if not isinstance(state, dict):
        return {}
    return {k: decode_value(v, serde) for k, v in state.items()}


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def message_fields(message: BaseMessage) -> tuple[Any, ...]:
    """A message's field values (then its extra fields' names and values): the same
    objects in the same order show the message unchanged, unless one of them was mutated
    in place (LangGraph state is replaced, not mutated)."""
    extra = message.__pydantic_extra__
    fields = tuple(message.__dict__.values())
    return fields + tuple(chain.from_iterable(extra.items())) if extra else fields


class _RecentForms(threading.local):
    """The JSON forms of the messages this thread encoded last, by identity: a new message
    is encoded for its task's pending write, then for the checkpoint that appends it and
    that commit's message line. A form is reused while the message is the same object with
    the same field values (``message_fields``); forms are never mutated by their users."""

    SIZE = 64

    def __init__(self) -> None:
        self.forms: dict[int, tuple[BaseMessage, tuple[Any, ...], dict[str, Any]]] = {}


_recent = _RecentForms()


def _message_form(message: BaseMessage) -> dict[str, Any] | None:
    forms = _recent.forms
    fields = message_fields(message)
    hit = forms.get(id(message))
    if hit is not None and hit[0] is message and len(hit[1]) == len(fields) and all(map(operator.is_, hit[1], fields)):
        return hit[2]
    form = _message_json(message)
    if form is not None:
        if len(forms) >= _RecentForms.SIZE:
            del forms[next(iter(forms))]
        forms[id(message)] = (message, fields, form)
    return form


def _message_json(message: BaseMessage) -> dict[str, Any] | None:
    """LangChain's JSON form of a message, or None when it would not load back as the same."""
    try:
        form = dumpd(message)
    except Exception:  # noqa: BLE001 - a message holding something LangChain cannot serialize
        return None
    if not _plain_json(form):
        return None
    return form


def _plain_json(value: Any) -> bool:
    """Exact JSON types all the way down, and nothing LangChain marks as not serializable."""
    t = type(value)
    if value is None or t in (bool, int):
        return True
    if t is str:
        return _is_text(value)
    if t is float:
        return math.isfinite(value)
    if t is list:
        return all(_plain_json(v) for v in value)
    if t is dict:
        if value.get("lc") == 1 and value.get("type") == "not_implemented":
            return False
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False
