"""Backups as bundles: write a repository's refs and the objects they need into one
verifiable file (store/bundle.py has the format), and check one before trusting it.

A bundle is self-contained unless revisions were excluded: then it is *thin*, listing as
prerequisites the commits its history stops at, which a receiver must already hold.
Fetch and clone read a bundle through ``BundleStore``, with the same checks as any remote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ...algo.history import walk
from ...errors import InvalidBundleError, RevisionNotFoundError, StateVCSError
from ...model.nodes import child_ids
from ...model.objects import COMMIT, TAG, kind_of, split_kind
from ...model.refnames import BRANCH_PREFIX, HEAD, TAG_PREFIX
from ...model.tree import walk_ids
from ...store.base import SYMBOLIC_PREFIX
from ...store.bundle import read_bundle, write_bundle
from .sending import plan

if TYPE_CHECKING:
    from ..repository.facade import Repository


@dataclass(frozen=True)
class BundleReport:
    """What a bundle holds: its refs, object count, prerequisite commits and size in bytes."""

    path: str
    refs: dict[str, str]
    objects: int
    prerequisites: tuple[str, ...]
    size: int

    @property
    def thin(self) -> bool:
        """True when the bundle needs commits the receiver must already have."""
        return bool(self.prerequisites)


class _Excluded:
    """The receiver a thin bundle is planned against: it "has" everything ``exclude`` reaches."""

    def __init__(self, repo: "Repository", have: set[str]) -> None:
        self.repo, self.have = repo, have

    def has_many(self, oids: Iterable[str]) -> set[str]:
        return {o for o in oids if o in self.have}

    def has(self, oid: str) -> bool:
        return oid in self.have

    def get(self, oid: str) -> bytes:
        return self.repo.store.get(oid)


def _closure(repo: "Repository", revs: Iterable[str]) -> set[str]:
    """Every commit and node reachable from ``revs`` (the history a thin bundle leaves out)."""
    have: set[str] = set()
    nodes: set[str] = set()
    for commit in walk(repo.objects.commit, [repo.rev_parse(r) for r in revs]):
        have.add(commit.id)
        for _ in walk_ids(repo.objects, commit.root, nodes):
            pass
    return have | nodes


def _select_refs(repo: "Repository", names: Iterable[str] | None) -> dict[str, str]:
    """Full ref name -> stored value for the refs named (default: every branch and tag, and
    HEAD when it names one of the branches)."""
    store = repo.store
    if names is None:
        chosen = {**store.list_refs(BRANCH_PREFIX), **store.list_refs(TAG_PREFIX)}
        head = store.read_ref(HEAD)
        if head and head.startswith(SYMBOLIC_PREFIX) and head[len(SYMBOLIC_PREFIX):] in chosen:
            chosen[HEAD] = head
        return chosen
    chosen = {}
    for name in names:
        if name == HEAD:
            value = store.read_ref(HEAD)
            if value is None:
                raise RevisionNotFoundError("HEAD does not exist")
            if value.startswith(SYMBOLIC_PREFIX):
                branch = value[len(SYMBOLIC_PREFIX):]
                target = store.read_ref(branch)
                if target is None:
                    raise RevisionNotFoundError(f"HEAD names {branch}, which has no commit yet")
                chosen[branch] = target
            chosen[HEAD] = value
            continue
        for ref in ((name,) if name.startswith("refs/") else (BRANCH_PREFIX + name, TAG_PREFIX + name)):
            value = store.read_ref(ref)
            if value is not None:
                chosen[ref] = value
                break
        else:
            raise RevisionNotFoundError(f"no branch, tag or ref named {name!r} to bundle")
    return chosen


def create_bundle(repo: "Repository", path: str, refs: Iterable[str] | None = None,
                  exclude: Iterable[str] = ()) -> BundleReport:
    """Write ``refs`` (names; default every branch and tag, and HEAD) with every object they
    need to the bundle file ``path``, replacing it atomically. History reachable from the
    ``exclude`` revisions is left out (a thin bundle; those commits become prerequisites)."""
    chosen = _select_refs(repo, list(refs) if refs is not None else None)
    tips = [v for v in chosen.values() if not v.startswith(SYMBOLIC_PREFIX)]
    if not tips:
        raise RevisionNotFoundError("nothing to bundle: no branch or tag has a commit")
    excluded = list(exclude)
    have = _closure(repo, excluded) if excluded else set()
    order = plan(repo, _Excluded(repo, have), tips)  # type: ignore[arg-type]  # checks every object
    included = set(order)
    prerequisites: dict[str, None] = {}
    for oid in order:
        if repo.objects.kind(oid) == COMMIT:
            for parent in repo.objects.commit(oid).parents:
                if parent not in included:
                    prerequisites[parent] = None
    for oid in tips:  # a ref whose commit is excluded entirely needs it on the receiving side
        peeled = repo.objects.peel(oid)
        if peeled not in included:
            prerequisites[peeled] = None
    size = write_bundle(path, chosen, prerequisites, order, repo.store.get)
    return BundleReport(path, dict(chosen), len(order), tuple(prerequisites), size)


def verify_bundle(path: str, repo: "Repository | None" = None) -> BundleReport:
    """Check a bundle: its checksum and every object's hash (read_bundle), that every object
    decodes, and that every ref's history is complete in the bundle or, for a thin bundle,
    present in ``repo``. Returns what it holds; InvalidBundleError names the first problem."""
    contents = read_bundle(path)
    objects = contents.objects
    missing_prereqs = [p for p in contents.prerequisites if p not in objects]
    if missing_prereqs and repo is None:
        raise InvalidBundleError(
            f"{path} is a thin bundle: it needs {len(missing_prereqs)} commit(s) the receiving repository must "
            f"already have (first {missing_prereqs[0]}); verify it inside that repository")
    present = repo.store.has_many(missing_prereqs) if repo is not None else set()
    for oid in missing_prereqs:
        if oid not in present:
            raise InvalidBundleError(
                f"{path} needs commit {oid}, which is neither in the bundle nor in this repository")
    for name, value in contents.refs.items():
        if value.startswith(SYMBOLIC_PREFIX):
            if value[len(SYMBOLIC_PREFIX):] not in contents.refs:
                raise InvalidBundleError(f"{path}: {name} names {value[len(SYMBOLIC_PREFIX):]}, which it does not hold")
            continue
        raw = objects.get(value)
        if raw is None and value not in present:
            raise InvalidBundleError(f"{path}: ref {name} points at {value}, which the bundle does not hold")
        if raw is not None:
            kind = split_kind(raw)[0]
            if kind not in (COMMIT, TAG) or (name.startswith(BRANCH_PREFIX) and kind != COMMIT):
                raise InvalidBundleError(f"{path}: ref {name} points at a {kind_of(raw)} object, not a commit")
    _check_closure(path, contents.refs, objects, repo)
    return BundleReport(path, dict(contents.refs), len(objects), contents.prerequisites, contents.size)


def _check_closure(path: str, refs: dict[str, str], objects: dict[str, bytes], repo: "Repository | None") -> None:
    """Every object the refs reach is in the bundle, or (thin) in ``repo``, where the walk stops."""
    seen: set[str] = set()
    stack = [v for v in refs.values() if not v.startswith(SYMBOLIC_PREFIX)]
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        raw = objects.get(oid)
        if raw is None:
            if repo is not None and repo.store.has(oid):
                continue  # the receiver's own history (checked when it arrived there)
            raise InvalidBundleError(
                f"{path} is incomplete: object {oid} is needed by its refs but is not in it"
                + ("" if repo is None else " nor in this repository"))
        try:
            stack.extend(c for c in child_ids(raw, oid) if c not in seen)
        except StateVCSError as exc:
            raise InvalidBundleError(f"{path}: object {oid} does not decode: {exc}") from None


__all__ = ["BundleReport", "create_bundle", "verify_bundle"]
