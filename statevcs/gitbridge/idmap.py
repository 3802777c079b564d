"""The export record kept in the statevcs repository: for each git target, the layout and
which statevcs commit became which git commit.

It lives under ``refs/git-export/<key>`` (``key``: 16 hex digits of the SHA-256 of the
target's absolute path or URL), as a parentless statevcs commit whose state is
``{"format": 1, "target": ..., "split": [...], "commits": {"ab": {statevcs id: git id}},
"branches": {git branch ref: git id}}`` (commits sharded by the first two hex digits, so one
more export rewrites one shard; branches: what git's branches held after the last export or
import, so a history rewritten in git since is noticed). Imports add the commits they read. A
ref works the same on every store (directory, SQLite, PostgreSQL), is kept by gc, and is
never fetched, pushed or cloned (those move branches and tags only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..model.objects import encode_commit
from ..model.refnames import BRANCH_PREFIX, REMOTE_PREFIX
from ..model.tree import write_tree
from ..store.base import ANY
from ..store.paths import path_text
from .layout import Layout

if TYPE_CHECKING:
    from ..porcelain.repository.facade import Repository

PREFIX = "refs/git-export/"
AUTHOR = "statevcs git export"
#: The remote-tracking refs of git branches: ``git/main`` names what git's main held when last seen.
TRACKING_REMOTE = "git"
TRACKING_PREFIX = f"{REMOTE_PREFIX}{TRACKING_REMOTE}/"


def map_ref(target_key: str) -> str:
    return PREFIX + hashlib.sha256(target_key.encode("utf-8", "surrogateescape")).hexdigest()[:16]  # a path: bytes


@dataclass
class ExportMap:
    """The layout and the statevcs -> git commit ids of one target (``old``: the ref's value when read)."""

    target: str
    layout: Layout | None = None
    commits: dict[str, str] = field(default_factory=dict)
    old: str | None = None
    #: git branch ref -> the git commit it held after the last export or import (so a branch
    #: rewritten in git since is noticed, per target)
    branches: dict[str, str] = field(default_factory=dict)

    def state(self) -> dict:
        shards: dict[str, dict[str, str]] = {}
        for sv, git in self.commits.items():
            shards.setdefault(sv[:2], {})[sv] = git
        out = {"format": 1, "target": path_text(self.target), "split": list(self.layout.split if self.layout else ()),
               "commits": shards}
        if self.branches:
            out["branches"] = dict(sorted(self.branches.items()))
        return out


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
    branches = state.get("branches", {})
    return ExportMap(target_key, Layout.make(state.get("split", [])), commits, value,
                     dict(branches) if isinstance(branches, dict) else {})


def save_map(repo: "Repository", record: ExportMap, tracking: dict[str, str] | None = None) -> None:
    """Write the record (compare-and-swap: a concurrent export of the same target loses cleanly),
    and in the same transaction the ``tracking`` refs (ref -> statevcs commit) that say what
    the git repository's branches now hold."""
    root, objects = write_tree(record.state())
    commit, raw = encode_commit(root, (), 1, AUTHOR, datetime.now(timezone.utc),
                                f"git export to {path_text(record.target)}", {})
    moves = {ref: new for ref, new in (tracking or {}).items() if repo.store.read_ref(ref) != new}
    if commit.id == record.old and not moves:
        return
    with repo.store.transaction() as tx:
        if commit.id != record.old:
            tx.put_objects({**objects, commit.id: raw})
            tx.set_ref(map_ref(record.target), commit.id, record.old, AUTHOR, "git export")
        for ref, new in sorted(moves.items()):
            tx.set_ref(ref, new, ANY, AUTHOR, f"git export to {path_text(record.target)}")
    record.old = commit.id


def tracking_ref(branch_ref: str) -> str:
    """Where the statevcs repository keeps what a git branch holds: ``refs/remotes/git/BRANCH``
    (the revision ``git/BRANCH``), as git keeps ``origin/BRANCH``."""
    return TRACKING_PREFIX + branch_ref[len(BRANCH_PREFIX):]


def record_imported(repo: "Repository", record: ExportMap, imported: dict[str, str], layout: Layout | None) -> None:
    """Add commits read from the target (statevcs id -> git id) to its record, so the next
    export builds on those git commits instead of writing new ones (a reviewer's commit stays
    in the history); a record made here takes the layout the git repository holds."""
    if record.layout is None:
        record.layout = layout
    record.commits.update(imported)
