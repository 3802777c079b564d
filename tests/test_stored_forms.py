"""Stored forms (store/stored.py): the built-in zstd dictionary compresses objects that a
frame alone compresses badly, the forms older statevcs wrote still read, a damaged
dictionary or an unknown form is reported, and a bomb made with the dictionary is refused."""

from __future__ import annotations

import json
import threading

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from statevcs import Repository
from statevcs.errors import CorruptObjectError, LimitExceededError
from statevcs.store import stored
from statevcs.store.stored import pack, unpack, unpack_verified

from .conftest import ROOT


def _objects_of_a_real_repository() -> list[bytes]:
    repo = Repository.memory()
    state = json.loads((ROOT / "fixtures" / "workflow_run.json").read_text())
    repo.commit(state, message="a workflow run")
    state["note"] = "edited"
    repo.commit(state, message="an edit")
    objects = [repo.store.get(oid) for oid in sorted(repo.store.iter_ids())]
    repo.close()
    return objects


def _in_a_new_thread(fn):
    """Run ``fn`` where the per-thread codecs are made afresh; its result or its exception."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except Exception as exc:  # handed back to the test
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=3000),
                 st.text(max_size=2000).map(lambda s: ('obj1 {"i":{"k":' + json.dumps(s) + '}}').encode())))
def test_every_object_reads_back_from_its_stored_form(raw):
    form = pack(raw)
    assert form[0] in (0, 2)
    assert unpack(form, "object") == raw


def test_the_dictionary_makes_real_objects_smaller_than_zstd_alone():
    objects = _objects_of_a_real_repository()
    plain = zstandard.ZstdCompressor(level=3)
    with_dictionary = [pack(o) for o in objects]
    alone = [min(len(o), len(plain.compress(o))) + 1 for o in objects]
    assert sum(f[0] == 2 for f in with_dictionary) >= len(objects) // 2
    assert sum(map(len, with_dictionary)) < 0.85 * sum(alone)
    assert [unpack(f, "o") for f in with_dictionary] == objects


def test_forms_written_before_the_dictionary_still_read():
    for raw in _objects_of_a_real_repository():
        old = bytes((1,)) + zstandard.ZstdCompressor(level=3).compress(raw)
        assert unpack(old, "object") == raw
        assert unpack(bytes((0,)) + raw, "object") == raw


def test_an_unknown_form_or_a_frame_that_is_not_the_dictionarys_is_corrupt():
    raw = _objects_of_a_real_repository()[0]
    with pytest.raises(CorruptObjectError, match="unknown storage flag 3"):
        unpack(bytes((3,)) + raw, "object x")
    with pytest.raises(CorruptObjectError, match="empty"):
        unpack(b"", "object x")
    # Flag 2 on bytes that are no zstd frame at all.
    with pytest.raises(CorruptObjectError, match="does not decompress"):
        unpack(bytes((2,)) + b"not a frame" * 10, "object x")
    # A frame made with the dictionary but read against another id: caught by the id check.
    form = pack(raw)
    with pytest.raises(CorruptObjectError, match="hashes to another id"):
        unpack_verified("0" * 64, form)


def test_a_damaged_dictionary_is_reported_not_used(tmp_path, monkeypatch):
    good = (stored._HERE / "v1.zdict").read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "v1.zdict").write_bytes(bytes(damaged))
    monkeypatch.setattr(stored, "_HERE", tmp_path)
    monkeypatch.setattr(stored, "_dictionary_bytes", {})
    form = pack(b'obj1 {"i":{"a":"' + b"x" * 200 + b'"}}')  # this thread's codecs are already made
    with pytest.raises(CorruptObjectError, match="v1.zdict is damaged"):
        _in_a_new_thread(lambda: unpack(form, "object"))
    (tmp_path / "v1.zdict").unlink()
    with pytest.raises(CorruptObjectError, match="cannot be read"):
        _in_a_new_thread(lambda: pack(b"y" * 500))


@pytest.mark.parametrize("declare_size", [True, False])
def test_a_bomb_made_with_the_dictionary_is_refused(monkeypatch, declare_size):
    monkeypatch.setenv("STATEVCS_MAX_OBJECT_SIZE", str(1 << 20))
    d = zstandard.ZstdCompressionDict(stored.dictionary(2))
    compressor = zstandard.ZstdCompressor(level=1, dict_data=d, write_dict_id=False,
                                          write_content_size=declare_size)
    if declare_size:
        body = compressor.compress(bytes(64 << 20))
    else:  # a streamed frame says nothing of its size: only a reader that stops at a cap survives
        stream = compressor.compressobj()
        body = stream.compress(bytes(64 << 20)) + stream.flush()
    assert (zstandard.frame_content_size(body) == 64 << 20) is declare_size
    with pytest.raises(LimitExceededError, match="object size limit"):
        unpack(bytes((2,)) + body, "object b")
