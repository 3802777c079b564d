"""Merges stopped on conflicts, waiting in the server for ``resolve`` or ``merge_abort``.

A directory repository's CLI keeps such a merge in the working file; an MCP server may
serve a database repository and any branch, so it keeps them itself: one per target
branch, shared by the server's clients, forgotten when it stops. Nothing is written to the
repository until the last conflict is settled. Then the merge is computed again against
the target's head at that moment: if the branch moved and a conflict changed (or a new one
appeared), those are reported to be settled again instead of committing choices made
against values that are gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...algo.merge import Conflict, Side, resolve_conflict
from ...errors import (
    MergeInProgressError,
    NoMergeInProgressError,
    RefConflictError,
    RefExistsError,
    RevisionNotFoundError,
)
from ...model.canonical import validate
from ...model.missing import MISSING
from ...porcelain.merging.merges import MergeOutcome, finish_merge, prepare_merge, repository_policies
from ...porcelain.worktree.merge_state import MergeState

if TYPE_CHECKING:
    from ...porcelain.repository.facade import Repository

#: How many times a merge is computed again when another writer moves the target meanwhile.
RACE_RETRIES = 8


@dataclass
class PendingMerge:
    """A merge into ``into`` of commit ``source`` (asked for as ``label``) with its conflicts
    and the choices made so far (pointer -> Side, a value, or MISSING to delete)."""

    into: str
    source: str
    label: str
    strategy: str
    message: str | None
    author: str
    conflicts: list[Conflict]
    choices: dict[str, Any] = field(default_factory=dict)

    def remaining(self) -> list[str]:
        return [c.path for c in self.conflicts if c.path not in self.choices]


def conflict_json(c: Conflict, choices: dict[str, Any] | None = None) -> dict[str, Any]:
    """A conflict as tools return it: the merge state's form (a missing side left out) with
    its path named ``pointer``, and with ``choices``, whether and how it was resolved."""
    stored = MergeState.conflict_json(c)
    out: dict[str, Any] = {"pointer": stored.pop("path"), **stored}
    if choices is not None:
        out["resolved"] = c.path in choices
        if c.path in choices:
            choice = choices[c.path]
            out["resolution"] = ({"side": choice.value} if isinstance(choice, Side) else
                                 {"side": "delete"} if choice is MISSING else {"value": choice})
    return out


def outcome_json(outcome: MergeOutcome, into: str) -> dict[str, Any]:
    status = {"merge": "merged"}.get(outcome.kind, outcome.kind)
    return {"status": status, "into": into, "commit": outcome.commit.id}


class PendingMerges:
    """The merges waiting in one server, by target branch."""

    def __init__(self) -> None:
        self._by_branch: dict[str, PendingMerge] = {}

    def find(self, into: str | None) -> PendingMerge:
        """The waiting merge into ``into``, or the only one when ``into`` is not given."""
        if into is not None:
            if into not in self._by_branch:
                raise NoMergeInProgressError(f"no merge into {into!r} is waiting for conflict resolution")
            return self._by_branch[into]
        if not self._by_branch:
            raise NoMergeInProgressError("no merge is waiting for conflict resolution")
        if len(self._by_branch) > 1:
            raise MergeInProgressError("merges into " + ", ".join(sorted(self._by_branch)) +
                                       " are waiting: say which with into")
        return next(iter(self._by_branch.values()))

    def start(self, repo: "Repository", source: str, into: str, strategy: str, message: str | None,
              author: str) -> dict[str, Any]:
        """Merge ``source`` into ``into``: commit it, or keep it here with its conflicts."""
        if into in self._by_branch:
            raise MergeInProgressError(f"a merge into {into!r} is waiting for its conflicts to be resolved: "
                                       "resolve them, or call merge_abort first")
        commit = repo.resolve(source)
        for _ in range(RACE_RETRIES):
            prepared = prepare_merge(repo, commit.id, into, strategy)
            if prepared.kind == "merge" and prepared.conflicts:
                waiting = PendingMerge(into, commit.id, source, strategy, message, author, list(prepared.conflicts))
                self._by_branch[into] = waiting
                return {"status": "conflicts", "into": into, "source": source, "source_commit": commit.id,
                        "conflicts": [conflict_json(c) for c in waiting.conflicts],
                        "next": "Settle each conflict with resolve {pointer, side or value}; the merge commits "
                                "when the last one is settled. Or give up with merge_abort."}
            try:
                return outcome_json(finish_merge(repo, prepared, message, author, source), into)
            except RefExistsError:
                raise
            except RefConflictError:  # the branch moved between computing and committing: again
                continue
        raise RefConflictError(f"{into!r} kept moving while merging {source!r}: try again")

    def resolve(self, repo: "Repository", pointer: str, side: str | None, value: Any, has_value: bool,
                into: str | None, author: str) -> dict[str, Any]:
        """Record how the conflict at ``pointer`` is settled; once none is left, commit the merge
        as ``author`` (the client that settled the last conflict)."""
        waiting = self.find(into)
        conflict = next((c for c in waiting.conflicts if c.path == pointer), None)
        if conflict is None:
            known = ", ".join(repr(c.path) for c in waiting.conflicts[:8])
            raise NoMergeInProgressError(f"the merge into {waiting.into!r} has no conflict at {pointer!r} "
                                         f"(its conflicts: {known})")
        if has_value:
            validate(value)
            choice: Any = value
        elif side == "delete":
            choice = MISSING
        else:
            choice = Side(side)
            # Refused now (e.g. "both" on a conflict that is not an array's), not at commit time.
            resolve_conflict(conflict, choice, repository_policies(repo, None))
        waiting.choices[pointer] = choice
        waiting.author = author
        if waiting.remaining():
            return {"resolved": pointer, "into": waiting.into, "remaining": waiting.remaining()}
        return self._commit(repo, waiting, pointer)

    def _commit(self, repo: "Repository", waiting: PendingMerge, pointer: str) -> dict[str, Any]:
        for _ in range(RACE_RETRIES):
            fresh = prepare_merge(repo, waiting.source, waiting.into, waiting.strategy)
            if fresh.target is None:  # merging into a branch that is gone would create it
                del self._by_branch[waiting.into]
                raise RevisionNotFoundError(f"branch {waiting.into!r} was deleted while its merge waited; "
                                            "the merge is dropped")
            if fresh.kind != "merge" or not fresh.conflicts:  # the target moved and the overlap is gone
                outcome_prepared = fresh
            else:
                before = {c.path: c for c in waiting.conflicts}
                changed = [c.path for c in fresh.conflicts if before.get(c.path) != c]
                if changed:
                    waiting.conflicts = list(fresh.conflicts)
                    waiting.choices = {p: v for p, v in waiting.choices.items() if p not in changed}
                    return {"resolved": pointer, "into": waiting.into, "remaining": waiting.remaining(),
                            "note": f"{waiting.into!r} moved meanwhile and these conflicts changed or are new: "
                                    + ", ".join(repr(p) for p in changed) + "; list them with conflicts and "
                                    "settle them again"}
                paths = {c.path for c in fresh.conflicts}
                outcome_prepared = prepare_merge(repo, waiting.source, waiting.into, waiting.strategy,
                                                 resolutions={p: v for p, v in waiting.choices.items() if p in paths})
                if outcome_prepared.target is None or fresh.target is None or \
                        outcome_prepared.target.id != fresh.target.id:
                    continue
            try:
                outcome = finish_merge(repo, outcome_prepared, waiting.message, waiting.author, waiting.label)
            except RefExistsError:
                raise
            except RefConflictError:
                continue
            del self._by_branch[waiting.into]
            return {"resolved": pointer, "remaining": [], **outcome_json(outcome, waiting.into)}
        raise RefConflictError(f"{waiting.into!r} kept moving while committing the merge: resolve again to retry")

    def abort(self, into: str | None) -> dict[str, Any]:
        waiting = self.find(into)
        del self._by_branch[waiting.into]
        return {"aborted": {"into": waiting.into, "source": waiting.label, "source_commit": waiting.source}}

    def listing(self, into: str | None) -> dict[str, Any]:
        waiting = self.find(into)
        return {"into": waiting.into, "source": waiting.label, "source_commit": waiting.source,
                "strategy": waiting.strategy, "unresolved": len(waiting.remaining()),
                "conflicts": [conflict_json(c, waiting.choices) for c in waiting.conflicts]}


__all__ = ["PendingMerge", "PendingMerges", "conflict_json", "outcome_json"]
