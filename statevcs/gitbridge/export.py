"""Export a statevcs history to a git repository: one git commit per statevcs commit.

Same author, time, message and parents (merges stay merges); branches and tags become git
branches and tags (annotated stay annotated); the state is written by the layout
(layout.py). Deterministic: every byte comes from the statevcs objects and the layout, so
the same history gives the same git ids anywhere. Incremental: the record in idmap.py
says which commits the target already has, and only newer ones are written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..algo.diff import diff_trees
from ..errors import GitBridgeError, RevisionNotFoundError
from ..model.objects import TAG, Ref, format_time
from ..model.pointer import parse_pointer
from ..model.refnames import BRANCH_PREFIX, TAG_PREFIX
from ..model.tree import OBJECT, materialize, view
from .gitobjects import HEADER, commit_bytes, commit_extra, git_message, tag_bytes
from .idmap import ExportMap, load_map, save_map, tracking_ref
from .layout import LAYOUT_FILE, ROOT_FILE, Layout, dir_name, file_name, pretty_bytes

if TYPE_CHECKING:
    from ..porcelain.repository.facade import Repository

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def pygit2_module() -> Any:
    """pygit2, or GitBridgeError saying how to get it."""
    try:
        import pygit2
    except ImportError:
        raise GitBridgeError("the git bridge needs pygit2: pip install 'statevcs[git]'") from None
    return pygit2


def is_remote(target: str) -> bool:
    """A URL (``https://``, ``ssh://``, ``file://``) or scp-like ``user@host:path`` to push to."""
    return "://" in target or bool(_SCP_LIKE.match(target))


def target_key(target: str) -> str:
    return target if is_remote(target) else os.path.realpath(target)


@dataclass(frozen=True)
class ExportReport:
    """What an export did: git commits written, and the refs it set (name -> git id)."""

    target: str
    written: int
    refs: dict[str, str] = field(default_factory=dict)
    layout: Layout = Layout()
    worktree_updated: bool = False
    #: the statevcs commit each exported branch ref is at (what the git branch now holds)
    branches: dict[str, str] = field(default_factory=dict)


class TreeWriter:
    """Builds git trees of states by the layout. A commit's tree is its first parent's tree with
    only the entries its changes touch rewritten (found by a diff that skips equal node ids),
    so the cost follows the size of a change; blobs of unchanged nodes are reused."""

    def __init__(self, git: Any, source: Any, layout: Layout) -> None:
        self.git, self.source, self.layout = git, source, layout
        self.pygit2 = pygit2_module()
        self.blobs: dict[str, Any] = {}
        self.trees: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.layout_blob = git.create_blob(layout.describe())

    def root_tree(self, root: str, parent_root: str | None = None, parent_tree: Any = None) -> Any:
        """The tree of state ``root``; from ``parent_tree`` (the tree of ``parent_root``) when given,
        so what the parent holds beside the state (a reviewer's ``.gitattributes``) stays."""
        key = (root, ()) if parent_tree is None else (root, (str(parent_tree),))
        if key in self.trees:
            return self.trees[key]
        kind, contents = view(self.source, Ref(root))
        if parent_tree is not None and parent_root is not None and kind == OBJECT:
            pkind, _ = view(self.source, Ref(parent_root))
            paths = [parse_pointer(c.path) for c in diff_trees(self.source, parent_root, root)]
            if pkind == OBJECT and all(paths):
                self.trees[key] = self._update(parent_tree, contents, (), paths)
                return self.trees[key]
        builder = self.git.TreeBuilder()
        builder.insert(LAYOUT_FILE, self.layout_blob, self.pygit2.GIT_FILEMODE_BLOB)
        if kind == OBJECT:
            self._fill(builder, contents, ())
        else:
            builder.insert(ROOT_FILE, self._blob(Ref(root)), self.pygit2.GIT_FILEMODE_BLOB)
        self.trees[key] = builder.write()
        return self.trees[key]

    def _update(self, old_tree: Any, contents: Any, tokens: tuple[str, ...], paths: list[tuple[str, ...]]) -> Any:
        """``old_tree`` with the entries of the keys that ``paths`` (relative to here) touch rebuilt."""
        tree = self.git[old_tree]
        builder = self.git.TreeBuilder(tree)
        groups: dict[str, list[tuple[str, ...]]] = {}
        for path in paths:
            groups.setdefault(path[0], []).append(path[1:])
        for key, below in groups.items():
            here = tokens + (key,)
            old_dir = tree[dir_name(key)].id if dir_name(key) in tree else None
            for name in (dir_name(key), file_name(key)):
                if name in tree:
                    builder.remove(name)
            child = contents.get(key, _ABSENT)
            if child is _ABSENT:
                continue
            if self.layout.splits(here):
                kind, inner = view(self.source, child)
                if kind == OBJECT and inner:
                    if old_dir is not None and all(below):
                        oid = self._update(old_dir, inner, here, below)
                    else:
                        oid = self._dir(child, inner, here)
                    builder.insert(dir_name(key), oid, self.pygit2.GIT_FILEMODE_TREE)
                    continue
            builder.insert(file_name(key), self._blob(child), self.pygit2.GIT_FILEMODE_BLOB)
        return builder.write()

    def _fill(self, builder: Any, children: Any, tokens: tuple[str, ...]) -> None:
        for key, child in _items(children):
            here = tokens + (key,)
            if self.layout.splits(here):
                kind, contents = view(self.source, child)
                if kind == OBJECT and contents:
                    builder.insert(dir_name(key), self._dir(child, contents, here), self.pygit2.GIT_FILEMODE_TREE)
                    continue
            builder.insert(file_name(key), self._blob(child), self.pygit2.GIT_FILEMODE_BLOB)

    def _dir(self, child: Any, contents: Any, tokens: tuple[str, ...]) -> Any:
        key = (child.id, tokens) if type(child) is Ref else None
        if key is not None and key in self.trees:
            return self.trees[key]
        builder = self.git.TreeBuilder()
        self._fill(builder, contents, tokens)
        oid = builder.write()
        if key is not None:
            self.trees[key] = oid
        return oid

    def _blob(self, child: Any) -> Any:
        if type(child) is not Ref:
            return self.git.create_blob(pretty_bytes(materialize(self.source, child)))
        oid = self.blobs.get(child.id)
        if oid is None:
            oid = self.blobs[child.id] = self.git.create_blob(pretty_bytes(materialize(self.source, child)))
        return oid


_ABSENT = object()


def _items(children: Any) -> Any:
    """(key, child) pairs of an object's children, read in one pass when the object is chunked."""
    whole = getattr(children, "children", None)
    return (whole() if callable(whole) else children).items()


def open_git(path: str, bare: bool, initial_branch: str | None) -> Any:
    """The git repository at ``path``, created (bare or not) when the directory is absent or empty."""
    pygit2 = pygit2_module()
    if os.path.isdir(path) and os.listdir(path):
        try:
            return pygit2.Repository(path)
        except pygit2.GitError:
            raise GitBridgeError(f"{path} exists and is not a git repository") from None
    head = f"refs/heads/{initial_branch}" if initial_branch else None
    try:
        return pygit2.init_repository(path, bare=bare, initial_head=head)
    except (pygit2.GitError, ValueError, OSError) as exc:  # AlreadyExistsError is a ValueError
        raise GitBridgeError(f"cannot create a git repository at {path}: {exc}") from None


def _pending(repo: "Repository", tips: list[str], done: dict[str, str], git: Any) -> list[Any]:
    """Commits reachable from ``tips`` not yet in the target, parents before children."""
    order: list[Any] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(t, False) for t in reversed(tips)]
    while stack:
        oid, expanded = stack.pop()
        if expanded:
            order.append(repo.objects.commit(oid))
            continue
        if oid in seen:
            continue
        seen.add(oid)
        mapped = done.get(oid)
        if mapped is not None and mapped in git:
            continue
        stack.append((oid, True))
        commit = repo.objects.commit(oid)
        stack.extend((p, False) for p in reversed(commit.parents) if p not in seen)
    return order


def _check_ref_name(pygit2: Any, ref: str) -> None:
    if not pygit2.reference_is_valid_name(ref):
        raise GitBridgeError(f"{ref} is not a valid git ref name (rename it in statevcs to export it)")


def export(repo: "Repository", target: str, branches: list[str] | None = None, all_refs: bool = False,
           split: list[str] | None = None, bare: bool = False, force: bool = False) -> ExportReport:
    """Export ``branches`` (default: HEAD's branch; ``all_refs``: every branch and tag) to ``target``."""
    git, scratch = open_target(repo, target, bare)
    try:
        return export_into(repo, git, target, branches, all_refs, split, force)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def export_into(repo: "Repository", git: Any, target: str, branches: list[str] | None = None,
                all_refs: bool = False, split: list[str] | None = None, force: bool = False) -> ExportReport:
    """Export into ``git``, the repository ``open_target`` gave for ``target`` (pushed when a URL)."""
    pygit2 = pygit2_module()
    record = load_map(repo, target_key(target))
    layout = _choose_layout(record, split)
    if not force:
        check_is_export(git, record, target)
    report = _export_into(repo, git, pygit2, record, layout, branches, all_refs, force, target)
    if is_remote(target):
        _push(git.path, target, list(report.refs), force)
    save_map(repo, record, {tracking_ref(ref): oid for ref, oid in report.branches.items()})
    return report


def open_target(repo: "Repository", target: str, bare: bool = False, create: bool = True) -> tuple[Any, str | None]:
    """(git repository, scratch directory to remove) for ``target``: the directory (created
    when ``create``), or for a URL the local copy (``.statevcs/git-export/KEY.git`` of a
    directory repository, else a scratch directory) brought up to date with ``git fetch``,
    so that what the remote has is known before anything is written or pushed."""
    if not is_remote(target):
        if not create:
            pygit2 = pygit2_module()
            try:
                return pygit2.Repository(target), None
            except pygit2.GitError:
                raise GitBridgeError(f"{target} is not a git repository") from None
        return open_git(target, bare, repo.current_branch), None
    scratch = None
    if repo.meta_dir:
        git_dir = os.path.join(repo.meta_dir, "git-export", os.path.basename(_ref_leaf(target_key(target))) + ".git")
    else:
        scratch = git_dir = tempfile.mkdtemp(prefix="statevcs-git-")
    try:
        git = open_git(git_dir, True, repo.current_branch)
        _fetch(git.path, target)
        git = open_git(git_dir, True, repo.current_branch)  # see the refs the fetch wrote
    except BaseException:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    return git, scratch


def check_is_export(git: Any, record: ExportMap, target: str) -> None:
    """Refuse a git repository with branches that no export wrote (a code repository, say):
    none of its branches holds the layout file, and no commit the record names is in it."""
    branches = [ref for ref in git.references if ref.startswith(BRANCH_PREFIX)]
    if not branches or any(gid in git for gid in list(record.commits.values())[-64:]):
        return
    for ref in branches:
        commit = git.references[ref].peel()
        if LAYOUT_FILE in commit.tree:
            return
    names = ", ".join(ref[len(BRANCH_PREFIX):] for ref in sorted(branches)[:3])
    raise GitBridgeError(f"{target} is a git repository that no statevcs export wrote (no {LAYOUT_FILE} on its "
                         f"branches {names}); export into a new directory or an empty repository ('statevcs git "
                         "import' reads a repository of JSON files)")


def _ref_leaf(key: str) -> str:
    from .idmap import map_ref

    return map_ref(key).rsplit("/", 1)[1]


def _choose_layout(record: ExportMap, split: list[str] | None) -> Layout:
    if split is None:
        return record.layout or Layout()
    layout = Layout.make(split)
    if record.layout is not None and record.layout != layout:
        was = " ".join(f"--split {p}" for p in record.layout.split) or "no --split"
        raise GitBridgeError(f"{record.target} was exported with {was}; the layout of a target never changes "
                             "(export to a new target for another layout)")
    return layout


def _select(repo: "Repository", branches: list[str] | None, all_refs: bool) -> dict[str, str]:
    heads = repo.branches
    if all_refs:
        return {BRANCH_PREFIX + name: oid for name, oid in heads.items()}
    names = branches or ([repo.current_branch] if repo.current_branch in heads else [])
    if not names:
        raise RevisionNotFoundError("nothing to export: HEAD's branch has no commits (name one with --branch)")
    out = {}
    for name in names:
        if name not in heads:
            raise RevisionNotFoundError(f"no branch named {name!r}")
        out[BRANCH_PREFIX + name] = heads[name]
    return out


def _export_into(repo: "Repository", git: Any, pygit2: Any, record: ExportMap, layout: Layout,
                 branches: list[str] | None, all_refs: bool, force: bool, target: str) -> ExportReport:
    selected = _select(repo, branches, all_refs)
    tag_refs = repo.store.list_refs(TAG_PREFIX)
    if all_refs:
        tips = list(selected.values()) + [repo.objects.peel(v) for v in tag_refs.values()]
    else:
        tips = list(selected.values())
    for ref in list(selected) + list(tag_refs):
        _check_ref_name(pygit2, ref)
    writer = TreeWriter(git, repo.objects, layout)
    pending = _pending(repo, tips, record.commits, git)
    for commit in pending:
        parents = [record.commits[p] for p in commit.parents]
        extra = commit_extra(commit.id, commit.author, commit.timestamp, commit.message, commit.metadata)
        if parents:  # the first parent's tree, patched by the changes since
            first = repo.objects.commit(commit.parents[0])
            tree = writer.root_tree(commit.root, first.root, git[parents[0]].tree_id)
            if len(parents) > 1:
                tree = _with_dot_entries(git, pygit2, tree, [git[p].tree_id for p in parents[1:]])
        else:
            tree = writer.root_tree(commit.root)
        raw = commit_bytes(str(tree), parents, commit.author, commit.timestamp, commit.message, extra)
        record.commits[commit.id] = str(git.odb.write(pygit2.GIT_OBJECT_COMMIT, raw))
    record.layout = layout
    wanted = {ref: record.commits[oid] for ref, oid in selected.items()}
    for ref, value in tag_refs.items():
        target_commit = repo.objects.peel(value)
        if target_commit not in record.commits:
            continue  # a tag on a commit this target has not been given
        wanted[ref] = _tag_value(repo, git, pygit2, value, record.commits[target_commit])
    moves = _check_moves(git, wanted, force)
    updated = _move_refs(git, pygit2, moves, repo.current_branch)
    record.branches.update({ref: wanted[ref] for ref in selected})
    return ExportReport(target, len(pending), wanted, layout, updated, dict(selected))


def _with_dot_entries(git: Any, pygit2: Any, tree: Any, others: list[Any]) -> Any:
    """A merge's tree with the top-level entries that are not state (``.gitattributes``,
    ``.github/``) which only its other parents have: a file a reviewer added in git is kept."""
    base = git[tree]
    builder = None
    for other in others:
        for entry in git[other]:
            if entry.name.startswith(".") and entry.name not in (LAYOUT_FILE, ROOT_FILE) and entry.name not in base:
                builder = builder or git.TreeBuilder(base)
                if builder.get(entry.name) is None:
                    builder.insert(entry.name, entry.id, entry.filemode)
    return builder.write() if builder is not None else tree


def _tag_value(repo: "Repository", git: Any, pygit2: Any, value: str, git_target: str) -> str:
    """The git value of a statevcs tag ref: the commit, or a new annotated tag object."""
    if repo.objects.kind(value) != TAG:
        return git_target
    tag = repo.objects.tag(value)
    extra: dict[str, Any] = {"id": tag.id, "tagger": tag.tagger, "time": format_time(tag.timestamp)}
    if git_message(tag.message) != tag.message:
        extra["message"] = tag.message
    raw = tag_bytes(git_target, tag.name, tag.tagger, tag.timestamp, tag.message, extra)
    return str(git.odb.write(pygit2.GIT_OBJECT_TAG, raw))


def _check_moves(git: Any, wanted: dict[str, str], force: bool) -> dict[str, tuple[str | None, str]]:
    """{ref: (old, new)} of refs that change; GitBridgeError before anything moves if one would
    lose git commits (a branch not fast-forwarding, a tag moving) without ``force``."""
    moves = {}
    for ref, new in wanted.items():
        existing = git.references.get(ref)
        old = str(existing.target) if existing is not None else None
        if old == new:
            continue
        if old is not None and not force:
            from pygit2 import Oid

            if ref.startswith(TAG_PREFIX) or not git.descendant_of(Oid(hex=new), Oid(hex=old)):
                raise GitBridgeError(f"{ref} in the git repository is at {old[:10]}, which the export would "
                                     "drop (it is not an ancestor of the new commit); --force replaces it")
        moves[ref] = (old, new)
    return moves


def _move_refs(git: Any, pygit2: Any, moves: dict[str, tuple[str | None, str]], current: str | None) -> bool:
    """Set the refs; a non-bare repository whose checked-out branch moved gets its files
    updated when they were clean (never over someone's edits). True if the files were updated."""
    head_ref = None if git.head_is_detached else git.references.get("HEAD").target
    clean = not git.is_bare and head_ref in moves and not _dirty(git)
    for ref, (_, new) in sorted(moves.items()):
        git.references.create(ref, pygit2.Oid(hex=new), force=True)
    if git.head_is_unborn and current and f"refs/heads/{current}" in git.references:
        git.set_head(f"refs/heads/{current}")
    if clean:
        git.checkout_head(strategy=pygit2.GIT_CHECKOUT_FORCE)
        return True
    return False


def _dirty(git: Any) -> bool:
    if git.head_is_unborn:
        return any(True for _ in git.status())
    return bool(git.status())


def _fetch(git_dir: str, url: str) -> None:
    """Mirror the remote's branches and tags into the local copy (git's credentials and transports)."""
    proc = subprocess.run(["git", "--git-dir", git_dir, "fetch", "--quiet", "--prune", "--no-auto-gc", url,
                           "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["git fetch failed"])[-1]
        raise GitBridgeError(f"cannot read {url}: {last}")


def _push(git_dir: str, url: str, refs: list[str], force: bool) -> None:
    """Push ``refs`` from the local copy to the remote with the real git (its credentials, its transports)."""
    if not refs:
        return
    specs = [("+" if force else "") + f"{ref}:{ref}" for ref in sorted(refs)]
    proc = subprocess.run(["git", "--git-dir", git_dir, "push", "--quiet", url, *specs],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["git push failed"])[-1]
        raise GitBridgeError(f"git push to {url} failed: {last}")


__all__ = ["ExportReport", "export", "export_into", "open_target", "check_is_export", "is_remote", "pygit2_module",
           "HEADER"]
