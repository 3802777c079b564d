"""Alignment of two token sequences (element identities of arrays), as diff aligns lines.

Shared by the two-way diff (algo.diff) and the three-way alignment (algo.diff3); kept on
its own so the merge of plain values loads neither the tree diff nor the stores.
"""

from __future__ import annotations

from difflib import SequenceMatcher


def align(tokens_a: list[str], tokens_b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Opcodes (tag, i1, i2, j1, j2) aligning two token sequences, deterministically."""
    lo = 0
    n = min(len(tokens_a), len(tokens_b))
    while lo < n and tokens_a[lo] == tokens_b[lo]:
        lo += 1
    hi = 0
    while hi < n - lo and tokens_a[-1 - hi] == tokens_b[-1 - hi]:
        hi += 1
    ops: list[tuple[str, int, int, int, int]] = []
    if lo:
        ops.append(("equal", 0, lo, 0, lo))
    mid_a = tokens_a[lo : len(tokens_a) - hi]
    mid_b = tokens_b[lo : len(tokens_b) - hi]
    if mid_a or mid_b:
        matcher = SequenceMatcher(None, mid_a, mid_b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            ops.append((tag, i1 + lo, i2 + lo, j1 + lo, j2 + lo))
    if hi:
        ops.append(("equal", len(tokens_a) - hi, len(tokens_a), len(tokens_b) - hi, len(tokens_b)))
    return ops
