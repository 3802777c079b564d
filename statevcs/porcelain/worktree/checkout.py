"""The working file against its branch: which commit it was loaded from, whether the
branch has moved since, loading a commit into it, and carrying its edits onto a new head.

Agents often commit through the Python API while a person edits ``state.json`` with the
CLI. The file is only safe to commit when it was loaded from the branch's current head;
otherwise committing it would silently undo everything committed since. The base record
kept by :class:`~statevcs.porcelain.worktree.working_file.WorkingFile` is what makes that visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import MergeConflictError, StaleWorkingFileError, StateVCSError
from ...model import refnames
from ...model.tree import write_tree
from ..presentation.render import Diff
from .working_file import UNRECORDED

if TYPE_CHECKING:
    from ..repository.facade import Repository


@dataclass(frozen=True)
class WorkingStatus:
    """Where the working file stands.

    ``base`` is the commit it was loaded from (None: no commit yet), ``head`` the commit
    HEAD names now. ``moved`` is true when the two differ and the file is not simply
    the head's state: committing it as it is would undo the commits since ``base``.
    ``edits`` are the file's own changes, from ``base``'s state to the file."""

    base: str | None
    head: str | None
    moved: bool
    edits: Diff


def _root_of(repo: "Repository", commit_id: str | None) -> str:
    if commit_id is None:
        root, objects = write_tree({})
        repo.objects.extra.update(objects)
        return root
    return repo.objects.commit(commit_id).root


def working_status(repo: "Repository") -> WorkingStatus:
    """Compare the working file with its base and with HEAD; repairs a record the file has caught up with."""
    wf = repo.working_file
    head = repo._ref_target(refnames.HEAD)
    base = wf.base()
    if base is UNRECORDED:  # a repository from before base records: trust it as current, as then
        base = head
    head_root = _root_of(repo, head)
    working = repo.working_root()
    if base == head:
        return WorkingStatus(base, head, False, repo.diff_roots(head_root, working))
    if working == head_root:  # the file already holds the head (e.g. a crash after writing it)
        with wf.locked():
            wf.record_base(head)
        return WorkingStatus(head, head, False, repo.diff_roots(head_root, working))
    try:
        base_root = _root_of(repo, base)
    except StateVCSError:
        raise StaleWorkingFileError(
            f"the working file was loaded from commit {str(base)[:10]}, which this repository no longer has; "
            "load HEAD's state into it (statevcs reset --hard; Python: repo.load_working())", base, head) from None
    return WorkingStatus(base, head, True, repo.diff_roots(base_root, working))


def _where(repo: "Repository") -> str:
    return repo.current_branch or "HEAD"


def _short(oid: str | None) -> str:
    return oid[:10] if oid else "no commit"


def stale_message(repo: "Repository", status: WorkingStatus, action: str) -> str:
    """Why ``action`` is refused on a working file whose branch moved, and the ways out."""
    what = (f"{action} would undo them" if status.edits else
            f"it has no edits of its own: 'statevcs refresh' loads {_short(status.head)}")
    ways = ("; 'statevcs refresh' carries its edits onto the new head (or 'statevcs commit --merge' does that "
            "and commits), 'statevcs reset --hard' drops them") if status.edits else ""
    return (f"the working file was loaded from {_short(status.base)} but {_where(repo)} is now at "
            f"{_short(status.head)} (committed since by someone else); {what}{ways}")


def ensure_current(repo: "Repository", action: str) -> WorkingStatus | None:
    """Refuse (StaleWorkingFileError) when the branch moved under the working file.

    Cheap when the record names the head: the file is not even read. Returns the status
    when it had to compute it."""
    wf = repo.working_file
    base = wf.base()
    if base is UNRECORDED or base == repo._ref_target(refnames.HEAD):
        return None
    status = working_status(repo)
    if status.moved:
        raise StaleWorkingFileError(stale_message(repo, status, action), status.base, status.head)
    return status


def load_commit(repo: "Repository", commit_id: str | None) -> None:
    """Write ``commit_id``'s state (``{}`` for None) into the working file and record it as the base."""
    value: Any = repo.get(commit_id) if commit_id else {}
    repo.working_file.load(value, commit_id)


def load_head(repo: "Repository") -> None:
    """Load HEAD's state into the working file (after a command moved HEAD or its branch)."""
    load_commit(repo, repo._ref_target(refnames.HEAD))


@dataclass(frozen=True)
class Refresh:
    """What ``refresh`` did: the head the file is now based on and whether edits were carried."""

    base: str | None
    head: str | None
    edits: int
    settled: int


def refresh(repo: "Repository", strategy: str = "merge", policies: dict[str, str] | None = None) -> Refresh:
    """Bring the working file onto HEAD, carrying its edits by three-way merge.

    base = the commit the file was loaded from, ours = HEAD (the branch), theirs = the
    file (your edits). ``strategy`` settles overlaps: ``source_wins`` keeps your edits,
    ``target_wins`` the branch's; with ``merge`` an overlap raises MergeConflictError and
    nothing changes. The caller holds the working file's lock."""
    from ...algo.treemerge import merge_trees  # the merge engine: loaded only when a refresh merges
    from ..merging.merges import repository_policies

    status = working_status(repo)
    if not status.moved:  # already on the head (edits, if any, stay as they are)
        return Refresh(status.base, status.head, len(status.edits), 0)
    base_root = _root_of(repo, status.base)
    head_root = _root_of(repo, status.head)
    working = repo.working_root()
    merged = merge_trees(repo.objects, base_root, head_root, working, strategy, repository_policies(repo, policies))
    if merged.conflicts and strategy == "merge":
        paths = ", ".join(c.path or "/" for c in merged.conflicts[:5]) + (" ..." if len(merged.conflicts) > 5 else "")
        raise MergeConflictError(
            f"{len(merged.conflicts)} of the working file's edits conflict with commits on {_where(repo)} since "
            f"{_short(status.base)}: {paths}; the strategy source_wins keeps your edits there, target_wins "
            "the branch's", list(merged.conflicts))
    repo.objects.extra.update(merged.objects)
    from ...model.tree import read_tree

    repo.working_file.load(read_tree(repo.objects, merged.root), status.head)
    return Refresh(status.base, status.head, len(status.edits), len(merged.conflicts))


def holds_exactly(repo: "Repository", commit_id: str | None) -> bool:
    """Is there a working file loaded from ``commit_id`` and still holding exactly its state?

    Commands that commit without the working file (``commit -f``, ``apply``) move such a
    file along with the branch, as a commit from it would."""
    if repo.workdir is None or commit_id is None or not repo.working_file.exists():
        return False
    try:
        return repo.working_file.base() == commit_id and repo.working_root() == repo.objects.commit(commit_id).root
    except StateVCSError:
        return False


def restore_pointers(repo: "Repository", rev: str, pointers: list[str]) -> list[tuple[str, str]]:
    """Bring the values at ``pointers`` back from ``rev`` into the working file (git's
    ``restore --source REV PATH``): a pointer ``rev`` lacks is removed; every other edit of
    the file stays. Nothing is committed. All pointers are read and placed before the file
    is written, so a refusal (PathNotFoundError: absent on both sides, or no parent to hold
    the value) leaves it as it was. Returns (pointer, "restored" | "removed" | "unchanged")
    per pointer. The caller holds the working file's lock."""
    from ...errors import PathNotFoundError
    from ...model.canonical import strict_equal
    from ...model.pointer import resolve
    from .working_file import set_at, unset_at

    commit = repo.resolve(rev)
    wf = repo.working_file
    document = wf.read()
    done = []
    for pointer in pointers:
        try:
            value: Any = repo.get(commit, pointer)
        except PathNotFoundError:
            value = _ABSENT
        try:
            current: Any = resolve(document, pointer)
        except PathNotFoundError:
            current = _ABSENT
        if value is _ABSENT and current is _ABSENT:
            raise PathNotFoundError(f"no value at {pointer or '/'} in {rev} ({commit.id[:10]}) nor in the working file")
        if value is _ABSENT:
            document = unset_at(document, pointer)
            done.append((pointer, "removed"))
        elif current is not _ABSENT and strict_equal(current, value):
            done.append((pointer, "unchanged"))
        else:
            document = set_at(document, pointer, value)
            done.append((pointer, "restored"))
    wf.write(document)
    return done


_ABSENT = object()
