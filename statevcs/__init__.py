"""statevcs: git for agent state.

Every version of an agent's (or a team's) JSON state as content-addressed objects,
with commits, branches, tags, diffs and history, in an embedded store.
"""

from .algo.diff import Change, diff
from .algo.merge import BASE, BOTH, OURS, THEIRS, Conflict, MergeResult, Side, merge3
from .errors import (
    AmbiguousRevisionError,
    ConflictResolutionError,
    CorruptObjectError,
    InvalidPatchError,
    InvalidPointerError,
    InvalidRefNameError,
    InvalidStateError,
    MergeConflictError,
    MergeInProgressError,
    NoMergeInProgressError,
    NotARepositoryError,
    NotFastForwardError,
    NothingToCommitError,
    ObjectNotFoundError,
    PatchConflictError,
    PatchTestFailedError,
    PathNotFoundError,
    RefConflictError,
    RefExistsError,
    RemoteNotFoundError,
    RepositoryExistsError,
    RevisionNotFoundError,
    StaleWorkingFileError,
    StateVCSError,
    StoreLockedError,
    StoreUnavailableError,
    UnsupportedObjectError,
    WorkingStateError,
)
from .model.missing import MISSING
from .model.objects import Commit, Tag
from .porcelain.core.editing import EditTransaction
from .porcelain.presentation.render import Diff
from .porcelain.repository.facade import Repository

__version__ = "0.1.0"

__all__ = [
    "Repository", "Commit", "Tag", "Diff", "Change", "diff", "MISSING", "merge3", "MergeResult", "Conflict",
    "Side", "OURS", "THEIRS", "BASE", "BOTH", "ConflictResolutionError",
    "StateVCSError", "InvalidStateError", "InvalidPointerError", "PathNotFoundError", "InvalidRefNameError",
    "RevisionNotFoundError", "AmbiguousRevisionError", "RefConflictError", "RefExistsError",
    "ObjectNotFoundError", "CorruptObjectError", "UnsupportedObjectError", "NotARepositoryError",
    "RepositoryExistsError", "StoreLockedError", "WorkingStateError", "MergeConflictError",
    "NothingToCommitError", "NotFastForwardError", "MergeInProgressError", "NoMergeInProgressError",
    "StoreUnavailableError", "RemoteNotFoundError", "StaleWorkingFileError",
    "EditTransaction", "InvalidPatchError", "PatchConflictError", "PatchTestFailedError",
]
