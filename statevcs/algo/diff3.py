"""Three-way alignment of token sequences (element identities of arrays), as diff3 aligns lines.

``diff3`` splits base, ours and theirs into stable runs and changed regions;
``combine_region`` keeps both sides' work in one overlapping region (the union policy
and the BOTH resolution). Pure functions over lists of hashable tokens.
"""

from __future__ import annotations

from .align import align


def diff3(base: list, ours: list, theirs: list) -> list[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]]]:
    """Split three token sequences into stable runs (equal on all three) and changed regions.

    Returns ``(kind, (b0, b1), (o0, o1), (t0, t1))`` with kind "stable" or "changed",
    as in the diff3 algorithm of Khanna, Kunal and Pierce.
    """
    mo = _matches(base, ours)
    mt = _matches(base, theirs)
    out = []
    b = o = t = 0
    nb = len(base)
    while True:
        # The next base index that both sides kept, at or after the current positions.
        k = b
        while k < nb and not (k in mo and k in mt and mo[k] >= o and mt[k] >= t):
            k += 1
        if k == nb:
            if b < nb or o < len(ours) or t < len(theirs):
                out.append(("changed", (b, nb), (o, len(ours)), (t, len(theirs))))
            return out
        if k > b or mo[k] > o or mt[k] > t:
            out.append(("changed", (b, k), (o, mo[k]), (t, mt[k])))
        # A stable run: consecutive base indices kept at consecutive positions on both sides.
        b0, o0, t0 = k, mo[k], mt[k]
        end = k
        while end < nb and end in mo and end in mt and mo[end] == o0 + (end - k) and mt[end] == t0 + (end - k):
            end += 1
        out.append(("stable", (b0, end), (o0, o0 + end - k), (t0, t0 + end - k)))
        b, o, t = end, o0 + end - k, t0 + end - k


def _matches(a: list, b: list) -> dict[int, int]:
    """Index in ``a`` -> index in ``b`` of elements aligned as equal."""
    out: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in align(a, b):
        if tag == "equal":
            for d in range(i2 - i1):
                out[i1 + d] = j1 + d
    return out


def combine_region(base: list, ours: list, theirs: list, dedupe: bool) -> list[tuple[int, int]]:
    """Keep both sides' work in one overlapping region of an array, as ``(side, index)`` picks
    (side 0 is ours, 1 theirs; indices within the region's token lists).

    Ours' items come first, in order, then theirs' new ones. An edit is a removal plus an
    add: a base item the other side removed is dropped (an edit's new version takes its
    place: the n-th of a run of base items theirs replaced pairs with the n-th new item),
    and base items never come back from theirs. With ``dedupe`` (the union policy)
    an item already kept is not added twice.
    """
    base_tokens, theirs_tokens = set(base), set(theirs)
    ours_base = {j1 + d: i1 + d for tag, i1, i2, j1, j2 in align(base, ours) if tag == "equal"
                 for d in range(i2 - i1)}
    replaced_by: dict[int, int] = {}  # base index -> the theirs index that edited it (pairwise)
    for tag, i1, i2, j1, j2 in align(base, theirs):
        if tag == "replace":
            for d in range(min(i2 - i1, j2 - j1)):
                replaced_by[i1 + d] = j1 + d
    out: list[tuple[int, int]] = []
    kept: set[str] = set()
    taken: set[int] = set()

    def take_theirs(j: int) -> None:
        if j in taken or theirs[j] in base_tokens:
            return
        taken.add(j)
        if dedupe and theirs[j] in kept:
            return
        kept.add(theirs[j])
        out.append((1, j))

    for k, token in enumerate(ours):
        if token in base_tokens and token not in theirs_tokens:  # theirs removed or edited it
            j = replaced_by.get(ours_base.get(k, -1))
            if j is not None:  # the edit's new version goes where the old one was
                take_theirs(j)
            continue
        kept.add(token)
        out.append((0, k))
    for j in range(len(theirs)):
        take_theirs(j)
    return out


__all__ = ["diff3", "combine_region"]
