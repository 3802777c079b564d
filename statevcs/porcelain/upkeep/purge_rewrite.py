"""The history rewrite of a purge (docs/erasure.md): which refs are purged, commits and tags
rewritten without the value, and which reflog entries and refs still reach it.

Deterministic: the same commits and pointer give the same new ids (a rewritten commit keeps
author, time, message and metadata), so a purge resumed after a crash rewrites to exactly
the ids it had recorded, and a rewrite can catch up on commits made meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable

from ...algo.history import walk
from ...errors import ObjectNotFoundError, PurgeError, RevisionNotFoundError
from ...model import refnames
from ...model.missing import MISSING
from ...model.objects import COMMIT, TAG, Commit, Ref, encode_commit, encode_tag, is_object_id
from ...model.refnames import BRANCH_PREFIX, HEAD, REMOTE_PREFIX, TAG_PREFIX
from ...model.tree import child_at
from ...model.treegraft import graft
from ...store.base import SYMBOLIC_PREFIX

if TYPE_CHECKING:
    from ..repository.facade import Repository

#: The metadata key a rewritten commit lists its erased pointers under.
PURGED_KEY = "purged"
#: Refs whose history a purge rewrites (others, such as refs/meta/*, name no commits).
HISTORY_PREFIXES = (BRANCH_PREFIX, TAG_PREFIX, REMOTE_PREFIX)


def scope_refs(repo: "Repository", branches: list[str] | None, everything: bool,
               ref: str | None = None) -> tuple[dict[str, str], str]:
    """The refs whose history is rewritten (name -> value), and a phrase naming them.

    ``ref`` is the one ref of a purge of the current branch (HEAD's, when None)."""
    if everything:
        refs = {name: value for name, value in repo.store.list_refs().items() if name.startswith(HISTORY_PREFIXES)}
        head = repo.store.read_ref(HEAD)
        if head is not None and not head.startswith(SYMBOLIC_PREFIX):
            refs[HEAD] = head
        return refs, "any branch, tag or remote-tracking ref"
    if branches:
        refs = {}
        for branch in branches:
            name = refnames.branch_ref(branch)
            value = repo.store.read_ref(name)
            if value is None:
                raise RevisionNotFoundError(f"no branch named {branch!r}")
            refs[name] = value
        return refs, "branch " + ", ".join(branches)
    ref = ref or repo.head_ref() or HEAD
    value = repo._ref_target(ref)
    if value is None:
        raise PurgeError(f"{refnames.short_name(ref)} has no commits: nothing to purge")
    return {ref: value}, refnames.short_name(ref)


def peel(repo: "Repository", oid: str) -> str | None:
    """The commit an id names through annotated tags, or None (a node, or a missing object)."""
    try:
        for _ in range(100):
            kind = repo.objects.kind(oid)
            if kind == TAG:
                oid = repo.objects.tag(oid).target
            elif kind == COMMIT:
                return oid
            else:
                return None
    except ObjectNotFoundError:
        return None
    return None


class Rewriter:
    """Rewrites commits and tags of one purge, remembering old -> new ids and new objects.

    ``map`` and ``tags`` may start from a journal (a resumed purge): commits already mapped
    are not rewritten again."""

    def __init__(self, repo: "Repository", pointer: str, tokens: list[str],
                 mapped: dict[str, str] | None = None, tags: dict[str, str] | None = None, holding: int = 0) -> None:
        self.repo = repo
        self.pointer = pointer
        self.tokens = tokens
        self.map: dict[str, str] = dict(mapped or {})
        self.tags: dict[str, str] = dict(tags or {})
        self.objects: dict[str, bytes] = {}
        self._roots: dict[str, str] = {}
        self._holds: dict[str, bool] = {}
        self.holding = holding

    def holds(self, root: str) -> bool:
        found = self._holds.get(root)
        if found is None:
            found = self._holds[root] = child_at(self.repo.objects, Ref(root), self.tokens) is not MISSING
        return found

    def new_root(self, root: str) -> str:
        new = self._roots.get(root)
        if new is None:
            new, objects = graft(self.repo.objects, root, self.tokens, MISSING)
            self.objects.update(objects)
            self._roots[root] = new
        return new

    def commits(self, commits: Iterable[Commit]) -> None:
        for c in sorted(commits, key=lambda c: c.generation):  # parents before children
            if c.id in self.map:
                continue
            parents = tuple(self.map.get(p, p) for p in c.parents)
            holds = self.holds(c.root)
            root = self.new_root(c.root) if holds else c.root
            if root == c.root and parents == c.parents:
                continue
            self.holding += holds
            metadata = {k: self.map.get(v, v) if isinstance(v, str) else v for k, v in c.metadata.items()}
            if holds:
                noted = metadata.get(PURGED_KEY)
                metadata[PURGED_KEY] = (list(noted) if isinstance(noted, list) else []) + [self.pointer]
            commit, raw = encode_commit(root, parents, c.generation, c.author, c.timestamp, c.message, metadata)
            self.objects[commit.id] = raw
            self.map[c.id] = commit.id

    def history(self, refs: dict[str, str]) -> list[Commit]:
        """Every commit the refs reach (through annotated tags)."""
        starts = [c for c in (peel(self.repo, v) for v in refs.values()) if c is not None]
        return list(walk(self.repo.objects.commit, list(dict.fromkeys(starts))))

    def ref_value(self, value: str) -> str | None:
        """The new value for a ref holding ``value`` (a commit or an annotated tag), or None if unchanged."""
        if value in self.map:
            return self.map[value]
        if value in self.tags:
            return self.tags[value]
        try:
            if not is_object_id(value) or self.repo.objects.kind(value) != TAG:
                return None
        except ObjectNotFoundError:
            return None
        tag = self.repo.objects.tag(value)
        target = self.ref_value(tag.target)
        if target is None:
            return None
        new, raw = encode_tag(target, tag.name, tag.tagger, tag.timestamp, tag.message)
        self.objects[new.id] = raw
        self.tags[value] = new.id
        return new.id

    def moves(self, scope: dict[str, str], tags: dict[str, str]) -> dict[str, tuple[str, str]]:
        """ref -> (value, new value) for the scope's refs and every tag whose commit was rewritten."""
        candidates = dict(scope)
        for name, value in tags.items():
            candidates.setdefault(name, value)
        out: dict[str, tuple[str, str]] = {}
        for name, value in candidates.items():
            new = self.ref_value(value)
            if new is not None:
                out[name] = (value, new)
        return out


def still_held(repo: "Repository", rewriter: Rewriter, moved: set[str]) -> tuple[str, ...]:
    """Refs left where they are whose history still holds the value (a rewritten commit, or
    one whose state holds the pointer)."""
    out = []
    for name, value in repo.store.list_refs().items():
        if name in moved or not name.startswith(HISTORY_PREFIXES):
            continue
        tip = peel(repo, value)
        if tip is not None and tainted(repo, rewriter, tip, {}):
            out.append(name)
    return tuple(out)


def tainted(repo: "Repository", rewriter: Rewriter, oid: str, memo: dict[str, bool]) -> bool:
    """Does commit ``oid``'s history reach the erased value (an old rewritten commit, or any
    commit whose state holds the pointer)? ``memo`` remembers answers across calls: a walk
    stops at a commit already judged, so judging every entry of a long reflog stays linear."""
    if oid in memo:
        return memo[oid]
    seen: list[str] = []
    stack, queued = [oid], {oid}
    found = False
    try:
        while stack and not found:
            c = repo.objects.commit(stack.pop())
            seen.append(c.id)
            if c.id in rewriter.map or rewriter.holds(c.root):
                found = True
            for parent in c.parents:
                if parent in memo:
                    found = found or memo[parent]
                elif parent not in queued:
                    queued.add(parent)
                    stack.append(parent)
    except ObjectNotFoundError:  # part of the history is gone: what is left is judged
        pass
    if not found:
        for s in seen:
            memo[s] = False
    memo[oid] = found
    return found


def expire_reflogs(repo: "Repository", rewriter: Rewriter, everything: bool, scope: set[str]) -> int:
    """Delete reflog entries naming an old (rewritten) commit or tag, in every reflog; in the
    reflogs of the purged refs (all of them with ``everything``), also entries naming any
    commit whose history holds the value (e.g. one a reset left behind). Idempotent."""
    store = repo.store
    memo: dict[str, bool] = {}

    def bad(value: str | None, deep: bool) -> bool:
        if value is None or value.startswith(SYMBOLIC_PREFIX):
            return False
        if value in rewriter.map or value in rewriter.tags:
            return True
        if not deep:
            return False
        tip = peel(repo, value)
        return tip is not None and tainted(repo, rewriter, tip, memo)

    # Entries up to now (either clock, and a minute's skew): the ref moves that named old
    # commits are older; a writer adding entries meanwhile is not chased.
    later = max(store.now(), datetime.now(timezone.utc)) + timedelta(minutes=1)
    total = 0
    for name in store.reflog_names():
        deep = everything or name in scope or name == HEAD
        total += store.expire_reflog(name, later, lambda old, new, d=deep: not bad(old, d) and not bad(new, d))
    return total


__all__ = ["PURGED_KEY", "Rewriter", "expire_reflogs", "peel", "scope_refs", "still_held", "tainted"]
