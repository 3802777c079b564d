"""The commit-and-ref core every porcelain module shares: a store, its object reader,
HEAD and refs, revisions, and writing commits and ref moves in one transaction.

:class:`~statevcs.porcelain.repository.facade.Repository` is the facade built on this class; merging,
writers, remotes and the working-copy modules call these methods, so they depend on
this module and never on the facade (imports point one way).
"""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timezone
from typing import Any, Callable

from ...errors import CorruptObjectError, InvalidRefNameError, NothingToCommitError, RefConflictError, StateVCSError
from ...model import refnames
from ...model.objects import Commit, encode_commit
from ...model.reader import ObjectReader
from ...model.refnames import BRANCH_PREFIX, HEAD
from ...store.base import ANY, SYMBOLIC_PREFIX, Store, Transaction
from ...store.paths import DIR_NAME, path_text
from ..rules.files import SCHEMA_REF
from .revisions import resolve_revision

DEFAULT_BRANCH = "main"
DEFAULT_WORKING_FILE = "state.json"


def default_author() -> str:
    """``$STATEVCS_AUTHOR``, else ``user@host``."""
    env = os.environ.get("STATEVCS_AUTHOR")
    if env:
        return env
    import getpass  # with socket: loaded only when a commit needs a default author
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class RepositoryCore:
    """A store of objects and refs (and optionally a working directory): HEAD, revisions, commits."""

    def __init__(self, store: Store, workdir: str | None = None, author: str | None = None,
                 meta_dir: str | None = None) -> None:
        self.store = store
        self.workdir = workdir
        self._meta_dir = meta_dir  # only while a repository is being created under a temporary name
        self._author = author  # the default (user@host) is looked up on first use
        self.objects = ObjectReader(store)
        #: Merge policies {pointer pattern: policy} on top of .statevcs/attributes.
        self.policies: dict[str, str] = {}
        #: (workdir, meta dir) -> paths of the rules files (rules/files.py keeps it)
        self._rule_files: tuple[Any, tuple[str, str] | None] | None = None
        #: The ref HEAD named at the last commit: read with HEAD by the next one (checked there).
        self._head_hint = HEAD
        #: (branch argument, {ref: value}) as this repository's last commit left them: the next
        #: commit on the same branch assumes them (see Transaction.assume_refs), so on
        #: PostgreSQL it costs one round trip; any doubt and it is made again from fresh reads.
        self._last_commit_refs: tuple[str | None, dict[str, str | None]] | None = None

    @property
    def author(self) -> str:
        """Who commits made here are by: the author given when opening, else ``default_author()``."""
        if self._author is None:
            self._author = default_author()
        return self._author

    @author.setter
    def author(self, value: str) -> None:
        self._author = value

    @property
    def meta_dir(self) -> str | None:
        if self._meta_dir is not None:
            return self._meta_dir
        return os.path.join(self.workdir, DIR_NAME) if self.workdir else None

    def head_ref(self) -> str | None:
        """The ref HEAD points at (``refs/heads/main``), or None when HEAD is detached."""
        value = self.store.read_ref(HEAD)
        if value is not None and value.startswith(SYMBOLIC_PREFIX):
            return value[len(SYMBOLIC_PREFIX) :]
        return None

    @property
    def current_branch(self) -> str | None:
        """The branch HEAD is on, or None when detached."""
        ref = self.head_ref()
        return ref[len(BRANCH_PREFIX) :] if ref and ref.startswith(BRANCH_PREFIX) else None

    def head(self) -> Commit | None:
        """The commit HEAD names, or None on an unborn branch."""
        oid = self._ref_target(HEAD)
        return self.objects.commit(oid) if oid else None

    def _ref_target(self, name: str) -> str | None:
        """Follow symbolic refs; the id stored at the end, or None if absent/unborn."""
        for _ in range(10):
            value = self.store.read_ref(name)
            if value is None:
                return None
            if not value.startswith(SYMBOLIC_PREFIX):
                return value
            name = value[len(SYMBOLIC_PREFIX) :]
        raise CorruptObjectError(f"symbolic ref loop at {name}")

    def _branch_target_ref(self, branch: str | None) -> str:
        """The ref a commit on ``branch`` (None: HEAD's) moves."""
        if branch is not None:
            return refnames.branch_ref(branch)
        return self.head_ref() or HEAD

    def rev_parse(self, rev: str | Commit) -> str:
        """The full commit id a revision names (branch, tag, id or short id, HEAD, ~N, ^N)."""
        if isinstance(rev, Commit):
            return rev.id
        return resolve_revision(self, rev)

    def resolve(self, rev: str | Commit) -> Commit:
        """The Commit a revision names."""
        return rev if isinstance(rev, Commit) else self.objects.commit(self.rev_parse(rev))

    def _commit_root(
        self,
        root: str,
        objects: dict[str, bytes],
        message: str,
        author: str | None,
        branch: str | None,
        parent: str | None | object = ANY,
        metadata: dict[str, Any] | None = None,
        allow_empty: bool = False,
        extra_parents: tuple[str, ...] = (),
        why: str = "commit",
    ) -> Commit:
        # Without an explicit parent the caller wants "on top of the head": a lost race on a
        # store with optimistic CAS (PostgreSQL) is retried against the new head.
        attempts = 1 if parent is not ANY else 20
        if parent is not ANY and parent is not None:
            parent = self.rev_parse(parent)  # type: ignore[arg-type]
        speculation = self._last_commit_refs
        if parent is ANY and speculation is not None and speculation[0] == branch and self.store.remote_reads:
            try:
                return self._commit_once(root, objects, message, author, branch, parent, metadata, allow_empty,
                                         extra_parents, why, speculation[1])
            except StateVCSError:  # a ref moved, or something failed on the assumed values: read afresh
                self._last_commit_refs = None
        for attempt in range(attempts):
            try:
                return self._commit_once(root, objects, message, author, branch, parent, metadata, allow_empty,
                                         extra_parents, why)
            except RefConflictError:
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AssertionError("unreachable")

    def _commit_once(
        self,
        root: str,
        objects: dict[str, bytes],
        message: str,
        author: str | None,
        branch: str | None,
        parent: str | None | object,
        metadata: dict[str, Any] | None,
        allow_empty: bool,
        extra_parents: tuple[str, ...],
        why: str,
        assumed: dict[str, str | None] | None = None,
    ) -> Commit:
        who = author or self.author
        # Everything from reading the head to moving the ref happens in one transaction:
        # a commit either lands on the head it was built on, or nothing is written.
        with self.store.transaction() as tx:
            if assumed:
                tx.assume_refs(assumed)
            # HEAD, the branch (HEAD's target last time, when none is given) and the rules
            # document in one read where the store can; a wrong guess costs one more read.
            tx.read_refs((HEAD, refnames.branch_ref(branch) if branch is not None else self._head_hint, SCHEMA_REF))
            head_value = tx.read_ref(HEAD)
            head_ref = head_value[len(SYMBOLIC_PREFIX):] if head_value and head_value.startswith(SYMBOLIC_PREFIX) else None
            self._head_hint = head_ref or HEAD
            ref = refnames.branch_ref(branch) if branch is not None else (head_ref or HEAD)
            head = tx.read_ref(ref) if ref != HEAD else head_value
            if head is None and ref != HEAD and branch is None:  # a first commit creates the branch HEAD names
                _check_head_branch(ref)
            if parent is not ANY:
                expected_parent: str | None = parent  # type: ignore[assignment]  # resolved by the caller
                if expected_parent != head:
                    raise RefConflictError(
                        f"{refnames.short_name(ref)} moved: the state was based on "
                        f"{expected_parent[:10] if expected_parent else 'no commit'}, the branch is at "
                        f"{head[:10] if head else 'no commit'}",
                        ref, expected_parent, head,
                    )
            parents = ((head,) if head else ()) + tuple(extra_parents)
            parent_commits = [self.objects.commit(p) for p in parents]
            if not allow_empty and not extra_parents and parent_commits and parent_commits[0].root == root:
                raise NothingToCommitError(
                    f"nothing to commit: the state equals {refnames.short_name(ref)}'s head "
                    "(allow_empty=True to commit anyway)"
                )
            from ..rules.checks import check_rules  # loaded by the first commit, not by reads

            check_rules(self, tx, ref, root, objects, parent_commits[0].root if parent_commits else None)
            generation = 1 + max((c.generation for c in parent_commits), default=0)
            commit, raw = encode_commit(
                root, parents, generation, who, datetime.now(timezone.utc), message, metadata or {}
            )
            tx.put_objects({**objects, commit.id: raw})
            why_line = f"{why}: {commit.summary}"
            tx.set_ref(ref, commit.id, head, who, why_line)
            if ref == head_ref:
                tx.log_ref(HEAD, head, commit.id, who, why_line)
            refs_after = {HEAD: head_value, ref: commit.id, SCHEMA_REF: tx.read_ref(SCHEMA_REF)}
        self.objects._commits.put(commit.id, commit)
        self.objects.remember(objects)
        self._last_commit_refs = (branch, refs_after)
        return commit

    def _write(self, objects: dict[str, bytes], moves: list[tuple[str, str | None, object]], why: str,
               who: str | None = None, check: Callable[[Transaction], None] | None = None) -> None:
        """Put objects and CAS-move refs in one transaction; HEAD's reflog follows its branch.

        ``check`` runs first inside the transaction (no gc sweep runs meanwhile): a transfer's
        recheck of what it sent, a received push's rules; whatever it raises moves nothing."""
        head_ref = self.head_ref()
        who = who or self.author
        why = path_text(why)  # it may name a path (clone: from DIR) whose bytes are not UTF-8
        with self.store.transaction() as tx:
            if check is not None:
                check(tx)
            if objects:
                tx.put_objects(objects)
            for ref, new, expected in moves:
                if new is None:
                    old = tx.delete_ref(ref, expected, who, why)
                else:
                    old = tx.set_ref(ref, new, expected, who, why)
                if ref == head_ref:
                    tx.log_ref(HEAD, old, new, who, why)


def _check_head_branch(ref: str) -> None:
    """Refuse to create the branch HEAD names unless its name is valid (a HEAD written by
    something other than statevcs may name anything)."""
    try:
        refnames.check_ref(ref)
    except InvalidRefNameError as exc:
        raise InvalidRefNameError(f"HEAD names {ref}, which cannot be a branch ({exc}): "
                                  "'statevcs switch BRANCH' moves HEAD to a valid one") from None
