"""What a three-way merge reports: conflicts as data, and the sides that settle them.

Kept apart from merge.py so that every part of the merge engine (merge.py, chunkmerge.py)
and its callers can name these values without importing the engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

#: How a merge settles what still overlaps: report it, take theirs (the source), take ours (the target).
STRATEGIES = ("merge", "source_wins", "target_wins")

#: Conflict kinds.
MODIFY_MODIFY, DELETE_MODIFY, ADD_ADD, TYPE, ARRAY = "modify/modify", "delete/modify", "add/add", "type", "array"


class Side(Enum):
    """A side that settles a conflict, usable as a resolution value (``resolutions={ptr: OURS}``).

    OURS / THEIRS / BASE pick that side's value; for an ``array`` conflict they apply to the
    overlapping regions only, so every clean change from both sides stays. BOTH (array
    conflicts only) keeps, in each overlapping region, ours' items then theirs' new ones.
    A plain JSON value means "use this value"; MISSING deletes.
    """

    OURS = "ours"
    THEIRS = "theirs"
    BASE = "base"
    BOTH = "both"

    def __repr__(self) -> str:
        return self.name


OURS, THEIRS, BASE, BOTH = Side.OURS, Side.THEIRS, Side.BASE, Side.BOTH


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the value at ``path`` differently; a missing side is MISSING.

    ``kind`` is modify/modify, delete/modify, add/add, type (an object, array or scalar
    against a different kind), or array (overlapping edits in a region of an array, with
    the regions in ``ranges`` as ``(ours_start, ours_end, theirs_start, theirs_end)``).
    """

    path: str
    base: Any
    ours: Any
    theirs: Any
    kind: str = MODIFY_MODIFY
    ranges: tuple[tuple[int, int, int, int], ...] = ()
