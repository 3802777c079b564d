"""Repository: commits, branches, tags, diffs, history and maintenance over a Store.

Every write is one store transaction with compare-and-swap ref updates, so a lost
race raises RefConflictError and leaves nothing half-written.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..algo.diff import Change, diff_trees
from ..algo.history import is_ancestor, merge_bases, walk
from ..errors import (
    CorruptObjectError,
    InvalidRefNameError,
    MergeConflictError,
    NothingToCommitError,
    NotARepositoryError,
    ObjectNotFoundError,
    RefConflictError,
    RefExistsError,
    RepositoryExistsError,
    RevisionNotFoundError,
    StateVCSError,
    UnsupportedObjectError,
    WorkingStateError,
)
from ..model import refnames
from ..model.canonical import validate
from ..model.objects import COMMIT, TAG, Commit, Ref, Tag, child_ids, encode_commit, encode_tag, kind_of
from ..model.pointer import parse_pointer
from ..model.reader import ObjectReader
from ..model.refnames import BRANCH_PREFIX, HEAD, TAG_PREFIX
from ..model.tree import lookup, read_tree, write_tree
from ..store.base import ANY, SYMBOLIC_PREFIX, RefLogEntry, Store, verify
from ..store.locate import DIR_NAME, find_repository_dir, is_url, open_store
from .render import Diff

if TYPE_CHECKING:
    from .merging import MergeOutcome
    from .remotes import FetchReport, TransferReport
from .worktree import WorkingFile
from .revisions import MIN_PREFIX, ambiguous, is_hex_prefix, parse_revision

DEFAULT_BRANCH = "main"
DEFAULT_WORKING_FILE = "state.json"
CONFIG_NAME = "config.json"


def default_author() -> str:
    """``$STATEVCS_AUTHOR``, else ``user@host``."""
    env = os.environ.get("STATEVCS_AUTHOR")
    if env:
        return env
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class FsckReport:
    """What fsck found: objects checked and problems (empty when the repository is sound)."""

    objects: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class GcReport:
    kept: int
    removed: int


class Repository:
    """A statevcs repository: a store of objects and refs, and optionally a working directory."""

    def __init__(self, store: Store, workdir: str | None = None, author: str | None = None) -> None:
        self.store = store
        self.workdir = workdir
        self.author = author or default_author()
        self.objects = ObjectReader(store)
        #: Merge policies {pointer pattern: policy} on top of .statevcs/attributes.
        self.policies: dict[str, str] = {}

    # ---------------------------------------------------------------- opening
    @classmethod
    def init(
        cls,
        path: str = ".",
        working_file: str = DEFAULT_WORKING_FILE,
        initial_branch: str = DEFAULT_BRANCH,
        author: str | None = None,
    ) -> "Repository":
        """Create a repository at ``path`` (a directory, made if needed), or at a store URL."""
        refnames.check_branch_name(initial_branch)
        if is_url(path):
            store = open_store(path, create=True)
            repo = cls(store, None, author)
        else:
            workdir = os.path.abspath(path)
            meta = os.path.join(workdir, DIR_NAME)
            if os.path.exists(meta):
                raise RepositoryExistsError(f"a statevcs repository already exists in {workdir}")
            os.makedirs(meta)
            with open(os.path.join(meta, CONFIG_NAME), "w") as f:
                json.dump({"format": 1, "working_file": working_file}, f, indent=2)
                f.write("\n")
            store = open_store(meta, create=True)
            repo = cls(store, workdir, author)
            state_path = os.path.join(workdir, working_file)
            if not os.path.exists(state_path):
                with open(state_path, "w") as f:
                    f.write("{}\n")
        if store.read_ref(HEAD) is None:
            store.update_ref(HEAD, SYMBOLIC_PREFIX + BRANCH_PREFIX + initial_branch, None, repo.author, "init")
        return repo

    @classmethod
    def open(cls, path: str = ".", author: str | None = None) -> "Repository":
        """Open the repository at or above ``path`` (as git finds .git), or at a store URL."""
        if is_url(path):
            return cls(open_store(path), None, author)
        workdir = find_repository_dir(path)
        return cls(open_store(os.path.join(workdir, DIR_NAME)), workdir, author)

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

    @property
    def meta_dir(self) -> str | None:
        return os.path.join(self.workdir, DIR_NAME) if self.workdir else None

    def config(self) -> dict[str, Any]:
        if not self.meta_dir:
            return {}
        try:
            with open(os.path.join(self.meta_dir, CONFIG_NAME)) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise NotARepositoryError(f"{self.meta_dir}/{CONFIG_NAME} is not valid JSON: {exc}") from None

    # ---------------------------------------------------------------- working state
    @property
    def working_file(self) -> WorkingFile:
        """The working state file (``state.json`` by default) of a repository with a directory."""
        if not self.workdir:
            raise WorkingStateError(f"{self.store.location} has no working directory (open a directory repository)")
        name = self.config().get("working_file", DEFAULT_WORKING_FILE)
        return WorkingFile(os.path.join(self.workdir, name))

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
        """Uncommitted changes: HEAD's state to the working file."""
        return self.diff_roots(self.head_root(), self.working_root())

    def _save_config(self, config: dict[str, Any]) -> None:
        if not self.meta_dir:
            raise NotARepositoryError(
                f"{self.store.location} keeps no configuration; remotes are named in directory repositories "
                "(fetch and push also take a URL or path directly)"
            )
        path = os.path.join(self.meta_dir, CONFIG_NAME)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)

    # ---------------------------------------------------------------- remotes
    @property
    def remotes(self) -> dict[str, str]:
        """Remote name -> URL or path."""
        return dict(self.config().get("remotes", {}))

    def add_remote(self, name: str, location: str) -> None:
        """Name another repository (a directory or a store URL) for fetch, push and pull."""
        refnames.check_name(name, "remote name")
        if "/" in name:
            raise InvalidRefNameError(f"invalid remote name {name!r}: must not contain '/'")
        config = self.config()
        remotes = config.setdefault("remotes", {})
        if name in remotes:
            raise RefExistsError(f"a remote named {name!r} already exists ({remotes[name]})")
        remotes[name] = location if is_url(location) else os.path.abspath(location)
        self._save_config(config)

    def remove_remote(self, name: str) -> None:
        """Forget a remote and its remote-tracking refs."""
        from ..errors import RemoteNotFoundError

        config = self.config()
        if name not in config.get("remotes", {}):
            raise RemoteNotFoundError(f"no remote named {name!r}")
        del config["remotes"][name]
        self._save_config(config)
        tracking = self.store.list_refs(f"{refnames.REMOTE_PREFIX}{name}/")
        if tracking:
            self._write({}, [(ref, None, oid) for ref, oid in tracking.items()], f"remote: removed {name}")

    def fetch(self, remote: str, progress: Any = None) -> "FetchReport":
        """Copy a remote's branches (to ``refs/remotes/NAME/*``) and new tags; only missing objects travel."""
        from .remotes import fetch

        return fetch(self, remote, progress)

    def push(self, remote: str, branch: str, force: bool = False, progress: Any = None) -> "TransferReport":
        """Send ``branch`` to the remote; NotFastForwardError unless it fast-forwards (or ``force``)."""
        from .remotes import push

        return push(self, remote, branch, force, progress)[0]

    def pull(self, remote: str, branch: str, strategy: str = "merge", progress: Any = None,
             **merge_options: Any) -> "MergeOutcome":
        """Fetch, then merge the remote's ``branch`` into the current branch."""
        from .remotes import resolve_remote

        name, location = resolve_remote(self, remote)
        self.fetch(remote, progress)
        source = f"{refnames.REMOTE_PREFIX}{name}/{branch}" if name else None
        if source is None:
            from .remotes import open_remote

            other = open_remote(location)
            try:
                oid = other.store.read_ref(refnames.branch_ref(branch))
            finally:
                other.close()
            if oid is None:
                raise RevisionNotFoundError(f"the remote has no branch {branch!r}")
            source = oid
        elif self.store.read_ref(source) is None:
            raise RevisionNotFoundError(f"the remote {name!r} has no branch {branch!r}")
        return self.merge(source, strategy=strategy, **merge_options)

    @classmethod
    def clone(cls, source: str, target: str, progress: Any = None, author: str | None = None) -> "Repository":
        """A new repository at ``target`` (directory or URL) with ``source``'s history; the
        remote is named ``origin`` and its HEAD branch is checked out."""
        from .remotes import open_remote, remote_head_branch

        other = open_remote(source)
        try:
            branch = remote_head_branch(other) or DEFAULT_BRANCH
        finally:
            other.close()
        repo = cls.init(target, initial_branch=branch, author=author)
        location = source if is_url(source) else os.path.abspath(source)
        if repo.meta_dir:
            repo.add_remote("origin", location)
            repo.fetch("origin", progress)
            tip = repo.store.read_ref(f"{refnames.REMOTE_PREFIX}origin/{branch}")
        else:
            from .remotes import fetch as _fetch

            _fetch(repo, location, progress)
            other = open_remote(source)
            try:
                tip = other.store.read_ref(refnames.branch_ref(branch))
                for ref, oid in other.store.list_refs(BRANCH_PREFIX).items():
                    if ref != refnames.branch_ref(branch):
                        repo._write({}, [(ref, oid, None)], f"clone: from {source}")
            finally:
                other.close()
        if tip is not None:
            repo._write({}, [(refnames.branch_ref(branch), tip, None)], f"clone: from {source}")
            if repo.workdir:
                repo.working_file.write(repo.get(tip))
        return repo

    # ---------------------------------------------------------------- HEAD and refs
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

    def _branch_target_ref(self, branch: str | None) -> str:
        """The ref a commit on ``branch`` (None: HEAD's) moves."""
        if branch is not None:
            return refnames.branch_ref(branch)
        return self.head_ref() or HEAD

    # ---------------------------------------------------------------- revisions
    def rev_parse(self, rev: str) -> str:
        """The full commit id a revision names."""
        if isinstance(rev, Commit):
            return rev.id
        parsed = parse_revision(rev)
        oid = self._resolve_base(parsed.base, rev)
        for op, n in parsed.steps:
            if op == "~":
                for _ in range(n):
                    parents = self.objects.commit(oid).parents
                    if not parents:
                        raise RevisionNotFoundError(f"unknown revision {rev!r}: history is not that long")
                    oid = parents[0]
            else:
                if n == 0:
                    continue
                parents = self.objects.commit(oid).parents
                if len(parents) < n:
                    raise RevisionNotFoundError(f"unknown revision {rev!r}: commit {oid[:10]} has no parent {n}")
                oid = parents[n - 1]
        return oid

    def resolve(self, rev: str | Commit) -> Commit:
        """The Commit a revision names."""
        return rev if isinstance(rev, Commit) else self.objects.commit(self.rev_parse(rev))

    def _resolve_base(self, base: str, text: str) -> str:
        if len(base) == 64 and is_hex_prefix(base):  # a full id: no ref lookups needed
            try:
                return self.objects.peel(base.lower())
            except ObjectNotFoundError:
                pass
        if base in (HEAD, "@"):
            oid = self._ref_target(HEAD)
            if oid is None:
                branch = self.current_branch
                raise RevisionNotFoundError(
                    f"HEAD: branch {branch!r} has no commits yet" if branch else "HEAD does not exist"
                )
            return oid
        candidates = [base] if base.startswith("refs/") else []
        candidates += [BRANCH_PREFIX + base, TAG_PREFIX + base, refnames.REMOTE_PREFIX + base]
        for name in candidates:
            oid = self._ref_target(name)
            if oid is not None:
                return self.objects.peel(oid)
        if is_hex_prefix(base):
            prefix = base.lower()
            matches = self.store.ids_with_prefix(prefix, limit=10) if len(prefix) < 64 else (
                [prefix] if self.store.has(prefix) else []
            )
            commits = []
            for oid in matches:
                kind = self.objects.kind(oid)
                if kind == COMMIT:
                    commits.append(oid)
                elif kind == TAG:
                    commits.append(self.objects.peel(oid))
            commits = sorted(set(commits))
            if len(commits) == 1:
                return commits[0]
            if len(commits) > 1:
                raise ambiguous(base, commits)
            if matches:
                raise RevisionNotFoundError(f"{text!r} names an object that is not a commit")
        elif all(c in "0123456789abcdefABCDEF" for c in base) and len(base) < MIN_PREFIX:
            raise RevisionNotFoundError(f"unknown revision {text!r} (short ids need at least {MIN_PREFIX} digits)")
        raise RevisionNotFoundError(f"unknown revision {text!r}")

    # ---------------------------------------------------------------- reading states
    def get(self, rev: str | Commit = HEAD, pointer: str = "") -> Any:
        """The state at ``rev`` (or the part of it at the RFC 6901 ``pointer``), as fresh objects."""
        root = self.resolve(rev).root
        if pointer == "":
            return read_tree(self.objects, root)
        return lookup(self.objects, root, pointer)

    def path_token(self, root: str, pointer: str) -> str | None:
        """An identity of the value at ``pointer`` (None when absent); equal iff values are equal."""
        from ..model.tree import child_token
        from ..algo.diff import view

        tokens = parse_pointer(pointer)
        current: Any = Ref(root)
        for token in tokens:
            kind, contents = view(self.objects, current)
            if kind == "object":
                if token not in contents:
                    return None
                current = contents[token]
            elif kind == "array":
                if not token.isdigit() or (len(token) > 1 and token[0] == "0") or int(token) >= len(contents):
                    return None
                current = contents[int(token)]
            else:
                return None
        if type(current) is Ref:
            kind, contents = view(self.objects, current)
            if kind == "scalar":
                return child_token(contents)
        return child_token(current)

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
    ) -> Commit:
        who = author or self.author
        # Everything from reading the head to moving the ref happens in one transaction:
        # a commit either lands on the head it was built on, or nothing is written.
        with self.store.transaction() as tx:
            head_value = tx.read_ref(HEAD)
            head_ref = head_value[len(SYMBOLIC_PREFIX):] if head_value and head_value.startswith(SYMBOLIC_PREFIX) else None
            ref = refnames.branch_ref(branch) if branch is not None else (head_ref or HEAD)
            head = tx.read_ref(ref) if ref != HEAD else head_value
            if parent is not ANY:
                expected_parent = None if parent is None else self.rev_parse(parent)  # type: ignore[arg-type]
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
            generation = 1 + max((c.generation for c in parent_commits), default=0)
            commit, raw = encode_commit(
                root, parents, generation, who, datetime.now(timezone.utc), message, metadata or {}
            )
            tx.put_objects({**objects, commit.id: raw})
            why_line = f"{why}: {commit.summary}"
            tx.set_ref(ref, commit.id, head, who, why_line)
            if ref == head_ref:
                tx.log_ref(HEAD, head, commit.id, who, why_line)
        self.objects._commits.put(commit.id, commit)
        return commit

    def _write(self, objects: dict[str, bytes], moves: list[tuple[str, str | None, object]], why: str,
               who: str | None = None) -> None:
        """Put objects and CAS-move refs in one transaction; HEAD's reflog follows its branch."""
        head_ref = self.head_ref()
        who = who or self.author
        with self.store.transaction() as tx:
            if objects:
                tx.put_objects(objects)
            for ref, new, expected in moves:
                if new is None:
                    old = tx.delete_ref(ref, expected, who, why)
                else:
                    old = tx.set_ref(ref, new, expected, who, why)
                if ref == head_ref:
                    tx.log_ref(HEAD, old, new, who, why)

    # ---------------------------------------------------------------- branches
    def create_branch(self, name: str, start: str | Commit = HEAD, force: bool = False) -> str:
        """Create branch ``name`` at ``start``; RefExistsError if it exists (unless ``force``)."""
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
                    f"branch {name!r} is not merged into HEAD; use force=True (CLI: -D) to delete it anyway", ref
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
        if path:
            from ..algo.diff import diff_children

            tokens = parse_pointer(path)
            a, b = self._child_at(root_a, tokens), self._child_at(root_b, tokens)
            changes = _diff_optional(self.objects, a, b, tokens)
        else:
            changes = diff_trees(self.objects, root_a, root_b)
        return Diff(tuple(changes), lambda: read_tree(self.objects, root_a), lambda: read_tree(self.objects, root_b))

    def _child_at(self, root: str, tokens: tuple[str, ...]) -> Any:
        from ..algo.diff import view
        from ..algo.missing import MISSING

        current: Any = Ref(root)
        for token in tokens:
            kind, contents = view(self.objects, current)
            if kind == "object" and token in contents:
                current = contents[token]
            elif kind == "array" and token.isdigit() and int(token) < len(contents):
                current = contents[int(token)]
            else:
                return MISSING
        return current

    def log(self, rev: str | Commit = HEAD, path: str | None = None, limit: int | None = None,
            first_parent: bool = False) -> Iterator[Commit]:
        """Commits reachable from ``rev``, newest first; with ``path``, only those that changed it."""
        if path is not None:
            parse_pointer(path)
        start = self.rev_parse(rev) if not isinstance(rev, Commit) else rev.id
        count = 0
        for commit in walk(self.objects.commit, [start], first_parent=first_parent):
            if limit is not None and count >= limit:
                return
            if path is not None and not self._changed(commit, path):
                continue
            count += 1
            yield commit

    def _changed(self, commit: Commit, path: str) -> bool:
        """Did ``commit`` change the value at ``path`` (relative to every parent)?"""
        mine = self.path_token(commit.root, path)
        if not commit.parents:
            return mine is not None
        return all(self.path_token(self.objects.commit(p).root, path) != mine for p in commit.parents)

    def merge_bases(self, a: str | Commit, b: str | Commit) -> list[str]:
        """The best common ancestors of two revisions."""
        return merge_bases(self.objects.commit, self.rev_parse(a), self.rev_parse(b))

    def is_ancestor(self, ancestor: str | Commit, descendant: str | Commit) -> bool:
        return is_ancestor(self.objects.commit, self.rev_parse(ancestor), self.rev_parse(descendant))

    # ---------------------------------------------------------------- many writers
    def update(
        self,
        branch: str,
        fn: Callable[[Any], Any],
        message: str = "",
        retries: int = 100,
        on_conflict: str = "retry",
        author: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Commit:
        """Read ``branch``'s state, commit ``fn(state)`` on top of it, and re-run on a lost race.

        This is how many agents safely write one branch. ``fn`` gets a fresh copy it may
        mutate and returns the new state. With ``on_conflict="merge"`` a stale result is
        three-way merged onto the new head instead of re-running ``fn`` (MergeConflictError
        if the changes overlap). Gives up with RefConflictError after ``retries`` lost races.
        """
        from ..algo.merge import merge_trees
        from .merging import repository_policies

        if on_conflict not in ("retry", "merge"):
            raise ValueError(f"on_conflict must be 'retry' or 'merge', not {on_conflict!r}")
        ref = refnames.branch_ref(branch)
        pending: tuple[str, str, dict[str, bytes]] | None = None  # (based_on, root, objects) to merge
        for attempt in range(retries + 1):
            head_id = self._ref_target(ref)
            if pending is not None and head_id is not None:
                based_on, mine, mine_objects = pending
                self.objects.extra.update(mine_objects)
                merged = merge_trees(self.objects, self.objects.commit(based_on).root,
                                     self.objects.commit(head_id).root, mine,
                                     policies=repository_policies(self, None))
                if merged.conflicts:
                    raise MergeConflictError(
                        f"update of {branch} overlaps with concurrent changes at "
                        + ", ".join(c.path or "/" for c in merged.conflicts[:5]), merged.conflicts)
                root, objects = merged.root, {**mine_objects, **merged.objects}
            else:
                state = self.get(head_id) if head_id else None
                new = fn(state)
                validate(new)
                root, objects = write_tree(new)
            try:
                return self._commit_once(root, objects, message, author, branch, head_id, metadata, True, (),
                                         "update")
            except RefConflictError:
                if on_conflict == "merge" and head_id is not None:
                    pending = (head_id, root, objects)
                time.sleep(random.uniform(0, min(0.05, 0.001 * (attempt + 1))))
        raise RefConflictError(f"update of {branch} lost the race {retries + 1} times; try again later", ref)

    def watch(self, branch: str, timeout: float | None = None, poll_interval: float = 0.1) -> Iterator[Commit]:
        """Yield commits as they land on ``branch``, oldest first, from now on.

        PostgreSQL stores are woken by LISTEN/NOTIFY; the others poll every ``poll_interval``
        seconds. With ``timeout``, stop after that many seconds without a new commit.
        """
        ref = refnames.branch_ref(branch)
        seen = self._ref_target(ref)
        listener = getattr(self.store, "connect_listener", None)
        conn = listener() if listener else None
        try:
            idle_since = time.monotonic()
            while True:
                current = self._ref_target(ref)
                if current is not None and current != seen:
                    for c in self._new_commits(current, seen):
                        yield c
                    seen = current
                    idle_since = time.monotonic()
                wait = poll_interval
                if timeout is not None:
                    left = timeout - (time.monotonic() - idle_since)
                    if left <= 0:
                        return
                    wait = min(wait, left) if conn is None else left
                if conn is not None:
                    for _ in conn.notifies(timeout=min(wait, 1.0), stop_after=1):
                        break
                else:
                    time.sleep(wait)
        finally:
            if conn is not None:
                conn.close()

    def _new_commits(self, tip: str, known: str | None) -> list[Commit]:
        """Commits reachable from ``tip`` but not from ``known``, oldest first."""
        get = self.objects.commit
        fresh: list[Commit] = []
        stack, visited = [tip], {tip}
        while stack:
            c = get(stack.pop())
            if known is not None and is_ancestor(get, c.id, known):
                continue
            fresh.append(c)
            for p in c.parents:
                if p not in visited:
                    visited.add(p)
                    stack.append(p)
        return sorted(fresh, key=lambda c: (c.generation, c.timestamp, c.id))

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
        from .merging import finish_merge, prepare_merge

        prepared = prepare_merge(self, source, into, strategy, ff, paths, resolutions, policies)
        label = source if isinstance(source, str) else source.short_id
        return finish_merge(self, prepared, message, author, label)

    def revert(self, rev: str | Commit, branch: str | None = None, strategy: str = "merge",
               message: str | None = None, author: str | None = None) -> Commit:
        """A new commit on ``branch`` (default: HEAD's) that undoes ``rev``'s changes (first parent
        for merges), by three-way merge; MergeConflictError if later commits touched the same values."""
        from .merging import replay

        return replay(self, rev, True, branch, strategy, message, author)

    def cherry_pick(self, rev: str | Commit, branch: str | None = None, strategy: str = "merge",
                    message: str | None = None, author: str | None = None) -> Commit:
        """A new commit on ``branch`` (default: HEAD's) that applies ``rev``'s changes, keeping its author."""
        from .merging import replay

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

    # ---------------------------------------------------------------- maintenance
    def reachable(self) -> set[str]:
        """Every object reachable from refs (and from the reflog, like git keeps it)."""
        from ..model.tree import walk_ids

        seen: set[str] = set()
        commits: list[str] = []
        starts = set(self.store.list_refs().values())
        for name in self.store.list_refs():
            for entry in self.store.reflog(name):
                starts.update(v for v in (entry.old, entry.new) if v)
        for value in starts:
            if value.startswith(SYMBOLIC_PREFIX) or value in seen:
                continue
            oid = value
            while self.objects.kind(oid) == TAG:
                seen.add(oid)
                oid = self.objects.tag(oid).target
            commits.append(oid)
        for commit in walk(self.objects.commit, commits):
            seen.add(commit.id)
            for _ in walk_ids(self.objects, commit.root, seen):
                pass
        return seen

    def gc(self) -> GcReport:
        """Delete objects no ref or reflog entry can reach."""
        keep = self.reachable()
        garbage = [oid for oid in self.store.iter_ids() if oid not in keep]
        removed = self.store.delete_objects(garbage) if garbage else 0
        self.objects.forget()
        return GcReport(kept=len(keep), removed=removed)

    def fsck(self) -> FsckReport:
        """Verify every object's hash and every link reachable from refs."""
        problems: list[str] = []
        count = 0
        present = set()
        for oid in self.store.iter_ids():
            count += 1
            present.add(oid)
            try:
                raw = self.store.get(oid)  # verifies the hash
                verify(oid, raw)
                child_ids(raw)
            except (CorruptObjectError, UnsupportedObjectError, ValueError, KeyError, TypeError) as exc:
                problems.append(f"corrupt object {oid}: {exc}")
        for name, value in self.store.list_refs().items():
            if value.startswith(SYMBOLIC_PREFIX):
                continue
            stack = [value]
            seen: set[str] = set()
            while stack:
                oid = stack.pop()
                if oid in seen:
                    continue
                seen.add(oid)
                if oid not in present:
                    problems.append(f"missing object {oid} (reachable from {name})")
                    continue
                try:
                    raw = self.store.get(oid)
                except StateVCSError:
                    continue  # already reported above
                try:
                    stack.extend(child_ids(raw))
                except Exception:  # reported as corrupt above
                    continue
                if name.startswith(BRANCH_PREFIX) and kind_of(raw) == "tag":
                    problems.append(f"branch {name} points at a tag object {oid}")
        return FsckReport(objects=count, problems=tuple(problems))


def _diff_optional(source: Any, a: Any, b: Any, tokens: tuple[str, ...]) -> list[Change]:
    from ..algo.diff import diff_children
    from ..algo.missing import MISSING
    from ..model.pointer import format_pointer
    from ..model.tree import materialize

    if a is MISSING and b is MISSING:
        return []
    if a is MISSING:
        return [Change("add", format_pointer(tokens), MISSING, materialize(source, b))]
    if b is MISSING:
        return [Change("remove", format_pointer(tokens), materialize(source, a))]
    return diff_children(source, a, b, tokens)


__all__ = ["Repository", "FsckReport", "GcReport", "ObjectNotFoundError"]
