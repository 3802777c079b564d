"""Copying history between repositories on any stores: remotes, fetch, push, pull, clone.

What travels, and how it is checked and batched, is transfer/sending.py's; here the refs move,
last, by compare-and-swap, once everything they name has arrived.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import (
    CorruptObjectError,
    InvalidRefNameError,
    NotARepositoryError,
    NotFastForwardError,
    ObjectNotFoundError,
    RefConflictError,
    RemoteNotFoundError,
    RepositoryExistsError,
    RevisionNotFoundError,
    RuleViolationError,
    StateVCSError,
)
from ...model import refnames
from ...model.objects import (
    COMMIT,
    is_object_id,
)
from ...model.refnames import BRANCH_PREFIX, REMOTE_PREFIX, TAG_PREFIX
from ...store.base import SYMBOLIC_PREFIX
from ...store.locate import open_store, repository_dir_exactly
from ...store.paths import DIR_NAME, is_url
from ..core.repository_core import DEFAULT_BRANCH, DEFAULT_WORKING_FILE
from ..rules.checks import check_branch_move
from ..worktree import settings
from ..worktree.creation import TEMP_PREFIX, creating
from .sending import Progress, TransferReport, recheck, send

if TYPE_CHECKING:
    from ..merging.merges import MergeOutcome
    from ..repository.facade import Repository

@dataclass(frozen=True)
class FetchReport:
    transfer: TransferReport
    updated: dict[str, tuple[str | None, str]]  # ref -> (old, new)


def looks_like_location(text: str) -> bool:
    return "://" in text or os.sep in text or text.startswith(".") or os.path.isdir(text) or os.path.isfile(text)


def resolve_remote(repo: "Repository", name_or_url: str) -> tuple[str, str]:
    """(remote name used for tracking refs, location); a bare URL or path tracks nothing."""
    remotes = repo.remotes
    if name_or_url in remotes:
        return name_or_url, remotes[name_or_url]
    if looks_like_location(name_or_url):
        return "", name_or_url
    raise RemoteNotFoundError(f"no remote named {name_or_url!r} (statevcs remote add {name_or_url} URL)")


def open_remote(cls: Any, location: str, key: str | bytes | None = None) -> "Repository":
    """The repository at exactly ``location`` (a store URL or a directory): never a parent,
    opened as a ``cls`` (the Repository class of the caller).

    An encrypted remote is opened with ``key``, else the ``key_file`` in its own config,
    else ``STATEVCS_KEY`` / ``STATEVCS_KEY_FILE`` (docs/encryption.md). Objects travel as
    plain ids and bytes through the API, so each side seals them with its own key."""
    if is_url(location):
        return cls.open(location, key=key)
    if os.path.isfile(location):  # a bundle file, read-only (store/bundle.py)
        from ...store.bundle import BundleStore

        return cls(BundleStore(location), None)
    workdir = repository_dir_exactly(location)
    return cls(open_store(os.path.join(workdir, DIR_NAME), key=key), workdir)


def remote_key(repo: "Repository", name: str) -> bytes | None:
    """The key of remote ``name`` from the ``remote_key_files`` of this repository's config, or None."""
    path = settings.remote_key_file(repo.config(), repo.meta_dir, name) if name else None
    if not path:
        return None
    from ...store.keys import read_key_file

    return read_key_file(path)


def check_remote_location(location: str) -> None:
    """NotARepositoryError unless a directory ``location`` holds a repository itself."""
    if not is_url(location) and not os.path.isfile(location):  # a file: a bundle, checked when read
        repository_dir_exactly(location)


def _checked_refs(refs: dict[str, str]) -> dict[str, str]:
    """A remote's refs, refused unless every name passes the local rules and every value is an id."""
    for ref, value in refs.items():
        try:
            refnames.check_ref(ref)
        except InvalidRefNameError as exc:
            raise InvalidRefNameError(f"the remote has an invalid ref: {exc}") from None
        if not is_object_id(value):
            raise CorruptObjectError(f"the remote's ref {ref} holds {ascii(value)[:80]}, not an object id")
    return refs


# ---------------------------------------------------------------- fetch, push


def fetch(repo: "Repository", remote: str, progress: Progress | None = None) -> FetchReport:
    """Copy the remote's branches and tags; move ``refs/remotes/NAME/*`` to its branches."""
    name, location = resolve_remote(repo, remote)
    other = open_remote(type(repo), location, remote_key(repo, name))
    try:
        for attempt in range(_SOURCE_RETRIES):
            listed = None
            try:
                listed = _source_refs(other, name)
                return _fetch_once(repo, other, name, name or location, listed, progress)
            except (CorruptObjectError, ObjectNotFoundError):
                # A branch of the remote deleted (and collected) while we read it is a race,
                # not damage: read its refs again. Refs that stayed put mean a damaged remote.
                if attempt == _SOURCE_RETRIES - 1 or (listed is not None and _source_refs(other, name) == listed):
                    raise
        raise AssertionError("unreachable")
    finally:
        other.close()


def _fetch_once(repo: "Repository", other: "Repository", name: str, label: str,
                listed: tuple[dict[str, str], dict[str, str]], progress: Progress | None) -> FetchReport:
    """One try of a fetch of the refs ``listed`` (branches, tags): send, then move the refs."""
    heads, tags = listed
    epoch = repo.store.gc_epoch()  # before planning: the ref move re-plans if a sweep deleted since
    report = send(other, repo.store, list(heads.values()) + list(tags.values()), progress, epoch)
    updated: dict[str, tuple[str | None, str]] = {}
    moves = []
    if name:
        for ref, oid in heads.items():
            local = f"{REMOTE_PREFIX}{name}/{ref[len(BRANCH_PREFIX):]}"
            old = repo.store.read_ref(local)
            if old != oid:
                moves.append((local, oid, old))
                updated[local] = (old, oid)
    for ref, oid in tags.items():
        if repo.store.read_ref(ref) is None:
            moves.append((ref, oid, None))
            updated[ref] = (None, oid)
    if moves:
        repo._write({}, moves, f"fetch: from {label}", check=recheck(other, repo.store, [m[1] for m in moves], epoch))
    return FetchReport(report, updated)


#: How often a fetch reads the remote's refs again when they moved under it.
_SOURCE_RETRIES = 5


def _source_refs(other: "Repository", name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The remote's branches and tags, checked (names, ids, branches naming commits)."""
    heads = _checked_refs(other.store.list_refs(BRANCH_PREFIX))
    tags = _checked_refs(other.store.list_refs(TAG_PREFIX))
    if name:
        for ref in heads:
            refnames.check_ref(f"{REMOTE_PREFIX}{name}/{ref[len(BRANCH_PREFIX):]}")
    for ref, oid in heads.items():
        if other.objects.kind(oid) != COMMIT:
            raise CorruptObjectError(f"the remote's branch {ref} points at {oid}, which is not a commit")
    return heads, tags


def push(repo: "Repository", remote: str, branch: str, force: bool = False,
         progress: Progress | None = None) -> tuple[TransferReport, str | None, str]:
    """Send ``branch`` to the remote's branch of the same name; returns (report, old, new).

    Refuses a non-fast-forward unless ``force``; the remote ref moves by compare-and-swap,
    so a push racing another push fails instead of dropping its commits.
    """
    name, location = resolve_remote(repo, remote)
    ref = refnames.branch_ref(branch)
    tip = repo.store.read_ref(ref)
    if tip is None:
        raise RevisionNotFoundError(f"no branch named {branch!r} to push")
    other = open_remote(type(repo), location, remote_key(repo, name))
    try:
        theirs = other.store.read_ref(ref)
        if theirs == tip:
            return TransferReport(), theirs, tip
        # Pushing to the branch checked out in a directory remote also moves its working file
        # when that file was clean (git's receive.denyCurrentBranch=updateInstead); a file with
        # edits (or one never used, as by API-only agents) is left exactly as it is.
        follow = (other.workdir is not None and other.head_ref() == ref and theirs is not None
                  and other.working_file.exists() and _working_is(other, theirs))
        if theirs is not None and not force:
            if not repo.store.has(theirs) or not repo.is_ancestor(theirs, tip):
                raise NotFastForwardError(
                    f"the remote's {branch} has commits this repository lacks (at {theirs[:10]}): "
                    f"fetch and merge first, or push with force=True to overwrite them"
                )
        epoch = other.store.gc_epoch()  # before planning: the ref move re-plans if a sweep deleted since
        report = send(repo, other.store, [tip], progress, epoch)
        objects_there = recheck(repo, other.store, [tip], epoch)

        def receive(tx: Any) -> None:  # the receiving side's pre-receive hook: its objects, then its rules
            objects_there(tx)
            check_branch_move(other, tx, ref, tip, theirs)

        try:
            other._write({}, [(ref, tip, theirs)], f"push: from {repo.workdir or repo.store.location}",
                         check=receive)
        except RefConflictError:
            raise RefConflictError(f"the remote's {branch} moved during the push; fetch and try again", ref) from None
        except RuleViolationError as exc:
            raise RuleViolationError(f"the remote refused the push: {exc}", exc.pointer, exc.rule) from None
        if follow:  # checked again under the remote's working-file lock: an edit made meanwhile stays
            with other.working_file.locked():
                if _working_is(other, theirs):
                    other.working_file.load(other.get(tip), tip)
        if name:
            tracking = f"{REMOTE_PREFIX}{name}/{branch}"
            repo._write({}, [(tracking, tip, repo.store.read_ref(tracking))], "push: update tracking ref")
        return report, theirs, tip
    finally:
        other.close()


def _working_is(repo: "Repository", commit_id: str) -> bool:
    """Does the working file hold exactly the state of ``commit_id``? (False if unreadable.)"""
    try:
        return repo.working_root() == repo.objects.commit(commit_id).root
    except StateVCSError:
        return False


def remote_head_branch(other: "Repository") -> str | None:
    """The branch the remote's HEAD names, if it names one that exists."""
    value = other.store.read_ref(refnames.HEAD)
    if value and value.startswith(SYMBOLIC_PREFIX + BRANCH_PREFIX):
        name = value[len(SYMBOLIC_PREFIX + BRANCH_PREFIX):]
        if other.store.read_ref(BRANCH_PREFIX + name) is not None:
            return name
    branches = other.branches
    if "main" in branches:
        return "main"
    return next(iter(branches), None)


# ---------------------------------------------------------------- pull, clone


def pull(repo: "Repository", remote: str, branch: str, strategy: str = "merge", progress: Any = None,
         **merge_options: Any) -> "MergeOutcome":
    """Fetch, then merge the remote's ``branch`` into the current branch."""
    name, location = resolve_remote(repo, remote)
    repo.fetch(remote, progress)
    source = f"{refnames.REMOTE_PREFIX}{name}/{branch}" if name else None
    if source is None:
        other = open_remote(type(repo), location)
        try:
            oid = other.store.read_ref(refnames.branch_ref(branch))
        finally:
            other.close()
        if oid is None:
            raise RevisionNotFoundError(f"the remote has no branch {branch!r}")
        source = oid
    elif repo.store.read_ref(source) is None:
        raise RevisionNotFoundError(f"the remote {name!r} has no branch {branch!r}")
    return repo.merge(source, strategy=strategy, **merge_options)


def check_clone_target(target: str) -> None:
    """RepositoryExistsError if ``target`` is a directory that exists and is not empty, or a
    store that already holds refs: a clone never writes over anything (as git refuses)."""
    if is_url(target):
        if target == "memory:":
            return
        try:
            store = open_store(target)
        except NotARepositoryError:  # nothing there yet
            return
        with store:
            if store.list_refs():
                raise RepositoryExistsError(f"{target} already holds a repository; clone into an empty one")
        return
    if os.path.isdir(target):
        if entries := os.listdir(target):
            if any(e.startswith(TEMP_PREFIX) for e in entries):
                raise RepositoryExistsError(
                    f"destination {target} holds an interrupted clone or init ({TEMP_PREFIX}...); "
                    f"remove it ('rm -r {target}') and clone again")
            raise RepositoryExistsError(f"destination {target} already exists and is not an empty directory")
    elif os.path.lexists(target):
        raise RepositoryExistsError(f"destination {target} already exists and is not a directory")


def clone(cls: Any, source: str, target: str, progress: Any = None, author: str | None = None,
          key: str | bytes | None = None) -> "Repository":
    """A new repository at ``target`` (directory or URL) with ``source``'s history; the
    remote is named ``origin`` and its HEAD branch is checked out.

    ``target`` must be absent or an empty directory (or an empty store). Everything is
    checked before the branch is set; if the clone fails, the directory it made is removed.
    With ``key`` the new repository is encrypted with it (docs/encryption.md)."""
    check_clone_target(target)
    other = open_remote(cls, source)
    try:
        branch = remote_head_branch(other) or DEFAULT_BRANCH
        refnames.check_branch_name(branch)
    finally:
        other.close()
    if not is_url(target):
        # Built under a temporary .statevcs name and renamed last: a killed clone never
        # leaves something that looks like a whole repository (worktree/creation.py).
        with creating(cls, target, DEFAULT_WORKING_FILE, branch, author, key=key) as building:
            _clone_into(building, source, branch, progress)
        return cls.open(target, author, key=key)
    repo = cls.init(target, initial_branch=branch, author=author, key=key)  # a store URL
    try:
        _clone_into(repo, source, branch, progress)
        return repo
    except BaseException:
        repo.close()
        raise


def _clone_into(repo: "Repository", source: str, branch: str, progress: Any) -> None:
    location = source if is_url(source) else os.path.abspath(source)
    if repo.meta_dir:
        repo.add_remote("origin", location)
        repo.fetch("origin", progress)
        tip = repo.store.read_ref(f"{refnames.REMOTE_PREFIX}origin/{branch}")
    else:  # a store URL: no remote-tracking refs hold the fetched branches, so they move here
        fetch(repo, location, progress)
        other = open_remote(type(repo), source)
        try:
            tip = other.store.read_ref(refnames.branch_ref(branch))
            for ref, oid in _checked_refs(other.store.list_refs(BRANCH_PREFIX)).items():
                if ref != refnames.branch_ref(branch) and repo.store.has(oid):
                    repo._write({}, [(ref, oid, None)], f"clone: from {source}",
                                check=recheck(other, repo.store, [oid], None))
            if tip is not None:  # re-planned in the ref move: gc may have swept since the fetch
                repo._write({}, [(refnames.branch_ref(branch), tip, None)], f"clone: from {source}",
                            check=recheck(other, repo.store, [tip], None))
        finally:
            other.close()
        return
    if tip is not None:
        repo._write({}, [(refnames.branch_ref(branch), tip, None)], f"clone: from {source}")
        if repo.workdir:
            repo.working_file.load(repo.get(tip), tip)
