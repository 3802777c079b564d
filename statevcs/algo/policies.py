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

POLICIES = ("union", "keyed:FIELD", "atomic", "ours", "theirs", "counter")


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
        return policy
    raise ValueError(f"unknown merge policy {policy!r}; choose one of {', '.join(POLICIES)}")


def parse_policies(policies: Mapping[str, str] | None) -> list[PolicyRule]:
    """Compile ``{pattern: policy}``; later (more specific, by order given) patterns are tried first."""
    rules = [PolicyRule.make(p, pol) for p, pol in (policies or {}).items()]
    return list(reversed(rules))


def parse_attributes(text: str) -> dict[str, str]:
    """Parse an attributes file: ``POINTER-PATTERN POLICY`` per line, ``#`` comments."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"attributes line {number}: expected 'POINTER-PATTERN POLICY', got {line!r}")
        check_policy(parts[1])
        out[parts[0]] = parts[1]
    return out
