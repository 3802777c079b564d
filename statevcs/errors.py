"""One exception hierarchy for everything statevcs raises.

Library code raises these; only the CLI turns them into ``error: ...`` lines and
exit codes. Where a builtin fits, the class also inherits it (as pygit2 does), so
``except KeyError`` keeps working for callers who think in builtins.
"""

from __future__ import annotations

from typing import Any


class StateVCSError(Exception):
    """Base class of every error statevcs raises on purpose."""


class InvalidStateError(StateVCSError, ValueError):
    """A value is not JSON statevcs can store; ``pointer`` names the offending part."""

    def __init__(self, message: str, pointer: str = "") -> None:
        self.pointer = pointer
        where = pointer if pointer else "(root)"
        super().__init__(f"{message} at {where}")


class InvalidPointerError(StateVCSError, ValueError):
    """A string is not a valid RFC 6901 JSON Pointer."""


class PathNotFoundError(StateVCSError, KeyError):
    """A JSON Pointer names nothing in the state it is applied to."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "path not found"


class InvalidRefNameError(StateVCSError, ValueError):
    """A branch, tag or ref name breaks git's check-ref-format rules."""


class RevisionNotFoundError(StateVCSError, KeyError):
    """A revision (branch, tag, id, HEAD~N, ...) names nothing in the repository."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "revision not found"


class AmbiguousRevisionError(StateVCSError, KeyError):
    """A short id or name matches more than one thing."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "ambiguous revision"


class RefConflictError(StateVCSError):
    """A compare-and-swap ref update lost: the ref no longer had the expected value."""

    def __init__(self, message: str, ref: str = "", expected: Any = None, actual: Any = None) -> None:
        self.ref = ref
        self.expected = expected
        self.actual = actual
        super().__init__(message)


class RefExistsError(RefConflictError):
    """A ref that must be new already exists."""


class ObjectNotFoundError(StateVCSError, KeyError):
    """An object id is not in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "object not found"


class CorruptObjectError(StateVCSError):
    """Stored bytes do not hash to their id or cannot be decoded: never returned as data."""


class UnsupportedObjectError(StateVCSError):
    """An object has a kind this version of statevcs does not know (written by a newer one?)."""


class NotARepositoryError(StateVCSError):
    """No ``.statevcs`` directory was found at or above the given path."""


class RepositoryExistsError(StateVCSError):
    """``init`` was asked to create a repository where one already exists."""


class StoreLockedError(StateVCSError):
    """The store stayed locked by another writer for longer than the timeout."""


class WorkingStateError(StateVCSError):
    """The working state file is missing, not JSON, or would lose uncommitted changes."""


class StaleWorkingFileError(WorkingStateError):
    """The branch moved since the working file was loaded: committing it would undo those commits.

    ``base`` is the commit the file was loaded from, ``head`` where the branch is now."""

    def __init__(self, message: str, base: str | None = None, head: str | None = None) -> None:
        self.base = base
        self.head = head
        super().__init__(message)


class MergeConflictError(StateVCSError):
    """A merge left conflicts; ``conflicts`` lists them and nothing was committed."""

    def __init__(self, message: str, conflicts: list[Any] | None = None) -> None:
        self.conflicts = list(conflicts or [])
        super().__init__(message)


class NothingToCommitError(StateVCSError):
    """A commit would record the same state as its parent and empty commits were not allowed."""


class NotFastForwardError(StateVCSError):
    """A fast-forward was required (``ff="only"``, or a push) but histories have diverged."""


class MergeInProgressError(StateVCSError):
    """A merge is waiting for its conflicts to be resolved (continue or abort it first)."""


class NoMergeInProgressError(StateVCSError):
    """``merge --continue``/``--abort``/``resolve`` was asked for, but no merge is in progress."""


class StoreUnavailableError(StateVCSError):
    """The store cannot be reached or failed (server down, connection dropped, missing driver)."""


class RemoteNotFoundError(StateVCSError, KeyError):
    """No remote has that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "remote not found"


class LimitExceededError(CorruptObjectError):
    """An object or tree read from a store is bigger or deeper than a configured limit
    (docs/security.md): it is refused, never read into memory."""


class NonCanonicalObjectError(CorruptObjectError):
    """An object's bytes are not the one canonical encoding the format allows (NaN, Infinity,
    lone surrogates, duplicate or unsorted keys, extra whitespace, other number spellings)."""


class InvalidLimitError(StateVCSError, ValueError):
    """An environment variable that sets a limit (``STATEVCS_MAX_*``) is not a valid number."""


class ConflictResolutionError(StateVCSError, ValueError):
    """A resolution cannot settle that conflict (BOTH on a conflict that is not an array's)."""


class UpdateContentionError(RefConflictError):
    """``Repository.update`` kept losing the race for its branch until its time budget was spent."""


class InvalidAgeError(StateVCSError, ValueError):
    """An age or expiry (``--prune``, ``--expire``: ``now``, ``2.weeks``, ``14d``, ``2h``) cannot be read."""


class DamagedMergeStateError(WorkingStateError):
    """The saved state of a merge in progress (.statevcs/MERGE_STATE.json) cannot be read."""


class InvalidAttributesError(StateVCSError, ValueError):
    """The attributes file (.statevcs/attributes: merge policies per pointer) cannot be used."""


class InvalidPatchError(StateVCSError, ValueError):
    """A JSON Patch (RFC 6902) is malformed: not a list of operations, an unknown op, a missing
    or mistyped member (path, from, value), or a path that is not a JSON Pointer."""


class PatchConflictError(StateVCSError):
    """A well-formed patch operation does not apply to the state: its path (or from) is missing,
    an index is out of range, a pointer goes into a scalar, or ``-`` names no array element.
    ``index`` is the failing operation's position in the patch (None outside a patch)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        self.index = index
        super().__init__(message)


class PatchTestFailedError(PatchConflictError):
    """A patch's ``test`` operation found a different value: the patch was made for another state."""


class GitBridgeError(StateVCSError):
    """Export to or import from a git repository failed (no pygit2, a target that is not a git
    repository, a branch that would not fast-forward, a file the layout cannot read)."""


class InvalidBundleError(CorruptObjectError):
    """A bundle file is not one, has an unknown version, is truncated, was modified after it
    was written (checksum or object hash mismatch), or lacks history its refs need."""


class ReadOnlyStoreError(StateVCSError):
    """A write was attempted on a store that is read-only (a bundle opened as a remote)."""


class SharedHistoryError(StateVCSError):
    """``prune`` would squash history that other branches or tags still reach (use force)."""


class InvalidPruneError(StateVCSError, ValueError):
    """``prune`` was asked for an impossible cut: neither or both of keep and since, or keep < 1."""


class RuleViolationError(StateVCSError):
    """A commit would record a state that breaks a state rule (a JSON Schema, or a transition
    rule in .statevcs/attributes): nothing was written. ``pointer`` names the offending value,
    ``rule`` the rule it breaks (docs/rules.md)."""

    def __init__(self, message: str, pointer: str = "", rule: str = "") -> None:
        self.pointer = pointer
        self.rule = rule
        super().__init__(message)


class InvalidRulesError(StateVCSError, ValueError):
    """A state rule cannot be used: a schema that is not JSON or not a valid JSON Schema, a
    transition rule that cannot be read, or no ``jsonschema`` package to check a schema with."""


class PurgeError(StateVCSError):
    """``purge`` cannot erase that pointer: it is in no commit of the chosen history, it names
    the whole state, the repository is in the middle of a merge, or another purge must
    finish first (``statevcs purge --continue``). Nothing was changed."""


class PurgeInterruptedError(PurgeError):
    """A purge stopped after it began (its journal, ``refs/meta/purge-journal``, says where):
    ``statevcs purge --continue`` (``Repository.purge_continue()``) finishes it."""


class KeyRequiredError(StateVCSError):
    """The repository is encrypted and no key was given (``key=``, ``STATEVCS_KEY``,
    ``STATEVCS_KEY_FILE`` or ``key_file`` in its config); nothing was read or written
    (docs/encryption.md)."""


class WrongKeyError(StateVCSError):
    """The key given does not open this repository (its key check value differs), or a key
    was given for a repository that is not encrypted; nothing was read or written."""


class InvalidKeyError(StateVCSError, ValueError):
    """A key is not 32 bytes written as 64 hex digits or base64, a key file cannot be read,
    or the ``cryptography`` package that encryption needs is missing."""
