"""RFC 6901 JSON Pointers: parsing, formatting and lookup in plain JSON values."""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import InvalidPointerError, PathNotFoundError
from .canonical import escape_token


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split a pointer into unescaped reference tokens; ``""`` is the whole document."""
    if not isinstance(pointer, str):
        raise InvalidPointerError(f"JSON Pointer must be a string, not {type(pointer).__name__}")
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise InvalidPointerError(f"invalid JSON Pointer {pointer!r}: must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    out = []
    for token in tokens:
        i = token.find("~")
        while i != -1:
            if i + 1 >= len(token) or token[i + 1] not in "01":
                raise InvalidPointerError(f"invalid JSON Pointer {pointer!r}: '~' must be followed by 0 or 1")
            i = token.find("~", i + 2)
        out.append(token.replace("~1", "/").replace("~0", "~"))
    return tuple(out)


def format_pointer(tokens: Sequence[str | int]) -> str:
    """Join reference tokens (str keys or int indices) into a pointer."""
    return "".join("/" + escape_token(str(t)) for t in tokens)


def array_index(token: str, length: int, pointer: str) -> int:
    """Resolve an array reference token to an existing index, or raise PathNotFoundError."""
    if not token.isdigit() or (len(token) > 1 and token[0] == "0") or not token.isascii():
        raise PathNotFoundError(f"{pointer}: {token!r} is not an array index")
    index = int(token)
    if index >= length:
        raise PathNotFoundError(f"{pointer}: index {index} is past the end of an array of {length}")
    return index


def resolve(value: Any, pointer: str | Sequence[str]) -> Any:
    """The part of ``value`` the pointer names; PathNotFoundError if it names nothing."""
    tokens = parse_pointer(pointer) if isinstance(pointer, str) else tuple(pointer)
    text = pointer if isinstance(pointer, str) else format_pointer(tokens)
    current = value
    for depth, token in enumerate(tokens):
        if isinstance(current, dict):
            if token not in current:
                raise PathNotFoundError(f"{text}: no key {token!r} at {format_pointer(tokens[:depth]) or '/'}")
            current = current[token]
        elif isinstance(current, list):
            current = current[array_index(token, len(current), text)]
        else:
            raise PathNotFoundError(f"{text}: {format_pointer(tokens[:depth]) or 'the root'} is not a container")
    return current
