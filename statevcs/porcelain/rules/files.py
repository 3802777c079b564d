"""Where rules live and the caches that spare re-reading them on every commit.

A stored rules document is named by ``refs/meta/schema``; a directory repository may also
hold ``.statevcs/schema.json`` and ``.statevcs/attributes``. Files are re-read only when
their mtime or size changes; parsed documents and compiled validators are kept by id.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.repository_core import RepositoryCore

#: The ref naming the stored rules document (a state tree).
SCHEMA_REF = "refs/meta/schema"
#: The repository schema of a directory repository, in ``.statevcs/``.
SCHEMA_FILE = "schema.json"
ATTRIBUTES_FILE = "attributes"

cache_lock = threading.Lock()
#: Parsed stored documents by object id, and compiled validators by a key of their source.
stored_documents: dict[str, dict[str, Any]] = {}
compiled_validators: dict[Any, Any] = {}
file_rules: dict[str, tuple[tuple[int, int], Any]] = {}
_CACHE_MAX = 64


def remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    with cache_lock:
        if len(cache) >= _CACHE_MAX:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return value


def rule_files(repo: RepositoryCore) -> tuple[str, str] | None:
    """(schema file, attributes file) paths of a directory repository (None without one),
    remembered on the repository while its directory stays the same."""
    key = (repo.workdir, repo._meta_dir)
    hit = repo._rule_files
    if hit is not None and hit[0] == key:
        return hit[1]
    meta = repo.meta_dir
    paths = (os.path.join(meta, SCHEMA_FILE), os.path.join(meta, ATTRIBUTES_FILE)) if meta else None
    repo._rule_files = (key, paths)
    return paths


def stamp(path: str) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size
