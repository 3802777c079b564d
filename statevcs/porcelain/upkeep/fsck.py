"""Integrity checks: every object re-hashed and decoded, every commit's structure checked,
every link from every ref followed; an unfinished purge is reported too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CorruptObjectError, InvalidRefNameError, StateVCSError
from ...model import refnames
from ...model.nodes import child_ids
from ...model.objects import Commit, check_commit_links, decode_commit, kind_of
from ...model.refnames import BRANCH_PREFIX, HEAD
from ...store.base import SYMBOLIC_PREFIX
from .purge_journal import CONTINUE, unfinished_purge

if TYPE_CHECKING:
    from ..repository.facade import Repository


@dataclass(frozen=True)
class FsckReport:
    """What fsck found: objects checked and problems (empty when the repository is sound)."""

    objects: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def fsck(repo: "Repository") -> FsckReport:
    """Re-hash and decode every object, check every commit's structure, and follow every
    link from every ref; report what is wrong (never raise for a bad object)."""
    problems: list[str] = []
    links: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    commits: dict[str, Commit] = {}
    reported: set[str] = set()
    for oid in repo.store.iter_ids():
        try:
            raw = repo.store.get(oid)  # verifies the hash, bounds the size
            kind = kind_of(raw)
            links[oid] = child_ids(raw, oid)  # decodes and checks the object
            kinds[oid] = kind
            if kind == "commit":
                commits[oid] = decode_commit(oid, raw)
        except StateVCSError as exc:
            problems.append(f"corrupt object {oid}: {exc}")
            reported.add(oid)
    count = len(links) + len(reported)
    for oid, commit in commits.items():
        problems.extend(_commit_problems(commit, kinds, commits))
    for name, value in repo.store.list_refs().items():
        problems.extend(_name_problems(name, value))
        if value.startswith(SYMBOLIC_PREFIX):
            continue
        if name.startswith(BRANCH_PREFIX) and kinds.get(value) not in (None, "commit"):
            problems.append(f"branch {name} points at a {kinds[value]} object {value}, not a commit")
        stack, seen = [value], set()
        while stack:
            oid = stack.pop()
            if oid in seen:
                continue
            seen.add(oid)
            if oid not in links:
                if oid not in reported:
                    reported.add(oid)
                    problems.append(f"missing object {oid} (reachable from {name})")
                continue
            stack.extend(links[oid])
    try:  # an erasure that stopped half way is a problem to act on
        pending = unfinished_purge(repo)
    except StateVCSError as exc:
        problems.append(str(exc))
    else:
        if pending is not None:
            problems.append(f"{pending.describe()}: run '{CONTINUE}' to finish it")
    return FsckReport(objects=count, problems=tuple(problems))


def _commit_problems(commit: Commit, kinds: dict[str, str], commits: dict[str, Commit]) -> list[str]:
    """What is wrong with a decoded commit's links: its root and its parents' generations."""
    out = []
    root_kind = kinds.get(commit.root)
    if root_kind is not None and root_kind != "node":
        out.append(f"commit {commit.id}: root {commit.root} is a {root_kind}, not a state node")
    parents = [commits.get(p) for p in commit.parents]
    for p, parent in zip(commit.parents, parents):
        if parent is None and kinds.get(p) not in (None, "commit"):
            out.append(f"commit {commit.id}: parent {p} is a {kinds[p]}, not a commit")
    if all(parent is not None for parent in parents):
        try:
            check_commit_links(commit, [parent.generation for parent in parents if parent is not None])
        except CorruptObjectError as exc:
            out.append(str(exc))
    return out


def _name_problems(name: str, value: str) -> list[str]:
    """A ref whose name, or HEAD whose branch, breaks the ref-name rules: written by something
    other than statevcs (bytes that are not UTF-8 read back escaped, as ``\\xff``)."""
    if name == HEAD:
        target = value[len(SYMBOLIC_PREFIX):] if value.startswith(SYMBOLIC_PREFIX) else None
        try:
            if target is not None:
                refnames.check_ref(target)
        except InvalidRefNameError as exc:
            return [f"HEAD names {target}, which is no valid branch ({exc}): 'statevcs switch BRANCH' moves it"]
        return []
    try:
        refnames.check_ref(name)
    except InvalidRefNameError as exc:
        return [f"ref {name} has an invalid name ({exc}), written by something other than statevcs; "
                "statevcs cannot address it: delete its row from the store by hand"]
    return []
