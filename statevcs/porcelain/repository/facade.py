"""Repository: commits, branches, tags, diffs, history and maintenance over a Store.

Every write is one store transaction with compare-and-swap ref updates, so a lost
race raises RefConflictError and leaves nothing half-written.

Size: about 500 lines because it is the whole public API surface in one class (plus the
remote and upkeep mixins beside it); each method is a short delegation to a concern
package, so splitting it further would scatter one reader's reference across files.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ...algo.history import is_ancestor, merge_bases
from ...errors import (
    InvalidRefNameError,
    NotARepositoryError,
    RefConflictError,
    RefExistsError,
    RevisionNotFoundError,
    WorkingStateError,
)
from ...model import refnames
from ...model.canonical import validate
from ...model.missing import MISSING
from ...model.objects import TAG, Commit, Ref, Tag, encode_tag
from ...model.pointer import format_pointer, parse_pointer
from ...model.refnames import BRANCH_PREFIX, HEAD, TAG_PREFIX
from ...model.tree import (
    SCALAR,
    child_at,
    child_token,
    lookup,
    materialize,
    read_tree,
    view,
    write_tree,
)
from ...store.base import ANY, SYMBOLIC_PREFIX, RefLogEntry
from ...store.locate import find_repository_dir, open_store
from ...store.paths import CONFIG_NAME, DIR_NAME, is_url
from ..core.repository_core import DEFAULT_BRANCH, DEFAULT_WORKING_FILE, RepositoryCore
from ..presentation.render import Diff
from ..worktree import settings
from .remote_methods import RemoteMethods
from .upkeep_methods import MaintenanceMethods

if TYPE_CHECKING:
    from ...algo.diff import Change
    from ..core.editing import EditTransaction
    from ..merging.merges import MergeOutcome
    from ..worktree.checkout import Refresh, WorkingStatus
from ..worktree.working_file import WorkingFile, confined_path, write_file_atomically


class Repository(RepositoryCore, RemoteMethods, MaintenanceMethods):
    """A statevcs repository: a store of objects and refs, and optionally a working directory.

    The facade over the porcelain modules; the commit-and-ref core they share lives in
    :mod:`statevcs.porcelain.core.repository_core`, below this module, so imports point one way."""

    # ---------------------------------------------------------------- opening
    @classmethod
    def init(
        cls,
        path: str = ".",
        working_file: str = DEFAULT_WORKING_FILE,
        initial_branch: str = DEFAULT_BRANCH,
        author: str | None = None,
        key: str | bytes | None = None,
        key_file: str | None = None,
    ) -> "Repository":
        """Create a repository at ``path`` (a directory, made if needed), or at a store URL.

        A directory repository appears whole or not at all (built aside, renamed last).
        With ``key`` (32 bytes, hex or base64) or ``key_file`` it is encrypted at rest
        (docs/encryption.md); ``key_file`` is also recorded in its config for later opens."""
        refnames.check_branch_name(initial_branch)
        if key_file is not None:
            from ...store.keys import read_key_file

            key = read_key_file(key_file)
        if is_url(path):
            from ..worktree.creation import create_at_url

            return create_at_url(cls, path, initial_branch, author, key)  # type: ignore[no-any-return]
        from ..worktree.creation import creating

        with creating(cls, path, working_file, initial_branch, author, key=key) as building:
            if key_file is not None:
                building._save_config({**building.config(), "key_file": os.path.abspath(key_file)})
        return cls.open(path, author, key=key)

    @classmethod
    def open(cls, path: str = ".", author: str | None = None, key: str | bytes | None = None) -> "Repository":
        """Open the repository at or above ``path`` (as git finds .git), or at a store URL.

        An encrypted repository needs its key: ``key``, the ``key_file`` in its config, or
        ``STATEVCS_KEY`` / ``STATEVCS_KEY_FILE`` (KeyRequiredError, WrongKeyError otherwise)."""
        if is_url(path):
            return cls(open_store(path, key=key), None, author)
        from ..worktree.creation import check_complete

        workdir = find_repository_dir(path)
        check_complete(os.path.join(workdir, DIR_NAME))
        return cls(open_store(os.path.join(workdir, DIR_NAME), key=key), workdir, author)

    @classmethod
    def memory(cls, author: str | None = None) -> "Repository":
        """A throw-away repository held in memory."""
        return cls.init("memory:", author=author)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Repository":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Repository({self.workdir or self.store.location!r})"

    def config(self) -> dict[str, Any]:
        """The settings in ``.statevcs/config.json`` (``{}`` for a repository without one)."""
        return settings.read(self.meta_dir)

    # ---------------------------------------------------------------- working state
    @property
    def working_file(self) -> WorkingFile:
        """The working state file (``state.json`` by default) of a repository with a directory."""
        if not self.workdir:
            raise WorkingStateError(f"{self.store.location} has no working directory (open a directory repository)")
        name = settings.working_file(self.config(), self.meta_dir, DEFAULT_WORKING_FILE)
        return WorkingFile(confined_path(self.workdir, name), self.meta_dir)

    def working_root(self) -> str:
        """Tree id of the working state; its nodes become readable through ``self.objects``."""
        root, objects = self.working_file.root()
        self.objects.extra.update(objects)
        return root

    def head_root(self) -> str:
        """Tree id of HEAD's state; the empty object ``{}`` on an unborn branch."""
        head = self.head()
        if head is not None:
            return head.root
        root, objects = write_tree({})
        self.objects.extra.update(objects)
        return root

    def working_changes(self) -> Diff:
        """HEAD's state to the working file (see ``working_status`` for the file's own edits)."""
        return self.diff_roots(self.head_root(), self.working_root())

    def working_status(self) -> "WorkingStatus":
        """The commit the working file was loaded from, HEAD, whether HEAD moved since, and the file's edits."""
        from ..worktree.checkout import working_status

        return working_status(self)

    def load_working(self, rev: str | Commit | None = HEAD) -> None:
        """Write ``rev``'s state into the working file and record it as the file's base (its edits are lost)."""
        from ..worktree.checkout import load_commit

        with self.working_file.locked():
            load_commit(self, None if rev is None or (rev == HEAD and self.head() is None) else self.rev_parse(rev))

    def refresh_working(self, strategy: str = "merge") -> "Refresh":
        """Carry the working file's edits onto HEAD after others committed (three-way merge).

        ``strategy="source_wins"`` keeps your edits where they overlap, ``"target_wins"``
        the branch's; with ``"merge"`` an overlap raises MergeConflictError, file unchanged."""
        from ..worktree.checkout import refresh

        with self.working_file.locked():
            return refresh(self, strategy)

    def _save_config(self, config: dict[str, Any]) -> None:
        if not self.meta_dir:
            raise NotARepositoryError(
                f"{self.store.location} keeps no configuration; remotes are named in directory repositories "
                "(fetch and push also take a URL or path directly)"
            )
        write_file_atomically(os.path.join(self.meta_dir, CONFIG_NAME), json.dumps(config, indent=2) + "\n")

    # ---------------------------------------------------------------- HEAD and refs
    @property
    def branches(self) -> dict[str, str]:
        """Branch name -> commit id."""
        return {k[len(BRANCH_PREFIX) :]: v for k, v in self.store.list_refs(BRANCH_PREFIX).items()}

    @property
    def tags(self) -> dict[str, str]:
        """Tag name -> commit id (annotated tags peeled)."""
        return {k[len(TAG_PREFIX) :]: self.objects.peel(v) for k, v in self.store.list_refs(TAG_PREFIX).items()}

    def tag_object(self, name: str) -> Tag | None:
        """The annotated tag object behind a tag name, or None for a lightweight tag."""
        value = self.store.read_ref(refnames.tag_ref(name))
        if value is None:
            raise RevisionNotFoundError(f"no tag named {name!r}")
        return self.objects.tag(value) if self.objects.kind(value) == TAG else None

    # ---------------------------------------------------------------- revisions
    # ---------------------------------------------------------------- reading states
    def get(self, rev: str | Commit = HEAD, pointer: str = "") -> Any:
        """The state at ``rev`` (or the part of it at the RFC 6901 ``pointer``), as fresh objects."""
        root = self.resolve(rev).root
        if pointer == "":
            return read_tree(self.objects, root)
        return lookup(self.objects, root, pointer)

    def path_token(self, root: str, pointer: str) -> str | None:
        """An identity of the value at ``pointer`` (None when absent); equal iff values are equal."""
        child = child_at(self.objects, Ref(root), list(parse_pointer(pointer)))
        if child is MISSING:
            return None
        kind, contents = view(self.objects, child)
        return child_token(contents if kind == SCALAR else child)

    # ---------------------------------------------------------------- committing
    def commit(
        self,
        state: Any,
        message: str = "",
        author: str | None = None,
        branch: str | None = None,
        parent: str | None | object = ANY,
        metadata: dict[str, Any] | None = None,
        allow_empty: bool = False,
    ) -> Commit:
        """Record ``state`` as a new commit on ``branch`` (default: HEAD's) and move the branch.

        ``parent`` is the commit the state was based on: if the branch has moved since,
        RefConflictError is raised and nothing is written. Left out, the current head is used.
        """
        validate(state)
        root, objects = write_tree(state)
        return self._commit_root(root, objects, message, author, branch, parent, metadata, allow_empty)

    # ---------------------------------------------------------------- branches
    def create_branch(self, name: str, start: str | Commit = HEAD, force: bool = False, expires: Any = None) -> str:
        """Create branch ``name`` at ``start``; RefExistsError if it exists (unless ``force``).

        ``expires`` (timedelta, datetime, or an age such as ``"2h"``) makes gc delete the branch
        once that time has passed (docs/retention.md)."""
        from ..upkeep.retention import EXPIRY_REF, create_branch

        if expires is not None or self.store.read_ref(EXPIRY_REF) is not None:  # sets or clears an expiry
            return create_branch(self, name, start, force, expires)
        ref = refnames.branch_ref(name)
        target = self.rev_parse(start)
        expected = ANY if force else None
        try:
            self._write({}, [(ref, target, expected)], f"branch: created from {start if isinstance(start, str) else target[:10]}")
        except RefExistsError:
            raise RefExistsError(f"a branch named {name!r} already exists", ref) from None
        return target

    def delete_branch(self, name: str, force: bool = False) -> str:
        """Delete a branch; refuses the current branch, and unmerged work unless ``force``."""
        ref = refnames.branch_ref(name)
        oid = self.store.read_ref(ref)
        if oid is None:
            raise RevisionNotFoundError(f"no branch named {name!r}")
        if self.head_ref() == ref:
            raise InvalidRefNameError(f"cannot delete branch {name!r}: it is the current branch (switch first)")
        if not force:
            head = self._ref_target(HEAD)
            if head is None or not is_ancestor(self.objects.commit, oid, head):
                raise RefConflictError(
                    f"branch {name!r} is not merged into HEAD; delete_branch(..., force=True) deletes it anyway", ref
                )
        self._write({}, [(ref, None, oid)], "branch: deleted")
        return oid

    def set_head(self, target: str, detach: bool = False) -> None:
        """Point HEAD at a branch (symbolic), or detach it at a commit."""
        old = self.store.read_ref(HEAD)
        if detach:
            oid = self.rev_parse(target)
            new = oid
        else:
            ref = refnames.branch_ref(target)
            if self.store.read_ref(ref) is None and self.branches:
                raise RevisionNotFoundError(f"no branch named {target!r}")
            new = SYMBOLIC_PREFIX + ref
        with self.store.transaction() as tx:
            tx.set_ref(HEAD, new, old, self.author, f"switch: to {target}")

    def reset(self, rev: str | Commit, branch: str | None = None) -> Commit:
        """Move ``branch`` (default: HEAD's) to ``rev``; the reflog keeps the old position."""
        target = self.resolve(rev)
        ref = self._branch_target_ref(branch)
        old = self._ref_target(ref)
        self._write({}, [(ref, target.id, old)], f"reset: moving to {rev if isinstance(rev, str) else target.short_id}")
        return target

    def restore(self, rev: str | Commit, branch: str | None = None, message: str | None = None,
                author: str | None = None) -> Commit:
        """A new commit on ``branch`` (default: HEAD's) whose state equals ``rev``'s."""
        source = self.resolve(rev)
        label = rev if isinstance(rev, str) else source.short_id
        return self._commit_root(
            source.root, {}, message or f"Restore state of {label} ({source.short_id})", author, branch,
            metadata={"restored_from": source.id}, why="restore",
        )

    # ---------------------------------------------------------------- tags
    def create_tag(self, name: str, rev: str | Commit = HEAD, message: str | None = None,
                   tagger: str | None = None, force: bool = False) -> str:
        """Tag ``rev``: annotated (a tag object) when ``message`` is given, else lightweight."""
        ref = refnames.tag_ref(name)
        target = self.rev_parse(rev)
        objects: dict[str, bytes] = {}
        value = target
        if message is not None:
            tag, raw = encode_tag(target, name, tagger or self.author, datetime.now(timezone.utc), message)
            objects[tag.id] = raw
            value = tag.id
        try:
            self._write(objects, [(ref, value, ANY if force else None)], "tag: created")
        except RefExistsError:
            raise RefExistsError(f"a tag named {name!r} already exists", ref) from None
        return value

    def delete_tag(self, name: str) -> None:
        ref = refnames.tag_ref(name)
        old = self.store.read_ref(ref)
        if old is None:
            raise RevisionNotFoundError(f"no tag named {name!r}")
        self._write({}, [(ref, None, old)], "tag: deleted")

    # ---------------------------------------------------------------- diff and history
    def diff(self, a: str | Commit = HEAD, b: str | Commit = HEAD, path: str = "") -> Diff:
        """The difference from revision ``a`` to revision ``b`` (optionally under ``path``)."""
        return self.diff_roots(self.resolve(a).root, self.resolve(b).root, path)

    def diff_roots(self, root_a: str, root_b: str, path: str = "") -> Diff:
        """The difference between two state trees, limited to ``path`` when given."""
        tokens = parse_pointer(path)  # checked even where the trees are equal
        if root_a == root_b:  # the same tree (a clean status): nothing to read or load
            changes: list[Change] = []
        elif path:
            a = child_at(self.objects, Ref(root_a), list(tokens))
            b = child_at(self.objects, Ref(root_b), list(tokens))
            changes = _diff_optional(self.objects, a, b, tokens)
        else:
            from ...algo.diff import diff_trees

            changes = diff_trees(self.objects, root_a, root_b)
        return Diff(tuple(changes), lambda: read_tree(self.objects, root_a), lambda: read_tree(self.objects, root_b))

    def log(self, rev: str | Commit = HEAD, path: str | None = None, limit: int | None = None,
            first_parent: bool = False) -> Iterator[Commit]:
        """Commits reachable from ``rev``, newest first; with ``path``, only those that changed it.

        ``rev`` may be a range: ``"A..B"`` (reachable from B, not from A) or ``"A...B"``."""
        from ..core.logview import select_commits
        from ..core.revisions import resolve_range

        span = resolve_range(self, rev) if not isinstance(rev, Commit) else None
        starts = list(span.include) if span else [rev.id]  # type: ignore[union-attr]
        return select_commits(self, starts, path=path, first_parent=first_parent, limit=limit,
                              exclude=span.exclude if span else ())

    def merge_bases(self, a: str | Commit, b: str | Commit) -> list[str]:
        """The best common ancestors of two revisions."""
        return merge_bases(self.objects.commit, self.rev_parse(a), self.rev_parse(b))

    def is_ancestor(self, ancestor: str | Commit, descendant: str | Commit) -> bool:
        return is_ancestor(self.objects.commit, self.rev_parse(ancestor), self.rev_parse(descendant))

    # ---------------------------------------------------------------- many writers
    def update(self, branch: str, fn: Callable[[Any], Any], message: str = "", retries: int | None = None,
               on_conflict: str = "retry", author: str | None = None,
               metadata: dict[str, Any] | None = None, timeout: float = 30.0) -> Commit:
        """Read ``branch``'s state, commit ``fn(state)`` on top of it, and re-run on a lost race.

        This is how many agents safely write one branch. ``fn`` gets a fresh copy it may
        mutate and returns the new state. With ``on_conflict="merge"`` a stale result is
        three-way merged onto the new head instead of re-running ``fn`` (MergeConflictError
        if the changes overlap). Lost races are retried with jittered exponential backoff
        for up to ``timeout`` seconds (``retries`` also caps their number, if given); then
        UpdateContentionError, a RefConflictError, and nothing is committed.
        """
        from ..core.writers import update

        return update(self, branch, fn, message, retries, on_conflict, author, metadata, timeout)

    def watch(self, branch: str, timeout: float | None = None, poll_interval: float = 0.1) -> Iterator[Commit]:
        """Yield commits as they land on ``branch``, oldest first, from now on.

        PostgreSQL stores are woken by LISTEN/NOTIFY; the others poll every ``poll_interval``
        seconds. With ``timeout``, stop after that many seconds without a new commit.
        """
        from ..core.writers import watch

        return watch(self, branch, timeout, poll_interval)

    # ---------------------------------------------------------------- incremental writes
    def edit(self, branch: str | None = None, message: str = "", author: str | None = None,
             metadata: dict[str, Any] | None = None, timeout: float = 30.0) -> "EditTransaction":
        """``with repo.edit() as tx:`` edit ``branch``'s state (default: HEAD's) in place:
        ``tx.set/remove/append/apply/get``, rewriting only the nodes on the edited paths.

        A clean exit commits (``tx.commit``; None if nothing changed), an exception commits
        nothing. A lost race replays the edits onto the new head (PatchConflictError if one
        no longer applies there) for up to ``timeout`` seconds. See porcelain/core/editing.py."""
        from ..core.editing import EditTransaction

        return EditTransaction(self, branch, message, author, metadata, timeout)

    def commit_patch(self, patch: Any, branch: str | None = None, message: str = "", author: str | None = None,
                     metadata: dict[str, Any] | None = None, allow_empty: bool = False,
                     timeout: float = 30.0) -> Commit:
        """Commit an RFC 6902 JSON Patch (a list, or its JSON text) applied to ``branch``'s head,
        without reading the whole state. InvalidPatchError / PatchConflictError (branch unchanged)
        if it is malformed or does not apply; NothingToCommitError if it changes nothing."""
        from ..core.editing import commit_patch

        return commit_patch(self, patch, branch, message, author, metadata, allow_empty, timeout)

    # ---------------------------------------------------------------- merging
    def merge(
        self,
        source: str | Commit,
        into: str | None = None,
        strategy: str = "merge",
        ff: str = "auto",
        paths: list[str] | None = None,
        message: str | None = None,
        resolutions: dict[str, Any] | None = None,
        policies: dict[str, str] | None = None,
        author: str | None = None,
    ) -> "MergeOutcome":
        """Merge ``source`` into branch ``into`` (default: HEAD's).

        Fast-forwards when possible unless ``ff="never"`` (``ff="only"`` refuses anything
        else). With ``paths``, only those subtrees are merged and the commit keeps a single
        parent (the source is not fully merged). Conflicts under ``strategy="merge"`` raise
        MergeConflictError and leave the branch untouched; ``resolutions={pointer: value}``
        (MISSING deletes) settles them on a retry.
        """
        from ..merging.merges import finish_merge, prepare_merge

        prepared = prepare_merge(self, source, into, strategy, ff, paths, resolutions, policies)
        label = source if isinstance(source, str) else source.short_id
        return finish_merge(self, prepared, message, author, label)

    def revert(self, rev: str | Commit, branch: str | None = None, strategy: str = "merge",
               message: str | None = None, author: str | None = None) -> Commit:
        """A new commit on ``branch`` (default: HEAD's) that undoes ``rev``'s changes (first parent
        for merges), by three-way merge; MergeConflictError if later commits touched the same values."""
        from ..merging.merges import replay

        return replay(self, rev, True, branch, strategy, message, author)

    def cherry_pick(self, rev: str | Commit, branch: str | None = None, strategy: str = "merge",
                    message: str | None = None, author: str | None = None) -> Commit:
        """A new commit on ``branch`` (default: HEAD's) that applies ``rev``'s changes, keeping its author."""
        from ..merging.merges import replay

        return replay(self, rev, False, branch, strategy, message, author)

    def merge_base(self, a: str | Commit, b: str | Commit) -> str | None:
        """The best common ancestor of two revisions (the first, if several), or None."""
        bases = self.merge_bases(a, b)
        return bases[0] if bases else None

    def reflog(self, ref: str = HEAD, limit: int | None = None) -> list[RefLogEntry]:
        """Moves of a ref (HEAD, a branch name, a tag name or a full ref), newest first."""
        name = ref
        if ref != HEAD and not ref.startswith("refs/"):
            for candidate in (BRANCH_PREFIX + ref, TAG_PREFIX + ref):
                if self.store.read_ref(candidate) is not None or self.store.reflog(candidate, 1):
                    name = candidate
                    break
            else:
                raise RevisionNotFoundError(f"no ref named {ref!r}")
        return self.store.reflog(name, limit)


def _diff_optional(source: Any, a: Any, b: Any, tokens: tuple[str, ...]) -> list[Change]:
    """Changes between two children that may be MISSING (a path absent on one side)."""
    from ...algo.diff import Change, diff_children

    if a is MISSING and b is MISSING:
        return []
    if a is MISSING:
        return [Change("add", format_pointer(tokens), MISSING, materialize(source, b))]
    if b is MISSING:
        return [Change("remove", format_pointer(tokens), materialize(source, a))]
    return diff_children(source, a, b, tokens)


__all__ = ["Repository"]
