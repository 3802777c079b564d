"""How a state becomes files in a git tree, and back: the layout of an export.

A state that is a non-empty object is written one file per top-level key
(``agents.json``, ``team.json``). A *split pattern* (``/agents/*``) makes every container on
the way to the matched values a directory instead, so each matched value is its own file
(``agents/alice.json``). Files hold pretty, sorted-key JSON, so a pull request shows one
value per line and ``git blame`` names the commit of each line.

The rule that makes the tree readable back without the patterns: a pointer that the
patterns split is a directory exactly when its value is a non-empty object; anything else
(an array, a scalar, ``{}``) is one file. So reading needs only the tree. Names:

- a key becomes a name by percent-encoding every byte outside ``A-Za-z0-9_.-``, a leading
  ``.``, and ``%`` itself; the empty key is ``%``. Files add ``.json``; a directory whose
  name would end in ``.json`` has its last dot encoded, so a file and a directory never
  share a name;
- names starting with ``.`` are never keys: ``.statevcs-layout.json`` records the format
  and the patterns, ``.statevcs-state.json`` holds a whole state that is not an object,
  and other dot-files (``.gitattributes``) are left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import GitBridgeError, InvalidPointerError
from ..model.jsontext import dump_pretty
from ..model.pointer import format_pointer, parse_pointer

LAYOUT_FILE = ".statevcs-layout.json"
ROOT_FILE = ".statevcs-state.json"
FORMAT = "statevcs-git/1"
SUFFIX = ".json"
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


@dataclass(frozen=True)
class Layout:
    """The split patterns of an export (JSON Pointers where ``*`` matches one key)."""

    split: tuple[str, ...] = ()

    @staticmethod
    def make(patterns: list[str] | tuple[str, ...]) -> "Layout":
        """A layout from ``--split`` patterns, checked and in a stable (sorted, unique) order."""
        for pattern in patterns:
            try:
                tokens = parse_pointer(pattern)
            except InvalidPointerError as exc:
                raise GitBridgeError(f"--split {pattern!r} is not a JSON Pointer pattern: {exc}") from None
            if not tokens:
                raise GitBridgeError("--split '' would split nothing: name a path such as /agents/*")
        return Layout(tuple(sorted(set(patterns))))

    @property
    def _patterns(self) -> list[tuple[str, ...]]:
        return [parse_pointer(p) for p in self.split]

    def splits(self, tokens: tuple[str, ...]) -> bool:
        """Is the container at ``tokens`` written as a directory (when it is a non-empty object)?"""
        if not tokens:
            return True
        n = len(tokens)
        for pattern in self._pattern_cache():
            if len(pattern) > n and all(p == "*" or p == t for p, t in zip(pattern, tokens)):
                return True
        return False

    def _pattern_cache(self) -> list[tuple[str, ...]]:
        cached = _PATTERNS.get(self.split)
        if cached is None:
            cached = _PATTERNS[self.split] = self._patterns
        return cached

    def describe(self) -> bytes:
        """The content of ``.statevcs-layout.json``."""
        return dump_pretty({"format": FORMAT, "split": list(self.split)}).encode("utf-8")


_PATTERNS: dict[tuple[str, ...], list[tuple[str, ...]]] = {}


def read_layout(data: bytes) -> Layout:
    """The Layout a ``.statevcs-layout.json`` records; GitBridgeError for another format."""
    try:
        info = json.loads(data.decode("utf-8"))
        if info.get("format") != FORMAT or not all(isinstance(p, str) for p in info.get("split", [])):
            raise ValueError(f"format {info.get('format')!r}, expected {FORMAT!r}")
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise GitBridgeError(f"{LAYOUT_FILE} cannot be read: {exc}") from None
    return Layout.make(info.get("split", []))


def encode_key(key: str) -> str:
    """The name part for an object key (reversible, safe on every file system git checks)."""
    if key == "":
        return "%"
    out = []
    for i, ch in enumerate(key):
        if ch in _PLAIN and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def decode_key(name: str) -> str:
    """The key a name part stands for; GitBridgeError when it is not one this layout writes."""
    if name == "%":
        return ""
    raw = bytearray()
    i = 0
    try:
        while i < len(name):
            if name[i] == "%":
                raw.append(int(name[i + 1 : i + 3], 16))
                if len(name[i + 1 : i + 3]) != 2:
                    raise ValueError
                i += 3
            else:
                raw.extend(name[i].encode("utf-8"))
                i += 1
        return raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise GitBridgeError(f"{name!r} is not a name this layout writes (bad %-escape)") from None


def file_name(key: str) -> str:
    return encode_key(key) + SUFFIX


def dir_name(key: str) -> str:
    name = encode_key(key)
    if name.endswith(SUFFIX):
        name = name[: -len(SUFFIX)] + "%2E" + SUFFIX[1:]
    return name


def pretty_bytes(value: Any) -> bytes:
    """A value as its file holds it: sorted keys, two-space indent, a final newline."""
    return dump_pretty(value).encode("utf-8")


def files_of(state: Any, layout: Layout) -> dict[str, bytes]:
    """Every file (path -> bytes) of a state: a plain reference implementation of the layout,
    used by tests and the benchmark (the exporter builds git trees directly, with caches)."""
    out = {LAYOUT_FILE: layout.describe()}
    if not isinstance(state, dict):
        out[ROOT_FILE] = pretty_bytes(state)
        return out

    def walk(value: dict[str, Any], tokens: tuple[str, ...], prefix: str) -> None:
        for key, child in value.items():
            here = tokens + (key,)
            if isinstance(child, dict) and child and layout.splits(here):
                walk(child, here, prefix + dir_name(key) + "/")
            else:
                out[prefix + file_name(key)] = pretty_bytes(child)

    walk(state, (), "")
    return out


def pointer_of(path: str) -> str:
    """The JSON Pointer a file path stands for (``agents/alice.json`` -> ``/agents/alice``)."""
    parts = path.split("/")
    if parts[-1].endswith(SUFFIX):
        parts[-1] = parts[-1][: -len(SUFFIX)]
    return format_pointer([decode_key(p) for p in parts])
