"""JSON text as files and command lines hold it: parsed strictly (NaN, Infinity and duplicate
keys refused, errors with line and column), written for people (sorted keys, two-space
indent). Light on purpose: git's diff driver (``statevcs git textconv``) runs it once per
file and must start fast.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import WorkingStateError
from .canonical import surrogate_error, validate

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {json.dumps(key, ensure_ascii=True)}")
            seen.add(key)
    return out


def parse_json_text(text: str, source: str) -> Any:
    """Parse JSON strictly; WorkingStateError naming ``source`` and the position on failure.

    Duplicate keys are an error (JSON parsers disagree on which one wins, so a state with
    them means something different to different readers)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as exc:
        raise WorkingStateError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise WorkingStateError(f"{source} is not valid JSON: {exc}") from None
    validate(value)
    if _SURROGATE_ESCAPE.search(text):  # rare: only then look for a lone one (a pair is one character)
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            error = surrogate_error(value)
            raise WorkingStateError(f"{source} is not valid JSON text: {error}") from None
    return value


def dump_pretty(value: Any) -> str:
    """How statevcs writes a state for people: sorted keys, two-space indent."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
