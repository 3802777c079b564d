"""A merge waiting for conflict resolution: saved in ``.statevcs/MERGE_STATE.json``.

While it exists, the working file holds the merged state with every unresolved
conflict written in place as ``{"$conflict": {"kind": ..., "base": ..., "ours": ...,
"theirs": ...}}`` (a side that is missing is left out). Resolving means replacing that
object with a value (``statevcs resolve`` does it for you); ``merge --continue``
commits once no marker is left.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

from ...algo.conflicts import Conflict
from ...errors import DamagedMergeStateError, MergeInProgressError
from ...model.canonical import escape_token
from ...model.missing import MISSING
from .working_file import write_file_atomically

STATE_FILE = "MERGE_STATE.json"
MARKER = "$conflict"


@dataclass
class MergeState:
    """What ``merge --continue`` needs: who merges into what, and the conflicts."""

    source: str
    source_label: str
    target_ref: str
    target_head: str
    strategy: str
    paths: list[str] | None
    bases: list[str]
    message: str
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    operation: str = "merge"  # "merge" | "revert" | "cherry-pick"
    author: str | None = None  # kept by cherry-pick

    @staticmethod
    def conflict_json(c: Conflict) -> dict[str, Any]:
        out: dict[str, Any] = {"path": c.path, "kind": c.kind}
        for side in ("base", "ours", "theirs"):
            value = getattr(c, side)
            if value is not MISSING:
                out[side] = value
        if c.ranges:
            out["ranges"] = [list(r) for r in c.ranges]
        return out

    @staticmethod
    def conflict_from_json(data: dict[str, Any]) -> Conflict:
        """The Conflict a saved entry describes (a side left out is MISSING)."""
        return Conflict(data["path"], data.get("base", MISSING), data.get("ours", MISSING),
                        data.get("theirs", MISSING), data["kind"],
                        tuple(tuple(r) for r in data.get("ranges", ())))  # type: ignore[misc]

    def save(self, meta_dir: str) -> None:
        write_file_atomically(os.path.join(meta_dir, STATE_FILE),
                              json.dumps({"version": 1, **self.__dict__}, indent=2, ensure_ascii=False))

    @staticmethod
    def load(meta_dir: str) -> "MergeState | None":
        path = os.path.join(meta_dir, STATE_FILE)
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            data.pop("version", None)
            state = MergeState(**data)
            if not (isinstance(state.target_head, str) and isinstance(state.target_ref, str)
                    and isinstance(state.conflicts, list) and all(isinstance(c, dict) and isinstance(c.get("path"), str)
                                                                  for c in state.conflicts)
                    and state.operation in ("merge", "revert", "cherry-pick")):
                raise ValueError("fields of the wrong type")
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise DamagedMergeStateError(
                f"{path} is damaged ({exc}); 'statevcs merge --abort' gives up the merge and reloads HEAD's state"
            ) from None
        return state

    @staticmethod
    def remove(meta_dir: str) -> None:
        path = os.path.join(meta_dir, STATE_FILE)
        if os.path.exists(path):
            os.unlink(path)


def marker(conflict: dict[str, Any]) -> dict[str, Any]:
    """The in-file form of one conflict."""
    inner = {k: v for k, v in conflict.items() if k != "path"}
    return {MARKER: inner}


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and MARKER in value and isinstance(value[MARKER], dict)


def find_markers(value: Any, prefix: str = "") -> Iterator[str]:
    """Pointers of every conflict marker left in a state."""
    if is_marker(value):
        yield prefix
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from find_markers(v, prefix + "/" + escape_token(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from find_markers(v, f"{prefix}/{i}")


def refuse_during_merge(meta_dir: str | None, action: str) -> None:
    """Commands that would move HEAD or the branch wait until a merge in progress is finished."""
    if meta_dir and os.path.exists(os.path.join(meta_dir, STATE_FILE)):
        raise MergeInProgressError(
            f"a merge is in progress: resolve the conflicts and run 'statevcs merge --continue' "
            f"(or 'statevcs merge --abort') before {action}"
        )
