"""The MCP tools: names (the contract), descriptions an LLM can act on, input schemas, and
the check every call's arguments pass before anything is read or written.

Arguments are checked here rather than by a JSON Schema library so that each refusal names
the tool, the argument and what was expected, in words a model can correct itself from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...algo.merge import STRATEGIES
from ...errors import StateVCSError

REVISION = ("a revision: a branch, a tag, HEAD, a commit id (4+ hex digits), optionally with ~N "
            "(N-th parent: main~1) or ^N")
POINTER = 'an RFC 6901 JSON Pointer: "" is the whole state, "/agent/status" one value, "/items/0" an array item'
SIDES = ("ours", "theirs", "base", "both", "delete")
DIFF_FORMATS = ("patch", "text", "markdown")


class ToolArgumentError(StateVCSError, ValueError):
    """A tool was called with arguments it does not take, or of the wrong type."""


@dataclass(frozen=True)
class Param:
    """One argument: its JSON type (``string``, ``integer``, ``strings``: array of strings,
    ``operations``: array of objects, ``any``: any JSON), and what it means."""

    name: str
    type: str
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description}
        if self.type == "strings":
            out.update(type="array", items={"type": "string"})
        elif self.type == "operations":
            out.update(type="array", items={"type": "object"})
        elif self.type != "any":
            out["type"] = self.type
        if self.enum:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True)
class ToolSpec:
    """A tool as clients see it; ``writes`` tools are refused by a read-only server."""

    name: str
    description: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    writes: bool = False

    def input_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {p.name: p.schema() for p in self.params},
                "required": [p.name for p in self.params if p.required], "additionalProperties": False}

    def check(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """The arguments, checked against the params: unknown names, missing required ones and
        wrong types raise ToolArgumentError naming the argument."""
        arguments = dict(arguments or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            takes = ", ".join(known) or "no arguments"
            raise ToolArgumentError(f"{self.name} has no argument {unknown[0]!r} (it takes {takes})")
        for p in self.params:
            if p.name not in arguments or (arguments[p.name] is None and p.type != "any"):
                if p.required:
                    raise ToolArgumentError(f"{self.name} needs the argument {p.name!r}: {p.description}")
                arguments.pop(p.name, None)
                continue
            _check_value(self.name, p, arguments[p.name])
        return arguments


def _check_value(tool: str, p: Param, value: Any) -> None:
    def wrong(expected: str) -> ToolArgumentError:
        return ToolArgumentError(f"{tool}: argument {p.name!r} must be {expected}, not {_type_name(value)}")

    if p.type == "string":
        if not isinstance(value, str):
            raise wrong("a string")
        if p.enum and value not in p.enum:
            raise ToolArgumentError(f"{tool}: argument {p.name!r} must be one of {', '.join(p.enum)}, not {value!r}")
    elif p.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        if p.minimum is not None and value < p.minimum:
            raise ToolArgumentError(f"{tool}: argument {p.name!r} must be at least {p.minimum}, not {value}")
        if p.maximum is not None and value > p.maximum:
            raise ToolArgumentError(f"{tool}: argument {p.name!r} must be at most {p.maximum}, not {value}")
    elif p.type == "strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong("an array of strings")
    elif p.type == "operations":  # a JSON Patch; its JSON text is accepted too (commit_patch parses it)
        if not isinstance(value, (list, str)):
            raise wrong("an array of patch operations")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__)


def _p(name: str, type: str, description: str, **kw: Any) -> Param:
    return Param(name, type, description, **kw)


#: The ``into`` of the tools that act on a merge waiting for resolution.
_WAITING_INTO = _p("into", "string", "The branch the merge goes into; needed only when several merges wait.")

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("get", (
        "Read the state at a revision, or the value at a JSON Pointer in it. Returns {commit, pointer, value}. "
        "A value too large for one response comes back as a page instead: {truncated: true, kind, length, "
        "entries: [{key or index, pointer, value or kind and length}], next_offset}; read an entry's pointer, "
        "or call again with offset=next_offset."), (
        _p("revision", "string", f"Where to read: {REVISION}. Default HEAD."),
        _p("pointer", "string", f"What to read: {POINTER}. Default: the whole state."),
        _p("offset", "integer", "First entry (object keys, array items) or character (strings) of the page, "
                                "when the value is too large to return whole. Default 0.", minimum=0),
    )),
    ToolSpec("log", (
        "List commits reachable from a revision, newest first. Returns {commits: [{id, message, author, "
        "timestamp, parents}]}. With path, only the commits that changed the value at that JSON Pointer "
        "(when did this value change?)."), (
        _p("revision", "string", f"Where to start: {REVISION}; or a range A..B (on B, not on A). Default HEAD."),
        _p("path", "string", f"Only commits that changed this value: {POINTER}."),
        _p("limit", "integer", "At most this many commits (default 20).", minimum=1, maximum=500),
    )),
    ToolSpec("diff", (
        "Compare the states at two revisions. Returns {from, to, count, changes}: changes is an RFC 6902 JSON "
        "Patch that turns from's state into to's (format patch, the default); formats text (one line per "
        "changed path) and markdown (a table for a review comment) return {from, to, count, text}."), (
        _p("from", "string", f"The old side: {REVISION}.", required=True),
        _p("to", "string", f"The new side: {REVISION}.", required=True),
        _p("path", "string", f"Only changes under this JSON Pointer ({POINTER})."),
        _p("format", "string", "patch (default), text or markdown.", enum=DIFF_FORMATS),
        _p("offset", "integer", "Skip this many changes (paging a large diff). Default 0.", minimum=0),
    )),
    ToolSpec("commit_patch", (
        "Apply an RFC 6902 JSON Patch (ops add, remove, replace, move, copy, test) to the head of a branch and "
        "commit it. Returns {commit, branch, parent}. If another writer moved the branch meanwhile, the patch "
        "is replayed onto the new head; an operation that no longer applies there (or a failing test op) is "
        "an error and nothing is committed. Put a test op first to commit only if a value is what you read."), (
        _p("branch", "string", "The branch to commit on.", required=True),
        _p("patch", "operations", 'The operations, e.g. [{"op": "replace", "path": "/status", "value": "done"}] '
                                  "(or the same as JSON text).", required=True),
        _p("message", "string", "Why: the commit message.", required=True),
    ), writes=True),
    ToolSpec("branch", (
        "Create a branch at a revision (default HEAD), e.g. to try a risky plan without touching the "
        "original. Returns {branch, commit}. Fails if the branch exists."), (
        _p("name", "string", "The new branch's name, e.g. try/plan-b.", required=True),
        _p("from", "string", f"Where it starts: {REVISION}. Default HEAD."),
    ), writes=True),
    ToolSpec("branches", (
        "List the branches with their head commits. Returns {branches: [{name, commit, current}], current}; "
        "current is the repository's checked-out branch."), ()),
    ToolSpec("tag", (
        "Name a revision so you can come back to it (get, diff, restore, log accept tag names). With a "
        "message the tag is annotated. Returns {tag, commit}. Fails if the tag exists."), (
        _p("name", "string", "The tag's name, e.g. known-good.", required=True),
        _p("revision", "string", f"What to tag: {REVISION}.", required=True),
        _p("message", "string", "Why: makes an annotated tag."),
    ), writes=True),
    ToolSpec("merge", (
        "Merge a revision (usually a branch) into a branch. Returns {status: merged | fast-forward | "
        "up-to-date, commit}. When both sides changed the same values (strategy merge) it returns {status: "
        "conflicts, conflicts: [{pointer, kind, base, ours, theirs}]} and commits nothing yet: settle each "
        "conflict with resolve (the merge commits when the last is settled) or give up with merge_abort. "
        "Strategy source_wins / target_wins settles every overlap for the source / the target instead."), (
        _p("source", "string", f"What to merge: {REVISION}.", required=True),
        _p("into", "string", "The branch that receives the changes.", required=True),
        _p("strategy", "string", "merge (default: report overlaps as conflicts), source_wins or target_wins.",
           enum=STRATEGIES),
        _p("message", "string", "Message of the merge commit."),
    ), writes=True),
    ToolSpec("conflicts", (
        "List the conflicts of a merge waiting for resolution: each with pointer, kind, base, ours (the "
        "branch merged into), theirs (the source) and whether it is resolved. Returns {into, source, "
        "conflicts}."), (
        _WAITING_INTO,
    )),
    ToolSpec("resolve", (
        "Settle one conflict of a waiting merge, by a side or a value. Sides: ours (keep the target branch's), "
        "theirs (take the source's), base (the common ancestor's), both (array conflicts: keep both sides' "
        "items), delete (remove the value). When the last conflict is settled the merge is committed. Returns "
        "{resolved, remaining: [pointers], commit (once committed)}."), (
        _p("pointer", "string", "The conflict's pointer, as conflicts lists it.", required=True),
        _p("side", "string", "ours, theirs, base, both or delete (give side or value).", enum=SIDES),
        _p("value", "any", "The JSON value to put there instead of a side."),
        _WAITING_INTO,
    ), writes=True),
    ToolSpec("merge_abort", (
        "Give up a merge waiting for resolution. Nothing of it was committed; the branch stays as it is. "
        "Returns {aborted: {into, source}}."), (
        _WAITING_INTO,
    ), writes=True),
    ToolSpec("restore", (
        "Make a new commit on a branch whose state equals a revision's (history is kept: nothing is lost), "
        "or, with pointers, bring back only the values at those JSON Pointers (one absent at the revision is "
        "removed). Returns {commit, branch, restored_from}."), (
        _p("revision", "string", f"The state to go back to: {REVISION}, typically a tag.", required=True),
        _p("branch", "string", "The branch that gets the new commit.", required=True),
        _p("pointers", "strings", "Restore only these values (JSON Pointers). Default: the whole state."),
        _p("message", "string", "Commit message (default: says what was restored from where)."),
    ), writes=True),
)

TOOLS_BY_NAME = {t.name: t for t in TOOLS}

#: Tool argument names that are not Python parameter names, and what they are called in code.
PYTHON_NAMES = {"from": "from_"}


def python_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Checked tool arguments as keyword arguments (``from`` becomes ``from_``)."""
    return {PYTHON_NAMES.get(k, k): v for k, v in arguments.items()}


__all__ = ["TOOLS", "TOOLS_BY_NAME", "Param", "ToolArgumentError", "ToolSpec", "python_arguments"]
