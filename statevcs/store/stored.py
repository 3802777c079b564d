"""Stored forms of objects: the bytes a store keeps for an object's bytes, and back.

A stored form is a flag byte and a body (docs/storage-format.md, "Compression"):

=====  ============================================================================
flag   body
=====  ============================================================================
0      the object's bytes as they are
1      one zstd frame of them, made without a dictionary (what statevcs wrote before
       SQLite schema 4 and PostgreSQL schema 6; still read)
2      one zstd frame made with the built-in dictionary v1 (dictionaries/v1.zdict)
=====  ============================================================================

Objects are small (a commit, a tree node, a chunk of a list: tens to a few thousand
bytes) and zstd alone compresses a small input badly: it has seen none of the keys and
shapes every statevcs object repeats. The dictionary holds them (tools/train_dictionary.py
says from what), so the same objects take about a third fewer bytes and compress and
inflate faster. A shipped dictionary never changes: objects stored with it need it to be
read. A better one would get the next flag, and the old ones are kept.

Reading never trusts the sizes it is given: a body inflates to at most
``max_object_bytes()`` (a decompression bomb is refused before it is inflated), and every
object read by id is checked against its id (``verify``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import blake3
import zstandard

from ..errors import CorruptObjectError, LimitExceededError
from ..limits import ENV_MAX_OBJECT_BYTES, max_object_bytes

#: Objects whose encoding is at least this many bytes are stored zstd-compressed when that
#: makes them smaller. Small objects gain too: a commit or an interior chunk node is mostly
#: hex ids, which zstd's entropy coding stores in about half their size.
COMPRESS_THRESHOLD = 64
_ZSTD_LEVEL = 3
_PLAIN, _ZSTD, _ZSTD_V1 = 0, 1, 2

#: The built-in dictionaries by flag: file name and the blake3 of its bytes (a damaged
#: install is reported, never used to inflate objects into other bytes).
DICTIONARIES = {
    _ZSTD_V1: ("v1.zdict", "b78a2dc0a6932d6c2be1b2b2f825fb4ab6b690c8f9f76ec6fc9caadc553a0393"),
}
_WRITE_WITH = _ZSTD_V1
_HERE = Path(__file__).resolve().parent / "dictionaries"

#: First bytes of a sealed row written by store/encrypted.py: its id is a keyed hash, not the
#: hash of its bytes, so it is bound to its row key by a hash keyed with that key here and
#: authenticated (AEAD) by EncryptedStore, which holds the secret key (docs/encryption.md).
SEALED_MAGIC = b"\xffstatevcs-sealed1"

_dictionary_bytes: dict[int, bytes] = {}
_load_lock = threading.Lock()


def dictionary(flag: int) -> bytes:
    """The bytes of the built-in dictionary of ``flag``, read once and checked."""
    data = _dictionary_bytes.get(flag)
    if data is None:
        name, digest = DICTIONARIES[flag]
        with _load_lock:
            try:
                data = (_HERE / name).read_bytes()
            except OSError as exc:
                raise CorruptObjectError(f"statevcs's zstd dictionary {name} cannot be read ({exc}): "
                                         "reinstall statevcs") from None
            if blake3.blake3(data).hexdigest() != digest:
                raise CorruptObjectError(f"statevcs's zstd dictionary {name} is damaged: reinstall statevcs")
            _dictionary_bytes[flag] = data
    return data


class _Codecs(threading.local):
    """zstd compressors and decompressors, per thread: zstandard's objects must not be used
    by two threads at once (a shared one corrupts frames or crashes under concurrent commits).
    The ones with a dictionary are made on first use."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()
        self.with_dictionary: dict[int, tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]] = {}

    def dictionary(self, flag: int) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
        pair = self.with_dictionary.get(flag)
        if pair is None:
            d = zstandard.ZstdCompressionDict(dictionary(flag), dict_type=zstandard.DICT_TYPE_FULLDICT)
            d.precompute_compress(level=_ZSTD_LEVEL)
            # The flag names the dictionary: the frame need not (4 bytes less per object).
            pair = (zstandard.ZstdCompressor(level=_ZSTD_LEVEL, dict_data=d, write_dict_id=False),
                    zstandard.ZstdDecompressor(dict_data=d))
            self.with_dictionary[flag] = pair
        return pair


_codecs = _Codecs()


def pack(raw: bytes) -> bytes:
    """Stored form of an object: a flag byte, then the bytes, compressed with the current
    dictionary above the threshold when that is smaller (not a sealed row of an encrypted
    store: ciphertext does not compress)."""
    if len(raw) >= COMPRESS_THRESHOLD and raw[:len(SEALED_MAGIC)] != SEALED_MAGIC:
        packed = _codecs.dictionary(_WRITE_WITH)[0].compress(raw)
        if len(packed) < len(raw):
            return bytes((_WRITE_WITH,)) + packed
    return bytes((_PLAIN,)) + raw


def unpack_verified(oid: str, stored: bytes) -> bytes:
    """Raw object bytes from their stored form, checked against the id.

    Objects larger than ``max_object_bytes()`` are refused before they are inflated: a
    small compressed object cannot make a reader allocate gigabytes (a decompression bomb).
    """
    raw = unpack(stored, f"object {oid}")
    verify(oid, raw)
    return raw


def unpack(stored: bytes, what: str) -> bytes:
    """The bytes a stored form holds (flag byte, then plain or zstd bytes), never more than
    ``max_object_bytes()`` of them; ``what`` names it in errors. Nothing is verified here."""
    if not stored:
        raise CorruptObjectError(f"{what} is empty")
    limit = max_object_bytes()
    flag, body = stored[0], stored[1:]
    if flag == _PLAIN:
        if len(body) > limit:
            raise _too_large(what, len(body), limit)
        return body
    if flag == _ZSTD:
        return _inflate(what, body, limit, _codecs.decompressor)
    if flag in DICTIONARIES:
        return _inflate(what, body, limit, _codecs.dictionary(flag)[1])
    raise CorruptObjectError(f"{what} has unknown storage flag {flag}")


def _too_large(what: str, size: int | str, limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"{what} is larger than the {limit}-byte object size limit ({size} bytes; "
        f"{ENV_MAX_OBJECT_BYTES} raises it, see docs/security.md)"
    )


_CHUNK = 1 << 20


def _inflate(what: str, body: bytes, limit: int, decompressor: zstandard.ZstdDecompressor) -> bytes:
    """Decompress one zstd frame, never producing more than ``limit`` bytes."""
    try:
        declared = zstandard.frame_content_size(body)
        if declared > limit:
            raise _too_large(what, declared, limit)
        if declared >= 0:  # zstd checks the output against the declared size
            return decompressor.decompress(body)
        # No declared size: stream, and stop as soon as the output passes the limit.
        out = bytearray()
        with decompressor.stream_reader(body) as reader:
            while True:
                chunk = reader.read(_CHUNK)
                if not chunk:
                    break
                out += chunk
                if len(out) > limit:
                    raise _too_large(what, f"over {limit}", limit)
        return bytes(out)
    except zstandard.ZstdError as exc:
        raise CorruptObjectError(f"{what} does not decompress: {exc}") from None


def verify(oid: str, raw: bytes) -> None:
    """Raise CorruptObjectError unless ``raw`` hashes to ``oid``."""
    if raw[: len(SEALED_MAGIC)] == SEALED_MAGIC:
        body = raw[len(SEALED_MAGIC) + 32:]
        if blake3.blake3(body, key=bytes.fromhex(oid)).digest() == raw[len(SEALED_MAGIC): len(SEALED_MAGIC) + 32]:
            return
    # The same hash the object model names objects by (plain bytes may begin like a sealed row).
    if blake3.blake3(raw).hexdigest() == oid:
        return
    raise CorruptObjectError(f"object {oid} is corrupt: its content hashes to another id")
