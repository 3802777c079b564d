"""Resource limits: how big, how deep and how long anything read from a store may be.

They bound what a hostile remote or a crafted repository can make statevcs do (see
docs/security.md). Each has a documented default and one way to change it: an
environment variable, read when the limit is used, so a process, a test or a CLI run
can raise or lower it without touching the repository.
"""

from __future__ import annotations

import math
import os

from .errors import InvalidLimitError

#: Largest object (raw bytes, after decompression) read or written: 128 MiB.
DEFAULT_MAX_OBJECT_BYTES = 128 << 20
#: Deepest nesting of containers in a state (root container = depth 1).
DEFAULT_MAX_DEPTH = 256
#: Longest full ref name (``refs/heads/...``) in UTF-8 bytes.
DEFAULT_MAX_REF_NAME_BYTES = 1024
#: Bytes of decoded objects an ObjectReader keeps cached: 128 MiB.
DEFAULT_CACHE_BYTES = 128 << 20
#: Total object bytes a bundle may unpack into memory when it is opened: 2 GiB.
DEFAULT_MAX_BUNDLE_BYTES = 2 << 30

#: Ceilings a setting may not pass: the readers recurse once per level (Python's stack),
#: and PostgreSQL's NOTIFY payload (8,000 bytes) carries a ref name.
DEPTH_CEILING = 512
REF_NAME_CEILING = 4000

ENV_MAX_OBJECT_BYTES = "STATEVCS_MAX_OBJECT_SIZE"
ENV_MAX_DEPTH = "STATEVCS_MAX_DEPTH"
ENV_MAX_REF_NAME_BYTES = "STATEVCS_MAX_REF_NAME"
ENV_CACHE_BYTES = "STATEVCS_CACHE_BYTES"
ENV_MAX_BUNDLE_BYTES = "STATEVCS_MAX_BUNDLE_SIZE"
ENV_SCHEMA_WORK = "STATEVCS_SCHEMA_WORK"
ENV_LOCK_TIMEOUT = "STATEVCS_LOCK_TIMEOUT"
#: Seconds a SQLite writer waits for another one before StoreLockedError.
DEFAULT_LOCK_TIMEOUT = 30.0
#: Keyword evaluations a schema check may spend per (value of the state, keyword of the schema).
DEFAULT_SCHEMA_WORK = 4


def _setting(name: str, default: int, low: int, high: int | None = None) -> int:
    text = os.environ.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        raise InvalidLimitError(f"{name}={text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidLimitError(f"{name}={value} must be {bounds}")
    return value


def max_object_bytes() -> int:
    """Largest object size in bytes (``$STATEVCS_MAX_OBJECT_SIZE``, default 128 MiB)."""
    return _setting(ENV_MAX_OBJECT_BYTES, DEFAULT_MAX_OBJECT_BYTES, 1024)


def max_depth() -> int:
    """Deepest container nesting of a state (``$STATEVCS_MAX_DEPTH``, default 256, at most 512)."""
    return _setting(ENV_MAX_DEPTH, DEFAULT_MAX_DEPTH, 1, DEPTH_CEILING)


def max_ref_name_bytes() -> int:
    """Longest full ref name in UTF-8 bytes (``$STATEVCS_MAX_REF_NAME``, default 1024, at most 4000)."""
    return _setting(ENV_MAX_REF_NAME_BYTES, DEFAULT_MAX_REF_NAME_BYTES, 16, REF_NAME_CEILING)


def cache_bytes() -> int:
    """Bytes of objects an ObjectReader caches (``$STATEVCS_CACHE_BYTES``, default 128 MiB; 0 = none)."""
    return _setting(ENV_CACHE_BYTES, DEFAULT_CACHE_BYTES, 0)


#: Bytes of objects a LangGraph saver opened by ``from_conn_string`` caches, unless
#: ``$STATEVCS_CACHE_BYTES`` or its ``cache_bytes`` says otherwise: a saver lives as long as
#: the agent, and the objects of every checkpoint it wrote would otherwise stay in memory
#: up to the 128 MiB default (a turn reads and edits only the newest checkpoint's path).
DEFAULT_SAVER_CACHE_BYTES = 4 << 20


def saver_cache_bytes(given: int | None = None) -> int:
    """What a saver's repository caches: ``given``, else ``$STATEVCS_CACHE_BYTES``, else 4 MiB."""
    if given is not None:
        if type(given) is not int or given < 0:
            raise InvalidLimitError(f"cache_bytes={given!r} must be a whole number of bytes, at least 0")
        return given
    return _setting(ENV_CACHE_BYTES, DEFAULT_SAVER_CACHE_BYTES, 0)


def max_bundle_bytes() -> int:
    """Total object bytes a bundle may hold (``$STATEVCS_MAX_BUNDLE_SIZE``, default 2 GiB): a small,
    highly compressed hostile bundle of many distinct objects cannot exhaust memory."""
    return _setting(ENV_MAX_BUNDLE_BYTES, DEFAULT_MAX_BUNDLE_BYTES, 1024)


def schema_work() -> int:
    """Keyword evaluations a JSON Schema check may spend per pair of a state value and a schema
    keyword (``$STATEVCS_SCHEMA_WORK``, default 4, 1 to 1,000,000): the check's work stays in
    proportion to the state's size times the schema's, never exponential (docs/security.md)."""
    return _setting(ENV_SCHEMA_WORK, DEFAULT_SCHEMA_WORK, 1, 1_000_000)


def lock_timeout() -> float:
    """Seconds to wait for another writer of a SQLite repository (``$STATEVCS_LOCK_TIMEOUT``,
    default 30): a number of seconds, 0 or more and finite."""
    text = os.environ.get(ENV_LOCK_TIMEOUT)
    if text is None or text.strip() == "":
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InvalidLimitError(f"{ENV_LOCK_TIMEOUT}={text!r} is not a number of seconds (0 or more); unset it "
                                f"for the default of {DEFAULT_LOCK_TIMEOUT:g}")
    return value
