"""What each MCP tool does, over one Repository: plain Python, JSON in and JSON out.

``StateTools.call(name, arguments, author)`` checks the arguments (specs.py), the server's
scope (``--read-only``, ``--allow-branch``), runs the tool and fits the answer to the size
limit (shaping.py). Every failure is a StateVCSError whose message says what is wrong;
the server turns it into a tool error. Writes go through the Repository API, so the
repository's rules (schema, transitions) check every commit, and a lost race with
another writer is retried or reported, never lost.
"""

from __future__ import annotations

import fnmatch
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ...errors import NothingToCommitError, PathNotFoundError, RevisionNotFoundError, StateVCSError
from ...model import refnames
from ...model.missing import MISSING
from ...model.objects import Commit, Ref, format_time
from ...model.pointer import format_pointer, parse_pointer
from ...model.tree import ARRAY, OBJECT, child_at, materialize, view
from .pending import PendingMerges
from .shaping import DEFAULT_MAX_BYTES, bounded_size, fit_list, fit_text, json_size, page_value
from .specs import TOOLS, TOOLS_BY_NAME, ToolArgumentError, ToolSpec, python_arguments

if TYPE_CHECKING:
    from ...porcelain.repository.facade import Repository

#: A value of ``resolve`` that was not given (``null`` is a value).
_ABSENT: Any = object()


class ScopeError(StateVCSError):
    """The server's scope (``--read-only``, ``--allow-branch``) does not allow this write."""


def commit_json(c: Commit) -> dict[str, Any]:
    return {"id": c.id, "message": c.message, "author": c.author, "timestamp": format_time(c.timestamp),
            "parents": list(c.parents)}


class StateTools:
    """The tools of one server: its repository, scope, size limit and waiting merges."""

    def __init__(self, repo: "Repository", read_only: bool = False, allow_branches: tuple[str, ...] = (),
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.repo = repo
        self.read_only = read_only
        self.allow_branches = tuple(allow_branches)
        self.max_bytes = max_bytes
        self.pending = PendingMerges()

    def specs(self) -> list[ToolSpec]:
        """The tools clients see: a read-only server does not offer the ones that write."""
        return [t for t in TOOLS if not (self.read_only and t.writes)]

    def call(self, name: str, arguments: dict[str, Any] | None, author: str) -> dict[str, Any]:
        """Run tool ``name``; StateVCSError (ToolArgumentError, ScopeError, ...) when it cannot."""
        spec = TOOLS_BY_NAME.get(name)
        if spec is None:
            raise ToolArgumentError(f"no tool named {name!r}; the tools are "
                                    + ", ".join(t.name for t in self.specs()))
        args = python_arguments(spec.check(arguments))
        if spec.writes:
            if self.read_only:
                raise ScopeError(f"{name} writes, and this server is read-only (started with --read-only)")
            args["author"] = author
        method = getattr(self, "tool_" + name)
        with self._acting_as(author):
            return method(**args)

    @contextmanager
    def _acting_as(self, author: str) -> Iterator[None]:
        """Ref moves without a commit (branch, tag) record the repository's author in the
        reflog: make it the client's for the call (calls are serialised by the server)."""
        saved = self.repo.author
        self.repo.author = author
        try:
            yield
        finally:
            self.repo.author = saved

    # ---------------------------------------------------------------- scope
    def _check_branch(self, tool: str, branch: str) -> None:
        refnames.check_branch_name(branch)
        if self.allow_branches and not any(fnmatch.fnmatchcase(branch, p) for p in self.allow_branches):
            raise ScopeError(f"{tool} would write to branch {branch!r}, which this server may not write to "
                             f"(it may write to branches matching {', '.join(self.allow_branches)})")

    def _existing_branch(self, tool: str, branch: str) -> None:
        self._check_branch(tool, branch)
        if branch not in self.repo.branches and not (branch == self.repo.current_branch and not self.repo.branches):
            raise RevisionNotFoundError(f"no branch named {branch!r} (create it with the branch tool)")

    # ---------------------------------------------------------------- reading
    def tool_get(self, revision: str = "HEAD", pointer: str = "", offset: int = 0) -> dict[str, Any]:
        commit = self.repo.resolve(revision)
        tokens = parse_pointer(pointer)
        objects = self.repo.objects
        child = child_at(objects, Ref(commit.root), list(tokens))
        if child is MISSING:
            raise PathNotFoundError(_where_it_stops(objects, commit, tokens, pointer, revision))
        head = {"revision": revision, "commit": commit.id, "pointer": pointer}
        budget = self.max_bytes * 9 // 10
        if offset == 0 and bounded_size(objects, child, budget) is not None:
            value = materialize(objects, child)
            if json_size(value) <= budget:
                return {**head, "value": value}
        return {**head, **page_value(objects, child, tokens, offset, self.max_bytes)}

    def tool_log(self, revision: str = "HEAD", path: str | None = None, limit: int = 20) -> dict[str, Any]:
        if path is not None:
            parse_pointer(path)
        commits = list(self.repo.log(revision, path=path, limit=limit + 1))
        result: dict[str, Any] = {"revision": revision, "commits": [commit_json(c) for c in commits[:limit]]}
        if len(commits) > limit:
            result["more"] = True
        return fit_list(result, "commits", self.max_bytes, ("message",))

    def tool_diff(self, from_: str, to: str, path: str = "", format: str = "patch", offset: int = 0
                  ) -> dict[str, Any]:
        a, b = self.repo.resolve(from_), self.repo.resolve(to)
        parse_pointer(path)
        diff = self.repo.diff(a, b, path)
        head = {"from": a.id, "to": b.id, "count": len(diff)}
        if format == "patch":
            result = {**head, "offset": offset, "changes": diff.patch[offset:]}
            return fit_list(result, "changes", self.max_bytes, ("value",), offset=offset)
        return fit_text({**head, "text": diff.render(format)}, "text", self.max_bytes)

    def tool_branches(self) -> dict[str, Any]:
        current = self.repo.current_branch
        items = [{"name": name, "commit": oid, "current": name == current}
                 for name, oid in sorted(self.repo.branches.items())]
        return fit_list({"current": current, "branches": items}, "branches", self.max_bytes, ())

    def tool_conflicts(self, into: str | None = None) -> dict[str, Any]:
        return fit_list(self.pending.listing(into), "conflicts", self.max_bytes, ("base", "ours", "theirs"))

    # ---------------------------------------------------------------- writing
    def tool_commit_patch(self, branch: str, patch: Any, message: str, author: str) -> dict[str, Any]:
        self._existing_branch("commit_patch", branch)
        commit = self.repo.commit_patch(patch, branch=branch, message=message, author=author)
        return {"commit": commit.id, "branch": branch, "parent": commit.parents[0] if commit.parents else None}

    def tool_branch(self, name: str, author: str, from_: str = "HEAD") -> dict[str, Any]:
        self._check_branch("branch", name)
        return {"branch": name, "commit": self.repo.create_branch(name, from_)}

    def tool_tag(self, name: str, revision: str, author: str, message: str | None = None) -> dict[str, Any]:
        commit = self.repo.rev_parse(revision)
        self.repo.create_tag(name, commit, message=message, tagger=author)
        return {"tag": name, "commit": commit, "annotated": message is not None}

    def tool_merge(self, source: str, into: str, author: str, strategy: str = "merge",
                   message: str | None = None) -> dict[str, Any]:
        self._existing_branch("merge", into)
        result = self.pending.start(self.repo, source, into, strategy, message, author)
        if "conflicts" in result:
            return fit_list(result, "conflicts", self.max_bytes, ("base", "ours", "theirs"))
        return result

    def tool_resolve(self, pointer: str, author: str, side: str | None = None, value: Any = _ABSENT,
                     into: str | None = None) -> dict[str, Any]:
        if (side is None) == (value is _ABSENT):
            raise ToolArgumentError("resolve needs exactly one of side (ours, theirs, base, both, delete) or value")
        waiting = self.pending.find(into)
        self._check_branch("resolve", waiting.into)
        result = self.pending.resolve(self.repo, pointer, side, None if value is _ABSENT else value,
                                      value is not _ABSENT, waiting.into, author)
        return fit_list(result, "remaining", self.max_bytes, ())

    def tool_merge_abort(self, author: str, into: str | None = None) -> dict[str, Any]:
        self._check_branch("merge_abort", self.pending.find(into).into)
        return self.pending.abort(into)

    def tool_restore(self, revision: str, branch: str, author: str, pointers: list[str] | None = None,
                     message: str | None = None) -> dict[str, Any]:
        self._existing_branch("restore", branch)
        source = self.repo.resolve(revision)
        if not pointers or "" in pointers:
            commit = self.repo.restore(revision, branch=branch, message=message, author=author)
            return {"commit": commit.id, "branch": branch, "restored_from": source.id}
        for pointer in pointers:
            parse_pointer(pointer)
        values = {p: self._value_or_missing(source, p) for p in dict.fromkeys(pointers)}
        text = message or f"Restore {', '.join(values)} from {revision} ({source.short_id})"
        with self.repo.edit(branch, message=text, author=author,
                            metadata={"restored_from": source.id, "pointers": list(values)}) as tx:
            for pointer, value in values.items():
                if value is not MISSING:
                    tx.set(pointer, value)
                elif self._has(tx, pointer):
                    tx.remove(pointer)
        if tx.commit is None:
            raise NothingToCommitError(f"nothing to restore: {branch!r} already holds {revision!r}'s values "
                                       f"at {', '.join(values)}")
        return {"commit": tx.commit.id, "branch": branch, "restored_from": source.id, "pointers": list(values)}

    def _value_or_missing(self, source: Commit, pointer: str) -> Any:
        try:
            return self.repo.get(source, pointer)
        except PathNotFoundError:
            return MISSING

    @staticmethod
    def _has(tx: Any, pointer: str) -> bool:
        try:
            tx.get(pointer)
        except PathNotFoundError:
            return False
        return True


def _where_it_stops(objects: Any, commit: Commit, tokens: tuple[str, ...], pointer: str, revision: str) -> str:
    """Why ``pointer`` names nothing at ``revision``: the first token that is not there."""
    current: Any = Ref(commit.root)
    for depth, token in enumerate(tokens):
        kind, contents = view(objects, current)
        here = format_pointer(tokens[:depth]) or "the root"
        nxt = child_at(objects, current, [token])
        if nxt is MISSING:
            if kind == OBJECT:
                return f"{pointer}: no key {token!r} at {here} in {revision}"
            if kind == ARRAY:
                return f"{pointer}: {here} is an array of {len(contents)} items; {token!r} is not one of its indexes"
            return f"{pointer}: {here} is {json_kind(contents)}, not an object or array"
        current = nxt
    return f"{pointer}: not found in {revision}"


def json_kind(value: Any) -> str:
    return "a string" if isinstance(value, str) else "null" if value is None else \
        "a boolean" if isinstance(value, bool) else "a number"


__all__ = ["ScopeError", "StateTools", "commit_json"]
