"""Per-path merge policies: which rule settles overlapping changes at which pointers.

Patterns are JSON Pointers where ``*`` matches one reference token and ``**`` any number
of them. Declared in ``.statevcs/attributes`` (``POINTER-PATTERN POLICY`` per line, ``#``
comments) or passed as ``{pattern: policy}``.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Mapping

from ..model.pointer import parse_pointer

POLICIES = ("union", "keyed:FIELD", "keyed:/POINTER", "atomic", "ours", "theirs", "counter")


Policy = str


@dataclass(frozen=True)
class PolicyRule:
    """``pattern`` (a JSON Pointer where ``*`` matches one token and ``**`` any number) -> policy."""

    pattern: str
    policy: Policy
    _regex: re.Pattern = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    @staticmethod
    def make(pattern: str, policy: Policy) -> "PolicyRule":
        check_policy(policy)
        if pattern and not pattern.startswith("/"):
            raise ValueError(f"policy pattern {pattern!r} must be a JSON Pointer (start with '/')")
        parts = []
        for token in pattern.split("/")[1:] if pattern else []:
            if token == "**":
                parts.append("(?:/[^/]*)*")
            else:
                parts.append("/" + fnmatch.translate(token)[4:-3].replace(".*", "[^/]*"))
        return PolicyRule(pattern, policy, re.compile("^" + "".join(parts) + "$"))

    def matches(self, pointer: str) -> bool:
        return bool(self._regex.match(pointer))


def check_policy(policy: str) -> str:
    if policy in ("union", "atomic", "ours", "theirs", "counter"):
        return policy
    if policy.startswith("keyed:") and len(policy) > len("keyed:"):
        if policy[len("keyed:")] == "/":
            try:
                parse_pointer(policy[len("keyed:"):])
            except ValueError as exc:
                raise ValueError(f"merge policy {policy!r}: {exc}") from None
        return policy
    raise ValueError(f"unknown merge policy {policy!r}; choose one of {', '.join(POLICIES)}")


def parse_policies(policies: Mapping[str, str] | None) -> list[PolicyRule]:
    """Compile ``{pattern: policy}``; later (more specific, by order given) patterns are tried first."""
    rules = [PolicyRule.make(p, pol) for p, pol in (policies or {}).items()]
    return list(reversed(rules))


def parse_attributes(text: str) -> dict[str, str]:
    """Parse an attributes file: ``POINTER-PATTERN POLICY`` per line, ``#`` comments.
    Transition lines (``POINTER-PATTERN transitions ...``, see parse_transitions) are skipped."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[1] == TRANSITIONS:
            continue
        if len(parts) != 2:
            raise ValueError(f"attributes line {number}: expected 'POINTER-PATTERN POLICY', got {line!r}")
        if not parts[0].startswith("/"):
            raise ValueError(f"attributes line {number}: pattern {parts[0]!r} must be a JSON Pointer (start with '/'), "
                             f"as in '/{parts[0].lstrip('/')} {parts[1]}'")
        check_policy(parts[1])
        out[parts[0]] = parts[1]
    return out


# ---------------------------------------------------------------- transition rules
TRANSITIONS = "transitions"
#: Stands for "no value" on one side of a transition (``>idle``: may be created as idle).
ABSENT = None
#: Matches any value on one side of a transition (``*>idle``).
ANY_VALUE = "*"


@dataclass(frozen=True)
class TransitionRule:
    """``POINTER-PATTERN transitions FROM>TO ...``: the changes a value at a matching pointer
    may make from the parent commit's state to the new one (docs/rules.md).

    ``pairs`` holds (from, to) texts; ``None`` is "absent" (``>idle`` creates, ``done>``
    removes), ``"*"`` any value. A value's text is the string itself, or the canonical JSON
    of any other value (``0``, ``true``, ``null``). Creation is free unless some pair has an
    empty FROM, removal free unless some pair has an empty TO; an unchanged value always passes."""

    pattern: str
    pairs: frozenset[tuple[str | None, str | None]]
    line: str = ""

    def allows(self, old: str | None, new: str | None) -> bool:
        if old == new:
            return True
        if old is None and not any(f is None for f, _ in self.pairs):
            return True
        if new is None and not any(t is None for _, t in self.pairs):
            return True
        return any((f == old or (f == ANY_VALUE and old is not None))
                   and (t == new or (t == ANY_VALUE and new is not None)) for f, t in self.pairs)

    @property
    def tokens(self) -> list[str]:
        """The pattern's reference tokens (``*`` one token, ``**`` any number, globs within one)."""
        return [t.replace("~1", "/").replace("~0", "~") for t in self.pattern.split("/")[1:]]


def parse_transitions(text: str) -> list[TransitionRule]:
    """The transition rules of an attributes file (lines whose second word is ``transitions``).

    ValueError (with the line number) for a pattern that is not a JSON Pointer, a rule with
    no transitions, or a transition without exactly one ``>``."""
    rules: list[TransitionRule] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        parts = line.split()
        if len(parts) < 2 or parts[1] != TRANSITIONS:
            continue
        pattern = parts[0]
        if not pattern.startswith("/"):
            raise ValueError(f"attributes line {number}: transition pattern {pattern!r} must be a JSON Pointer "
                             "(start with '/')")
        if len(parts) == 2:
            raise ValueError(f"attributes line {number}: expected 'POINTER-PATTERN transitions FROM>TO ...'")
        pairs: set[tuple[str | None, str | None]] = set()
        for item in parts[2:]:
            if item.count(">") != 1 or item == ">":
                raise ValueError(f"attributes line {number}: transition {item!r} is not FROM>TO "
                                 "(an empty side means absent: >idle, done>)")
            left, right = item.split(">")
            pairs.add((left or ABSENT, right or ABSENT))
        rules.append(TransitionRule(pattern, frozenset(pairs), line))
    return rules
