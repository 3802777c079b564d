"""Transition rules (``.statevcs/attributes`` lines ``POINTER-PATTERN transitions FROM>TO ...``):
which changes of a value a commit may make, checked against the parent state.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any, Iterator

from ...algo.policies import TransitionRule, parse_transitions
from ...errors import InvalidAttributesError, RuleViolationError
from ...model.canonical import canonical_str
from ...model.missing import MISSING
from ...model.objects import Ref
from ...model.pointer import format_pointer
from ...model.tree import SCALAR, child_at, child_token, materialize, view
from .files import file_rules, remember, rule_files, stamp

if TYPE_CHECKING:
    from ..core.repository_core import RepositoryCore


def transition_rules(repo: "RepositoryCore") -> list[TransitionRule]:
    """Transition rules of ``.statevcs/attributes`` (cached by the file's mtime and size)."""
    paths = rule_files(repo)
    return transitions_at(paths[1], stamp(paths[1])) if paths else []


def transitions_at(path: str, stamp: tuple[int, int] | None) -> list[TransitionRule]:
    if stamp is None:
        return []
    hit = file_rules.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]  # type: ignore[no-any-return]
    try:
        with open(path, encoding="utf-8") as f:
            rules = parse_transitions(f.read())
    except UnicodeDecodeError:
        raise InvalidAttributesError(f"{path} is not UTF-8 text") from None
    except ValueError as exc:
        raise InvalidAttributesError(f"{path}: {exc}") from None
    return remember(file_rules, path, (stamp, rules))[1]  # type: ignore[no-any-return]


def _text(source: Any, child: Any) -> str | None:
    """A value's text for transition rules: a string itself, anything else its canonical JSON."""
    if child is MISSING:
        return None
    value = materialize(source, child)
    return value if isinstance(value, str) else canonical_str(value)


def _entries(source: Any, child: Any) -> dict[str, Any]:
    """A container child's entries by reference token ({} for a scalar or MISSING)."""
    if child is MISSING:
        return {}
    kind, contents = view(source, child)
    if kind == SCALAR:
        return {}
    if isinstance(contents, dict) or hasattr(contents, "keys"):
        return {k: contents[k] for k in contents.keys()}
    return {str(i): c for i, c in enumerate(contents)}


def _changed_matches(source: Any, old: Any, new: Any, tokens: list[str],
                     prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(pointer tokens, old child, new child) for each pointer matching ``tokens`` whose value
    differs; equal subtrees are skipped by id, so the cost follows the change."""
    if old is not MISSING and new is not MISSING and child_token(old) == child_token(new):
        return
    if not tokens:
        yield prefix, old, new
        return
    token, rest = tokens[0], tokens[1:]
    if token == "**":
        yield from _changed_matches(source, old, new, rest, prefix)
        olds, news = _entries(source, old), _entries(source, new)
        for key in dict.fromkeys([*olds, *news]):
            yield from _changed_matches(source, olds.get(key, MISSING), news.get(key, MISSING), tokens,
                                        prefix + (key,))
        return
    if any(c in token for c in "*?["):
        olds, news = _entries(source, old), _entries(source, new)
        for key in dict.fromkeys([*olds, *news]):
            if fnmatch.fnmatchcase(key, token):
                yield from _changed_matches(source, olds.get(key, MISSING), news.get(key, MISSING), rest,
                                            prefix + (key,))
        return
    yield from _changed_matches(source, child_at(source, old, [token]) if old is not MISSING else MISSING,
                                child_at(source, new, [token]) if new is not MISSING else MISSING, rest,
                                prefix + (token,))


def check_transitions(source: Any, rules: list[TransitionRule], old_root: str | None, new_root: str) -> None:
    """RuleViolationError for the first value that changes in a way its transition rule forbids."""
    old = Ref(old_root) if old_root else MISSING
    for rule in rules:
        seen: set[tuple[str, ...]] = set()
        for tokens, before, after in _changed_matches(source, old, Ref(new_root), rule.tokens, ()):
            if tokens in seen:  # "**" can reach one pointer by two routes
                continue
            seen.add(tokens)
            a, b = _text(source, before), _text(source, after)
            if not rule.allows(a, b):
                pointer = format_pointer(tokens) or "/"
                what = {(True, False): f"creating it as {b!r}", (False, True): f"removing it (was {a!r})"}.get(
                    (a is None, b is None), f"{a!r} -> {b!r}")
                raise RuleViolationError(
                    f"state rule violated at {pointer}: {what} is not an allowed transition "
                    f"(attributes: {rule.line})", pointer, f"attributes: {rule.line}")
