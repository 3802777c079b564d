"""Import a git repository written by the exporter (or edited by people since) into statevcs.

Each git commit's tree is read back by the layout into a state; the commit's ``statevcs``
header (gitobjects.py) gives back the exact author, time and metadata, so exporting then
importing gives the very same statevcs commits: same root ids, same commit ids, same graph.
A commit made in git by hand (no header) is imported with git's author and time.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import GitBridgeError, InvalidStateError, WorkingStateError
from ..model import refnames
from ..model.canonical import nesting, validate
from ..model.jsontext import parse_json_text
from ..model.objects import encode_commit, encode_tag
from ..model.refnames import BRANCH_PREFIX, HEAD, TAG_PREFIX
from ..model.tree import write_tree
from ..porcelain.rules.checks import check_branch_move
from ..store.base import SYMBOLIC_PREFIX
from .export import open_target, pygit2_module, target_key
from .gitobjects import extra_time, parse_object, person, strip_trailer
from .idmap import load_map, record_imported, save_map, tracking_ref
from .layout import LAYOUT_FILE, ROOT_FILE, SUFFIX, decode_key, read_layout

if TYPE_CHECKING:
    from ..porcelain.repository.facade import Repository

_BATCH = 5000


@dataclass(frozen=True)
class ImportReport:
    """What an import did: statevcs commits made, the git refs read (name -> statevcs id), and
    the branches left where they were because both sides moved (branch ref -> the tracking
    ref holding git's side: merge it, then export)."""

    source: str
    commits: int
    refs: dict[str, str] = field(default_factory=dict)
    diverged: dict[str, str] = field(default_factory=dict)


class StateReader:
    """Reads states out of git trees, each blob and tree once.

    Directories nest the state: a tree ``depth`` directories down holds a container at
    that level, so the depth limit (``STATEVCS_MAX_DEPTH``) is checked before each step
    down, never by running out of Python's stack."""

    def __init__(self, git: Any) -> None:
        self.git = git
        self.pygit2 = pygit2_module()
        self.limit = limits.max_depth()
        #: git object id -> (value, nesting: how many container levels it holds)
        self.values: dict[str, tuple[Any, int]] = {}

    def state(self, tree_id: str) -> Any:
        tree = self.git[tree_id]
        names = {entry.name for entry in tree}
        if LAYOUT_FILE in names:
            read_layout(tree[LAYOUT_FILE].data)  # refuses a format this version does not know
        if ROOT_FILE in names:
            return self._blob(tree[ROOT_FILE], ROOT_FILE, 0)[0]
        return self._object(tree, "", 1)[0]

    def _too_deep(self, path: str) -> GitBridgeError:
        return GitBridgeError(f"{path} nests the state deeper than the limit of {self.limit} levels "
                              f"({limits.ENV_MAX_DEPTH}); nothing was imported")

    def _object(self, tree: Any, prefix: str, depth: int) -> tuple[dict[str, Any], int]:
        """The object a tree ``depth`` levels down holds (root: 1), and its nesting."""
        key = str(tree.id)
        if key in self.values:
            return self.values[key]  # type: ignore[return-value]
        out: dict[str, Any] = {}
        nesting = 1
        for entry in tree:
            name, path = entry.name, prefix + entry.name
            if name.startswith("."):
                continue  # never a key: ours (.statevcs-*) or git's (.gitattributes)
            if entry.type_str == "tree":
                if depth + 1 > self.limit:
                    raise self._too_deep(path)
                child_key = decode_key(name)
                value, inner = self._object(self.git[entry.id], path + "/", depth + 1)
                if not value:
                    continue
            elif entry.type_str == "blob" and name.endswith(SUFFIX) and entry.filemode != self.pygit2.GIT_FILEMODE_LINK:
                child_key = decode_key(name[: -len(SUFFIX)])
                value, inner = self._blob(self.git[entry.id], path, depth)
            else:
                raise GitBridgeError(f"{path} is not a state file (a .json file or a directory of them)")
            if depth + inner > self.limit:  # a tree or file met before, now deeper down
                raise self._too_deep(path)
            if child_key in out:
                raise GitBridgeError(f"{path}: key {child_key!r} is stored twice (as a file and a directory)")
            out[child_key] = value
            nesting = max(nesting, 1 + inner)
        self.values[key] = (out, nesting)
        return out, nesting

    def _blob(self, blob: Any, path: str, depth: int) -> tuple[Any, int]:
        """The value of a file inside a container ``depth`` levels down, and its nesting."""
        key = str(blob.id)
        if key not in self.values:
            try:
                text = blob.data.decode("utf-8")
            except UnicodeDecodeError:
                raise GitBridgeError(f"{path} is not UTF-8 text") from None
            try:
                value = parse_json_text(text, path)
            except WorkingStateError as exc:
                raise GitBridgeError(str(exc)) from None
            except InvalidStateError as exc:
                raise GitBridgeError(f"{path}: {exc}") from None
            self.values[key] = (value, nesting(value))
        found = self.values[key]
        if depth + found[1] > self.limit:
            raise self._too_deep(path)
        return found


def import_git(repo: "Repository", source: str, branches: list[str] | None = None,
               force: bool = False) -> ImportReport:
    """Bring ``source``'s branches (default: all) and the tags on them into ``repo``.

    Every git branch is kept as ``git/BRANCH`` (``refs/remotes/git/BRANCH``); the statevcs
    branch of that name moves there when it fast-forwards (or is new). When both moved, it
    stays and the report lists it in ``diverged``: merge ``git/BRANCH`` into it, then export
    (``statevcs git sync`` does both). The git ids of the commits read are added to the
    export record of ``source``, so the next export there builds on them."""
    git, scratch = open_target(repo, source, create=False)
    try:
        return _import(repo, git, source, branches, force)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def import_from(repo: "Repository", git: Any, source: str, branches: list[str] | None = None,
                force: bool = False) -> ImportReport:
    """``import_git`` from ``git``, the repository ``open_target`` gave for ``source``."""
    return _import(repo, git, source, branches, force)


def _import(repo: "Repository", git: Any, source: str, branches: list[str] | None, force: bool) -> ImportReport:
    pygit2 = pygit2_module()
    heads = {r: git.references[r].resolve().target for r in git.references if r.startswith(BRANCH_PREFIX)}
    if branches is not None:
        missing = [b for b in branches if BRANCH_PREFIX + b not in heads]
        if missing:
            raise GitBridgeError(f"{source} has no branch {missing[0]!r}")
        heads = {BRANCH_PREFIX + b: heads[BRANCH_PREFIX + b] for b in branches}
    reader = StateReader(git)
    record = load_map(repo, target_key(source))
    if not force:
        _refuse_rewritten(git, record, heads, source)
    mapping: dict[str, str] = _known(repo, git, record)  # git id -> statevcs id, not read again
    objects: dict[str, bytes] = {}
    made = 0
    generations: dict[str, int] = {}
    for tip in heads.values():
        walker = git.walk(tip, pygit2.GIT_SORT_TOPOLOGICAL | pygit2.GIT_SORT_REVERSE)
        for gid in mapping:
            walker.hide(gid)
        for gc in walker:
            gid = str(gc.id)
            if gid in mapping:
                continue
            for parent in gc.parent_ids:
                known = mapping[str(parent)]
                if known not in generations:
                    generations[known] = repo.objects.commit(known).generation
            mapping[gid], gen, new = _convert(gc, git, reader, mapping, generations, pygit2)
            generations[mapping[gid]] = gen
            objects.update(new)
            made += 1
            if len(objects) >= _BATCH:
                _flush(repo, objects)
    refs: dict[str, str] = {ref: mapping[str(oid)] for ref, oid in heads.items()}
    for ref in git.references:
        if not ref.startswith(TAG_PREFIX):
            continue
        value = _tag(repo, git, ref, mapping, objects, pygit2)
        if value is not None:
            refs[ref] = value
    _flush(repo, objects)
    moves, diverged = route_refs(repo, refs, force)
    _record(repo, git, record, mapping, heads)
    _set_refs(repo, moves, force, git, mapping)
    return ImportReport(source, made, refs, diverged)


def _refuse_rewritten(git: Any, record: Any, heads: dict[str, Any], source: str) -> None:
    """GitBridgeError, before anything is read, for a git branch that no longer contains the
    commit it held after the last export or import (its history was rewritten in git since)."""
    for ref, tip in sorted(heads.items()):
        seen = record.branches.get(ref)
        if seen is None or seen == str(tip) or seen not in git or git.descendant_of(tip, seen):
            continue
        name = ref[len(BRANCH_PREFIX):]
        raise GitBridgeError(
            f"git's branch {name} in {source} no longer contains {seen[:10]}, which it held when statevcs last "
            f"exported or imported it (its history was rewritten since); nothing moved: 'statevcs git import "
            f"--force {source}' takes git's {name} as it is now, for the statevcs branch {name} too")


def _known(repo: "Repository", git: Any, record: Any) -> dict[str, str]:
    """git id -> statevcs id of the commits the export record of this source names that both
    sides still have: they were exported or imported before, so they are not read again."""
    pairs = {gid: sv for sv, gid in record.commits.items() if gid in git}
    present = repo.store.has_many(pairs.values())
    return {gid: sv for gid, sv in pairs.items() if sv in present}


def route_refs(repo: "Repository", refs: dict[str, str], force: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Where the refs read from git go: every branch to its tracking ref (``git/BRANCH``), and
    to the branch itself when that fast-forwards or is new (always with ``force``); tags as they
    are. Returns (refs to set, diverged branch ref -> tracking ref)."""
    moves: dict[str, str] = {}
    diverged: dict[str, str] = {}
    for ref, new in refs.items():
        if not ref.startswith(BRANCH_PREFIX):
            moves[ref] = new
            continue
        tracking = tracking_ref(ref)
        moves[tracking] = new
        old = repo.store.read_ref(ref)
        if old is None or old == new or force or repo.is_ancestor(old, new):
            moves[ref] = new
        elif not repo.is_ancestor(new, old):
            diverged[ref] = tracking
    return moves, diverged


def _record(repo: "Repository", git: Any, record: Any, mapping: dict[str, str], heads: dict[str, Any]) -> None:
    """Add the commits read (their git ids) to the export record of the source."""
    layout = None
    for oid in heads.values():
        tree = git[oid].tree
        if LAYOUT_FILE in tree:
            layout = read_layout(tree[LAYOUT_FILE].data)
            break
    record_imported(repo, record, {sv: gid for gid, sv in mapping.items()}, layout)
    record.branches.update({ref: str(oid) for ref, oid in heads.items()})
    save_map(repo, record)


def _convert(gc: Any, git: Any, reader: StateReader, mapping: dict[str, str], generations: dict[str, int],
             pygit2: Any) -> tuple[str, int, dict[str, bytes]]:
    """The statevcs commit (id, generation, objects) for one git commit whose parents are mapped."""
    info = parse_object(git.odb.read(gc.id)[1])
    extra = info.extra
    parents = tuple(mapping[str(p)] for p in gc.parent_ids)
    state = reader.state(str(gc.tree_id))
    try:
        validate(state)  # as every writer does: what the reader built is plain JSON within the limits
    except InvalidStateError as exc:
        raise GitBridgeError(f"git commit {gc.id}: {exc}") from None
    root, objects = write_tree(state)
    who, when = person(info.first("author") or "")
    author = extra["author"] if extra and isinstance(extra.get("author"), str) else who
    message = extra["message"] if extra and isinstance(extra.get("message"), str) else \
        strip_trailer(info.message, extra.get("id") if extra else None)
    metadata = extra["metadata"] if extra and isinstance(extra.get("metadata"), dict) else {}
    generation = 1 + max((generations[p] for p in parents), default=0)
    commit, raw = encode_commit(root, parents, generation, author, extra_time(extra, when), message, metadata)
    objects[commit.id] = raw
    return commit.id, generation, objects


def _tag(repo: "Repository", git: Any, ref: str, mapping: dict[str, str], objects: dict[str, bytes],
         pygit2: Any) -> str | None:
    """The statevcs value of a git tag on an imported commit (None: a tag on something else)."""
    oid = git.references[ref].target
    obj = git[oid]
    if obj.type == pygit2.GIT_OBJECT_COMMIT:
        return mapping.get(str(oid))
    if obj.type != pygit2.GIT_OBJECT_TAG or str(obj.target) not in mapping:
        return None
    info = parse_object(git.odb.read(oid)[1])
    extra = info.extra
    who, when = person(info.first("tagger") or "")
    tagger = extra["tagger"] if extra and isinstance(extra.get("tagger"), str) else who
    message = extra["message"] if extra and isinstance(extra.get("message"), str) else info.message
    tag, raw = encode_tag(mapping[str(obj.target)], info.first("tag") or ref[len(TAG_PREFIX):], tagger,
                          extra_time(extra, when), message)
    objects[tag.id] = raw
    return tag.id


def _flush(repo: "Repository", objects: dict[str, bytes]) -> None:
    if objects:
        with repo.store.transaction() as tx:
            tx.put_objects(objects)
        objects.clear()


def _set_refs(repo: "Repository", refs: dict[str, str], force: bool, git: Any,
              mapping: dict[str, str] | None = None) -> None:
    """Move every ref in one transaction; a branch that would lose statevcs commits (not a
    fast-forward) or a tag that would move needs ``force``."""
    for ref in refs:
        refnames.check_ref(ref)  # git allows names statevcs does not: refuse them before anything moves
    current = {ref: repo.store.read_ref(ref) for ref in refs}
    for ref, new in refs.items():
        old = current[ref]
        if old is None or old == new or force or ref.startswith(refnames.REMOTE_PREFIX):
            continue  # a remote-tracking ref (git/BRANCH) follows git's branch, as git fetch moves origin/BRANCH
        if ref.startswith(TAG_PREFIX) or not repo.is_ancestor(old, new):
            raise GitBridgeError(f"{ref} is at {old[:10]} in this repository, which the import would drop; "
                                 "--force replaces it")
    head = repo.store.read_ref(HEAD)
    with repo.store.transaction() as tx:
        for ref, new in refs.items():
            if current[ref] != new:
                check_branch_move(repo, tx, ref, new, current[ref])  # this repository's rules, as for a push
                tx.set_ref(ref, new, current[ref], repo.author, "git import")
        if head is None and (value := _head_value(git, refs, mapping or {})) is not None:
            tx.set_ref(HEAD, value, None, repo.author, "git import")


def _head_value(git: Any, refs: dict[str, str], mapping: dict[str, str]) -> str | None:
    """HEAD for a repository that has none: git's branch; for a detached git HEAD, the
    imported commit it names (detached too), else the first imported branch; None when
    git's HEAD is unborn or nothing fits."""
    if git.head_is_unborn:
        return None
    if not git.head_is_detached:
        return SYMBOLIC_PREFIX + git.references["HEAD"].target
    commit = mapping.get(str(git.head.target))
    if commit is not None:
        return commit
    branches = sorted(ref for ref in refs if ref.startswith(BRANCH_PREFIX))
    return SYMBOLIC_PREFIX + branches[0] if branches else None
