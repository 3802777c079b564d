"""The review loop through git without a force push: bring the reviewer's commits back,
merge them with the agent's, and export on top so the git branch fast-forwards.

``sync`` is ``statevcs git sync TARGET``: import git's branch (into ``git/BRANCH``, and into
the branch itself when only git moved), three-way merge ``git/BRANCH`` into the branch when
both moved, then export. The reviewer's git commits are never rewritten: the import records
their git ids (idmap.py), so the export builds on them and they stay ancestors of the new tip.
``lookup`` maps ids both ways through the export record (``statevcs git map``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..errors import GitBridgeError, RevisionNotFoundError
from ..model.refnames import REMOTE_PREFIX, branch_ref
from .export import ExportReport, check_is_export, export_into, open_target, target_key
from .idmap import ExportMap, load_map, tracking_ref
from .import_ import ImportReport, import_from

if TYPE_CHECKING:
    from ..porcelain.merging.merges import MergeOutcome
    from ..porcelain.repository.facade import Repository


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: the import (None when git had no such branch yet), the merge of
    ``git/BRANCH`` (None when only one side had moved), and the export."""

    branch: str
    imported: ImportReport | None
    merged: "MergeOutcome | None"
    exported: ExportReport


def sync(repo: "Repository", target: str, branch: str | None = None, strategy: str = "merge",
         message: str | None = None, author: str | None = None,
         merge: Callable[[str, str, ImportReport], Any] | None = None) -> SyncReport:
    """Round trip ``branch`` (default: HEAD's) through the git repository ``target``.

    When both sides moved, ``git/BRANCH`` is merged into the branch with ``repo.merge`` (or
    ``merge(source, branch, import report)``, the command line's merge with its conflict flow): overlapping
    changes raise MergeConflictError and then neither the branch nor the git repository moves
    (``git/BRANCH`` and the export record already hold what git has, as after ``git fetch``).
    A git repository that no export wrote is refused before anything is read."""
    name = branch or repo.current_branch
    if name is None:
        raise RevisionNotFoundError("HEAD is detached: name the branch to sync")
    git, scratch = open_target(repo, target)
    try:
        check_is_export(git, load_map(repo, target_key(target)), target)
        imported = None
        if branch_ref(name) in git.references:
            imported = import_from(repo, git, target, [name], force=False)
        merged = None
        if imported is not None and branch_ref(name) in imported.diverged:
            source = tracking_ref(branch_ref(name))[len(REMOTE_PREFIX):]
            if merge is not None:
                merged = merge(source, name, imported)
            else:
                merged = repo.merge(source, into=name, strategy=strategy, author=author,
                                    message=message or f"Merge {source} into {name}")
        exported = export_into(repo, git, target, [name])
        return SyncReport(name, imported, merged, exported)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class IdPair:
    """One exported (or imported) commit: its statevcs id and its git id in one target."""

    statevcs: str
    git: str


def lookup(repo: "Repository", target: str, ids: list[str]) -> list[IdPair]:
    """The pairs for ``ids`` (statevcs revisions, or git ids or their prefixes of 4 digits or
    more); every pair the record of ``target`` holds when ``ids`` is empty, in no set order."""
    record = recorded(repo, target)
    if not ids:
        return [IdPair(sv, gid) for sv, gid in sorted(record.commits.items())]
    by_git = {gid: sv for sv, gid in record.commits.items()}
    pairs = []
    for text in ids:
        pairs.append(_find(repo, record, by_git, text, target))
    return pairs


def recorded(repo: "Repository", target: str) -> ExportMap:
    """The export record of ``target``; GitBridgeError when nothing was exported there."""
    record = load_map(repo, target_key(target))
    if record.old is None:
        raise GitBridgeError(f"nothing was exported to or imported from {target} here (no record of it)")
    return record


def _find(repo: "Repository", record: ExportMap, by_git: dict[str, str], text: str, target: str) -> IdPair:
    low = text.lower()
    if len(low) >= 4 and all(c in "0123456789abcdef" for c in low):
        found = sorted({gid for gid in by_git if gid.startswith(low)})
        if len(found) > 1:
            raise GitBridgeError(f"git id {text!r} is ambiguous in {target}: {', '.join(g[:12] for g in found[:5])}")
        if found:
            return IdPair(by_git[found[0]], found[0])
    try:
        oid = repo.rev_parse(text)
    except RevisionNotFoundError:
        raise RevisionNotFoundError(f"{text!r} is neither a statevcs revision nor a git commit exported to "
                                    f"{target}") from None
    if oid not in record.commits:
        raise GitBridgeError(f"statevcs commit {oid[:10]} ({text}) was not exported to {target}")
    return IdPair(oid, record.commits[oid])


__all__ = ["SyncReport", "sync", "IdPair", "lookup", "recorded"]
