"""Hypothesis strategies for JSON values (types matter: true, 1 and 1.0 are all different)."""

from __future__ import annotations

from hypothesis import strategies as st

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([0, 1, True, False, 0.0, 1.0, -0.0, "", "0", "true"]),
)
keys = st.one_of(st.text(max_size=6), st.sampled_from(["a", "b", "c", "~", "/", "a/b", "~1", ""]))

json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=30,
)

# Values big enough that some containers become their own nodes (> INLINE_LIMIT).
big_text = st.text(min_size=100, max_size=300)
big_values = st.recursive(
    st.one_of(scalars, big_text),
    lambda children: st.one_of(
        st.lists(children, max_size=8),
        st.dictionaries(keys, children, max_size=8),
    ),
    max_leaves=40,
)


