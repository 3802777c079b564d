"""statevcs: git for agent state.

Every version of an agent's (or a team's) JSON state as content-addressed objects,
with commits, branches, tags, diffs and history, in an embedded store.
"""

from typing import TYPE_CHECKING, Any

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
from .version import __version__ as __version__

#: The rest of the public API, imported on first use (PEP 562), so that ``import statevcs``
#: and every CLI command start without loading what they do not use.
_LAZY = {
    "Change": "statevcs.algo.diff", "diff": "statevcs.algo.diff",
    "BASE": "statevcs.algo.conflicts", "BOTH": "statevcs.algo.conflicts", "OURS": "statevcs.algo.conflicts",
    "THEIRS": "statevcs.algo.conflicts", "Conflict": "statevcs.algo.conflicts", "Side": "statevcs.algo.conflicts",
    "MergeResult": "statevcs.algo.merge", "merge3": "statevcs.algo.merge",
    "MISSING": "statevcs.model.missing", "Commit": "statevcs.model.objects", "Tag": "statevcs.model.objects",
    "Diff": "statevcs.porcelain.presentation.render", "EditTransaction": "statevcs.porcelain.core.editing",
    "Repository": "statevcs.porcelain.repository.facade",
}

if TYPE_CHECKING:
    from .algo.conflicts import BASE, BOTH, OURS, THEIRS, Conflict, Side
    from .algo.diff import Change, diff
    from .algo.merge import MergeResult, merge3
    from .model.missing import MISSING
    from .model.objects import Commit, Tag
    from .porcelain.core.editing import EditTransaction
    from .porcelain.presentation.render import Diff
    from .porcelain.repository.facade import Repository


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'statevcs' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
