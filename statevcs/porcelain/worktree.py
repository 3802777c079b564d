"""The working state file: the JSON a person or script edits between commits.

Reads are strict JSON (NaN and Infinity refused) with line/column in errors; writes
go to a temporary file that replaces the old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from ..errors import InvalidPointerError, PathNotFoundError, WorkingStateError
from ..model.canonical import validate
from ..model.pointer import array_index, parse_pointer
from ..model.tree import write_tree


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_text(text: str, source: str) -> Any:
    """Parse JSON strictly; WorkingStateError naming ``source`` and the position on failure."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise WorkingStateError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise WorkingStateError(f"{source} is not valid JSON: {exc}") from None
    validate(value)
    return value


def dump_pretty(value: Any) -> str:
    """How statevcs writes a state for people: sorted keys, two-space indent."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


class WorkingFile:
    """The working state file of a repository with a working directory."""

    def __init__(self, path: str) -> None:
        self.path = path

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def read(self) -> Any:
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise WorkingStateError(f"working state file {self.path} does not exist") from None
        except UnicodeDecodeError:
            raise WorkingStateError(f"{self.path} is not UTF-8 text") from None
        return parse_json_text(text, os.path.basename(self.path))

    def write(self, value: Any) -> None:
        directory = os.path.dirname(self.path) or "."
        fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(dump_pretty(value))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def root(self) -> tuple[str, dict[str, bytes]]:
        """The tree id of the working state and its node objects."""
        return write_tree(self.read())


def set_at(document: Any, pointer: str, value: Any) -> Any:
    """``document`` with ``value`` placed at ``pointer`` (RFC 6902 ``add`` semantics for new keys;
    an existing array index is replaced, ``-`` or the length appends). Returns the new document."""
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(document, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        if last == "-" or last == str(len(parent)):
            parent.append(value)
        else:
            parent[array_index(last, len(parent), pointer)] = value
    return document


def unset_at(document: Any, pointer: str) -> Any:
    """``document`` without the value at ``pointer``."""
    tokens = parse_pointer(pointer)
    if not tokens:
        raise InvalidPointerError("cannot unset the whole state; set it to a value instead")
    parent = _parent(document, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PathNotFoundError(f"{pointer}: no such key")
        del parent[last]
    else:
        del parent[array_index(last, len(parent), pointer)]
    return document


def _parent(document: Any, tokens: tuple[str, ...], pointer: str) -> Any:
    from ..model.pointer import resolve

    parent = resolve(document, tokens[:-1])
    if not isinstance(parent, (dict, list)):
        raise PathNotFoundError(f"{pointer}: the parent is a {type(parent).__name__}, not an object or array")
    return parent
