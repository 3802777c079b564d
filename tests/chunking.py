"""Chunk parameters for tests: small enough that the small values hypothesis draws are
written as trees of several chunk levels (content-defined at every level: an interior
entry weighs 64, so its SPAN must stay above it for boundaries to depend on content)."""

from __future__ import annotations

from statevcs.model.chunks.build import ChunkParams

# Interior entries weigh 64 (+ a key): two to four children per interior node. A leaf entry
# that is a node id weighs 96, not its 64 characters, so the ref weight rule is exercised.
SMALL_CHUNKS = ChunkParams(min_weight=32, span=128, max_weight=512,
                           interior_min=64, interior_span=128, interior_max=512, ref_weight=96)


# ---------------------------------------------------------------- related values (hypothesis)

from hypothesis import strategies as st  # noqa: E402

from .strategies import json_values, scalars  # noqa: E402

_items = st.one_of(scalars, st.text(min_size=5, max_size=40), json_values)


@st.composite
def edited(draw, value, max_edits: int = 6):
    """``value`` (a dict of a list "l" and a dict "m") after a few random edits."""
    out = {"l": list(value["l"]), "m": dict(value["m"])}
    for _ in range(draw(st.integers(1, max_edits))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "set", "pop", "nested"]))
        items, mapping = out["l"], out["m"]
        if kind == "insert":
            items.insert(draw(st.integers(0, len(items))), draw(_items))
        elif kind == "delete" and items:
            i = draw(st.integers(0, len(items) - 1))
            del items[i: i + draw(st.integers(1, 5))]
        elif kind == "replace" and items:
            items[draw(st.integers(0, len(items) - 1))] = draw(_items)
        elif kind == "set":
            mapping[draw(st.text(max_size=4))] = draw(_items)
        elif kind == "pop" and mapping:
            mapping.pop(draw(st.sampled_from(sorted(mapping))))
        elif kind == "nested" and mapping:
            key = draw(st.sampled_from(sorted(mapping)))
            mapping[key] = {"inner": mapping[key], "n": draw(_items)}
    return out


big_pairs = st.fixed_dictionaries({
    "l": st.lists(_items, min_size=20, max_size=80),
    "m": st.dictionaries(st.text(max_size=4), _items, min_size=20, max_size=60),
})
