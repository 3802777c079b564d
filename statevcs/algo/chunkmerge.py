"""Merging chunked containers through their chunk ids (used by treemerge.TreeMerger).

Objects: the key changes base->ours and base->theirs (model.chunks.diff.object_changes);
theirs' changes, merged with ours' where both changed a key, are applied to ours' chunks
(chunks.edit.object_update), so only the chunks around changed keys are read and written
(or, for changes to many of its keys, the container is built again from its entries). Arrays: the
windows where each side differs from the base (array_windows) are grouped where they
overlap or touch; a group changed on one side takes that side's items, a group changed
on both runs the ordinary diff3 merge on just those items, and the results are spliced
into ours' chunks. The result has the ids a write of the merged value from scratch gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model.chunks.diff import array_windows, object_changes
from ..model.chunks.edit import array_splices, object_update
from ..model.chunks.read import array_range
from ..model.chunks.views import ChunkedArray, ChunkedObject, chunk_params
from ..model.missing import MISSING
from ..model.objects import Ref
from ..model.pointer import format_pointer
from ..model.tree import write_child
from ..model.treegraft import settle_chunked
from .conflicts import ARRAY, Conflict
from .diff import same_or_missing

if TYPE_CHECKING:
    from .treemerge import TreeMerger


def place(merger: TreeMerger, value: Any) -> Any:
    """A merged value as a child for a chunk entry (Ref to its new node, or inline)."""
    placed, written = write_child(value)
    merger.objects.update(written)
    return placed


def merge_chunked_objects(merger: TreeMerger, vb: ChunkedObject, vo: ChunkedObject, vt: ChunkedObject, path: list,
                          conflicts: list[Conflict]) -> Any:
    """Theirs' key changes (merged with ours' where both changed a key) applied to ours' chunks."""
    ours = {c.key: c for c in object_changes(merger.source, vb.id, vo.id)}
    updates: dict[str, Any] = {}  # key -> merged child, or MISSING to remove it from ours
    for change in object_changes(merger.source, vb.id, vt.id):
        mine = ours.get(change.key)
        if mine is None:
            merged, present = change.new, change.old is not MISSING
        else:
            merged = merger._merge(change.old, mine.new, change.new, path + [change.key], conflicts)
            present = mine.new is not MISSING
            if same_or_missing(merged, mine.new):
                continue
        if merged is MISSING:
            if present:
                updates[change.key] = MISSING
        else:
            updates[change.key] = place(merger, merged)
    if not updates:
        return Ref(vo.id)
    root, chunks = object_update(merger.source, vo.id, updates, chunk_params())
    merger.objects.update(chunks)
    return Ref(root) if root == vo.id else settle_chunked(merger.source, root)

def merge_chunked_arrays(merger: TreeMerger, vb: ChunkedArray, vo: ChunkedArray, vt: ChunkedArray, path: list,
                         conflicts: list[Conflict]) -> Any:
    """diff3 inside each region where a side differs from the base; ours elsewhere."""
    source = merger.source
    windows = sorted([(w.a_start, w.a_start + len(w.a_items), 0, len(w.b_items) - len(w.a_items))
                      for w in array_windows(source, vb.id, vo.id)]
                     + [(w.a_start, w.a_start + len(w.a_items), 1, len(w.b_items) - len(w.a_items))
                        for w in array_windows(source, vb.id, vt.id)])
    groups: list[list] = []  # [base start, base end, ours delta, theirs delta, sides]
    for start, end, side, delta in windows:
        if groups and start <= groups[-1][1]:
            group = groups[-1]
            group[1] = max(group[1], end)
        else:
            group = [start, end, 0, 0, set()]
            groups.append(group)
        group[2 + side] += delta
        group[4].add(side)
    splices: list[tuple[int, int, list]] = []
    regions: list[tuple[int, int, int, int]] = []
    before = [0, 0]  # ours', theirs' length change before the current group
    shift = 0  # the merged array's length change before the current group
    for b0, b1, d_ours, d_theirs, sides in groups:
        o0, t0 = b0 + before[0], b0 + before[1]
        o1, t1 = b1 + before[0] + d_ours, b1 + before[1] + d_theirs
        before[0] += d_ours
        before[1] += d_theirs
        if sides == {0}:
            continue
        if sides == {1}:
            merged = array_range(source, vt.id, t0, t1)
        else:
            found: list[tuple[int, int, int, int]] = []
            merged = merger._merge_arrays(array_range(source, vb.id, b0, b1), array_range(source, vo.id, o0, o1),
                                        array_range(source, vt.id, t0, t1), path, conflicts,
                                        at=o0 + shift, offsets=(o0, t0), regions_out=found)
            regions += found
        splices.append((o0, o1, merged))
        shift += len(merged) - (o1 - o0)
    if regions:
        conflicts.append(Conflict(format_pointer(path), merger._plain(Ref(vb.id)), merger._plain(Ref(vo.id)),
                                  merger._plain(Ref(vt.id)), ARRAY, tuple(regions)))
    if not splices:
        return Ref(vo.id)
    root, chunks = array_splices(source, vo.id, [(o0, o1 - o0, [place(merger, x) for x in merged])
                                                 for o0, o1, merged in splices], chunk_params())
    merger.objects.update(chunks)
    return Ref(root) if root == vo.id else settle_chunked(source, root)

