"""git's diff driver for state files (``diff.statevcs.textconv``): git runs it once per file
version it shows, so it loads only the JSON text helpers."""

from __future__ import annotations

from ..errors import WorkingStateError
from ..model.jsontext import dump_pretty, parse_json_text


def textconv(path: str) -> bytes:
    """A state file as git should diff it: canonical pretty JSON (sorted keys, two-space indent).
    A file that is not JSON (a merge in progress, a typo) is shown as it is, so ``git diff`` still works."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return dump_pretty(parse_json_text(data.decode("utf-8"), path)).encode("utf-8")
    except (UnicodeDecodeError, WorkingStateError, ValueError):
        return data
