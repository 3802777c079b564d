"""An ASCII drawing of the commit graph beside ``log``, in the spirit of ``git log --graph``.

Each column is a lane waiting for a commit; ``*`` marks the commit on its lane, ``|`` a lane
passing by, ``\\`` a merge opening a lane for its other parents and ``/`` lanes closing
into one. Pure: it only needs each commit's id and parents, children before parents.
"""

from __future__ import annotations

from typing import Iterator, Sequence


def _row(width: int, marks: dict[int, str]) -> str:
    cells = [" "] * max(width, 1)
    for pos, ch in marks.items():
        if 0 <= pos < len(cells):
            cells[pos] = ch
    return "".join(cells).rstrip()


def graph_rows(commits: Sequence[tuple[str, Sequence[str]]]) -> Iterator[tuple[str, int | None]]:
    """``(drawing, i)`` rows: ``i`` is the index of the commit drawn on that row, None for a
    connecting row. Parents that are not among ``commits`` are left out (their lanes end)."""
    shown = {cid for cid, _ in commits}
    lanes: list[str] = []
    for k, (cid, all_parents) in enumerate(commits):
        parents = list(dict.fromkeys(p for p in all_parents if p in shown))
        if cid not in lanes:
            lanes.append(cid)
        idx = lanes.index(cid)
        others = [i for i, lane in enumerate(lanes) if lane == cid and i != idx]
        if others:  # several lanes waited for this commit: close them into one
            marks, shift = {}, 0
            for i in range(len(lanes)):
                if i in others:
                    shift += 1
                    marks[2 * i - 1] = "/"
                elif shift:
                    marks[2 * i - 1] = "/"
                else:
                    marks[2 * i] = "|"
            yield _row(2 * len(lanes) - 1, marks), None
            lanes = [lane for i, lane in enumerate(lanes) if i not in others]
        yield _row(2 * len(lanes) - 1, {2 * i: "*" if i == idx else "|" for i in range(len(lanes))}), k
        if not parents:  # a root (or its parents are hidden): its lane ends
            lanes.pop(idx)
            if idx < len(lanes):
                marks = {2 * i: "|" for i in range(idx)}
                marks.update({2 * i + 1: "/" for i in range(idx, len(lanes))})
                yield _row(2 * len(lanes) + 1, marks), None
            continue
        lanes[idx] = parents[0]
        extra = [p for p in parents[1:] if p not in lanes]
        if extra:  # a merge: open lanes for its other parents to the right
            marks = {2 * i: "|" for i in range(idx + 1)}
            marks[2 * idx + 1] = "\\"
            marks.update({2 * i + 1: "\\" for i in range(idx + 1, len(lanes))})
            yield _row(2 * (len(lanes) + len(extra)) - 1, marks), None
            lanes[idx + 1 : idx + 1] = extra


__all__ = ["graph_rows"]
