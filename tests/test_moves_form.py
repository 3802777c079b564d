"""The stored form of a pack's reflog entries (store/sqlite/moves.py): any moves round-trip
through either form, the leads the history reads match on agree between the forms, and a
damaged form is reported, never read as other moves."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statevcs.errors import CorruptObjectError
from statevcs.store.sqlite.moves import SAME_PACK, both_leads, dump_moves, first_ref, lead_of, load_moves, text_lead
from statevcs.store.stored import pack

_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
_values = st.one_of(st.none(), _ids, _ids.map(str.upper), st.text(max_size=70),
                    st.sampled_from(["ref: refs/heads/main", "0" * 63, "g" * 64]))
_names = st.text(min_size=1, max_size=30).filter(lambda s: "\0" not in s)
_moves = st.lists(st.tuples(_names, _values, _values, st.text(max_size=20), st.text(max_size=40),
                            st.one_of(st.none(), st.just(SAME_PACK), st.integers(0, 2**40))).map(list),
                  min_size=1, max_size=8)


def _with_followers(moves: list[list]) -> list[list]:
    """Every other move followed by HEAD repeating it (the compact ``[ref, prev]`` entries)."""
    out = []
    for i, m in enumerate(moves):
        out.append(m)
        if i % 2 == 0:
            out.append(["HEAD", *m[1:5], SAME_PACK])
    return out


@given(_moves)
def test_any_moves_round_trip_through_the_stored_form(moves):
    moves = _with_followers(moves)
    stored = dump_moves(moves)
    assert isinstance(stored, bytes)
    assert load_moves(stored) == moves
    text = orjson.dumps(moves).decode()  # the form of schema 4 and earlier, still read
    assert load_moves(text) == moves


@given(_moves)
def test_the_leads_of_both_forms_name_the_first_ref(moves):
    stored = dump_moves(moves)
    lead = first_ref(stored)
    assert lead == lead_of(moves[0][0]) and stored.startswith(lead)
    text = orjson.dumps(moves).decode()
    assert text.startswith(text_lead(lead)) and first_ref(text) == text_lead(lead)
    assert both_leads(lead) == both_leads(first_ref(text)) == (lead, text_lead(lead))  # either form's lead


def test_the_form_is_smaller_than_its_text():
    commit = "c3bf42046ef037ae7cec017db63c45e23fcfa9d1735d4e0e5de5e66563700a1f"
    parent = "06ff0fb2108fa0ecc754d167cafb8dba84d326e0359ba4e78c94b49162475e47"
    moves = [["refs/heads/main", parent, commit, "bench <b@example.com>", "commit: turn 499", 500],
             ["HEAD", parent, commit, "bench <b@example.com>", "commit: turn 499", SAME_PACK]]
    stored = dump_moves(moves)
    assert commit.encode() not in stored  # compressed
    assert len(stored) < 0.85 * len(orjson.dumps(moves))


def test_a_first_ref_holding_nul_is_written_as_text():
    moves = [["refs/heads/a\0b", None, "1" * 64, "me", "why", None]]
    stored = dump_moves(moves)
    assert isinstance(stored, str) and load_moves(stored) == moves


def _form(text: bytes, lead: bytes = b"refs/heads/main\0") -> bytes:
    return lead + pack(text)


@pytest.mark.parametrize("stored", [
    b"refs/heads/main\0",                                              # no stored form
    b"refs/heads/main\0\x07abc",                                       # an unknown flag
    b"refs/heads/main\0\x01not a frame",                               # zstd that is not
    b"no lead at all",                                                 # no NUL
    _form(b'[["refs/heads/main",null,null,"me"]]'),                    # an entry of the wrong length
    _form(b'[["HEAD",3]]'),                                            # a repeat of nothing
    _form(b'[3]'),                                                     # an entry that is no list
    _form(b'{"refs/heads/main":1}'),                                   # not a list
    _form(b'[["refs/heads/main",null'),                                # cut JSON
    "[[\"refs/heads/main\",null,",                                     # cut text
], ids=lambda s: repr(s)[:40])
def test_a_damaged_form_is_reported(stored):
    with pytest.raises(CorruptObjectError, match="reflog entry of the store (is|has|does)"):
        load_moves(stored)
