"""The export record kept in the statevcs repository: for each git target, the layout and
which statevcs commit became which git commit.

It lives under ``refs/git-export/<key>`` (``key``: 16 hex digits of the SHA-256 of the
target's absolute path or URL), as a parentless statevcs commit whose state is
``{"format": 1, "target": ..., "split": [...], "commits": {"ab": {statevcs id: git id}}}``
(commits sharded by the first two hex digits, so one more export rewrites one shard). A
ref works the same on every store (directory, SQLite, PostgreSQL), is kept by gc, and is
never fetched, pushed or cloned (those move branches and tags only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..model.objects import encode_commit
from ..model.tree import write_tree
from ..store.paths import path_text
from .layout import Layout

if TYPE_CHECKING:
    from ..porcelain.repository.facade import Repository

PREFIX = "refs/git-export/"
AUTHOR = "statevcs git export"


def map_ref(target_key: str) -> str:
    return PREFIX + hashlib.sha256(target_key.encode("utf-8", "surrogateescape")).hexdigest()[:16]  # a path: bytes


@dataclass
class ExportMap:
    """The layout and the statevcs -> git commit ids of one target (``old``: the ref's value when read)."""

    target: str
    layout: Layout | None = None
    commits: dict[str, str] = field(default_factory=dict)
    old: str | None = None

    def state(self) -> dict:
        shards: dict[str, dict[str, str]] = {}
        for sv, git in self.commits.items():
            shards.setdefault(sv[:2], {})[sv] = git
        return {"format": 1, "target": path_text(self.target), "split": list(self.layout.split if self.layout else ()),
                "commits": shards}


def load_map(repo: "Repository", target_key: str) -> ExportMap:
    """The record for ``target_key`` (an empty one before the first export)."""
    ref = map_ref(target_key)
    value = repo.store.read_ref(ref)
    if value is None:
        return ExportMap(target_key)
    state = repo.get(value)
    commits: dict[str, str] = {}
    for shard in state.get("commits", {}).values():
        commits.update(shard)
    return ExportMap(target_key, Layout.make(state.get("split", [])), commits, value)


def save_map(repo: "Repository", record: ExportMap) -> None:
    """Write the record (compare-and-swap: a concurrent export of the same target loses cleanly)."""
    root, objects = write_tree(record.state())
    commit, raw = encode_commit(root, (), 1, AUTHOR, datetime.now(timezone.utc),
                                f"git export to {path_text(record.target)}", {})
    if commit.id == record.old:
        return
    with repo.store.transaction() as tx:
        tx.put_objects({**objects, commit.id: raw})
        tx.set_ref(map_ref(record.target), commit.id, record.old, AUTHOR, "git export")
    record.old = commit.id
