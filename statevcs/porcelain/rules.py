"""State rules checked on every commit: a JSON Schema per repository or per branch, and
transition rules for values (``.statevcs/attributes``), checked against the parent state.

Where rules live (docs/rules.md):

- ``refs/meta/schema`` names a state tree ``{"repository": SCHEMA, "branches": {NAME: SCHEMA}}``
  kept in the store itself, so PostgreSQL repositories have rules too; ``set_schema`` writes
  it. The ref is a gc root like any other, so the schema is never collected.
- ``.statevcs/schema.json`` (directory repositories) is the repository schema when the store
  holds none.
- ``.statevcs/attributes`` lines ``POINTER-PATTERN transitions FROM>TO ...``.

The schema a commit on branch B must satisfy is the stored one for B, else the stored
repository schema, else ``.statevcs/schema.json``. Every commit path (commit, merge, update,
restore, revert, cherry-pick, commit_patch, edits) goes through ``RepositoryCore._commit_once``,
which calls :func:`check_rules` inside its transaction, before anything is written. Without
rules the cost is one ref read and two ``stat`` calls.
"""

from __future__ import annotations

import fnmatch
import json
import os
import threading
from typing import TYPE_CHECKING, Any, Iterator

from ..algo.policies import TransitionRule, parse_transitions
from ..errors import InvalidAttributesError, InvalidRulesError, RuleViolationError
from ..model import refnames
from ..model.canonical import canonical_str, validate
from ..model.missing import MISSING
from ..model.objects import Ref
from ..model.pointer import format_pointer
from ..model.refnames import BRANCH_PREFIX
from ..model.tree import SCALAR, LayeredSource, child_at, child_token, materialize, read_tree, view, write_tree

if TYPE_CHECKING:
    from ..store.base import Transaction
    from .core import RepositoryCore

#: The ref naming the stored rules document (a state tree).
SCHEMA_REF = "refs/meta/schema"
#: The repository schema of a directory repository, in ``.statevcs/``.
SCHEMA_FILE = "schema.json"
ATTRIBUTES_FILE = "attributes"

_lock = threading.Lock()
#: Parsed stored documents by object id, and compiled validators by a key of their source.
_documents: dict[str, dict[str, Any]] = {}
_validators: dict[Any, Any] = {}
_files: dict[str, tuple[tuple[int, int], Any]] = {}
_CACHE_MAX = 64


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    with _lock:
        if len(cache) >= _CACHE_MAX:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return value


# ---------------------------------------------------------------- schemas
def compile_schema(schema: Any, source: str) -> Any:
    """A validator for ``schema``; InvalidRulesError when it is not a valid JSON Schema
    (or the ``jsonschema`` package is missing). ``source`` names where it came from."""
    try:
        import jsonschema
        from jsonschema.validators import validator_for
    except ImportError:
        raise InvalidRulesError(
            f"{source}: checking a JSON Schema needs the jsonschema package: pip install \"statevcs[rules]\""
        ) from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidRulesError(f"{source} is not a JSON Schema: expected an object, got {type(schema).__name__}")
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise InvalidRulesError(f"{source} is not a valid JSON Schema: {exc.message} (at {where})") from None
    return cls(schema)


def check_schema(schema: Any, source: str = "the schema") -> None:
    """Raise InvalidRulesError unless ``schema`` is a valid JSON Schema."""
    validate(schema)
    compile_schema(schema, source)


def stored_rules(repo: "RepositoryCore", oid: str | None) -> dict[str, Any]:
    """The stored rules document ``refs/meta/schema`` names (``{}`` when none)."""
    if oid is None:
        return {}
    doc = _documents.get(oid)
    if doc is None:
        value = read_tree(repo.objects, oid)
        doc = _remember(_documents, oid, value if isinstance(value, dict) else {})
    return doc


def _rule_files(repo: RepositoryCore) -> tuple[str, str] | None:
    """(schema file, attributes file) paths of a directory repository (None without one),
    remembered on the repository while its directory stays the same."""
    key = (repo.workdir, repo._meta_dir)
    hit = repo._rule_files
    if hit is not None and hit[0] == key:
        return hit[1]
    meta = repo.meta_dir
    paths = (os.path.join(meta, SCHEMA_FILE), os.path.join(meta, ATTRIBUTES_FILE)) if meta else None
    repo._rule_files = (key, paths)
    return paths


def _stamp(path: str) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _file_schema(repo: "RepositoryCore") -> tuple[str, Any] | None:
    """(source, validator) of ``.statevcs/schema.json``, cached by its mtime and size."""
    paths = _rule_files(repo)
    return _file_schema_at(paths[0], _stamp(paths[0])) if paths else None


def _file_schema_at(path: str, stamp: tuple[int, int] | None) -> tuple[str, Any] | None:
    if stamp is None:
        return None
    hit = _files.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]  # type: ignore[no-any-return]
    try:
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRulesError(f"{path} is not valid JSON: {exc}") from None
    found = (f".statevcs/{SCHEMA_FILE}", compile_schema(schema, path))
    _remember(_files, path, (stamp, found))
    return found


def effective_schema(repo: "RepositoryCore", branch: str | None, oid: str | None) -> tuple[str, Any] | None:
    """(source, validator) of the schema commits on ``branch`` must satisfy, or None."""
    return _stored_schema(repo, branch, oid) or _file_schema(repo)


def _stored_schema(repo: RepositoryCore, branch: str | None, oid: str | None) -> tuple[str, Any] | None:
    """(source, validator) of the stored schema for ``branch`` (else the repository's), or None."""
    if oid is None:
        return None
    doc = stored_rules(repo, oid)
    branches = doc.get("branches")
    if branch is not None and isinstance(branches, dict) and branch in branches:
        key = (oid, "branch", branch)
        source = f"schema of branch {branch}"
        schema = branches[branch]
    elif "repository" in doc:
        key = (oid, "repository")
        source = "repository schema"
        schema = doc["repository"]
    else:
        return None
    validator = _validators.get(key)
    if validator is None:
        validator = _remember(_validators, key, compile_schema(schema, source))
    return source, validator


def _schema_violation(validator: Any, state: Any, source: str) -> RuleViolationError | None:
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(state))
    if error is None:
        return None
    pointer = format_pointer(tuple(str(p) for p in error.absolute_path))
    rule = f"{source}: {'/'.join(str(p) for p in error.absolute_schema_path) or '(root)'}"
    return RuleViolationError(
        f"state rule violated at {pointer or '/'}: {error.message} ({rule})", pointer or "/", rule)


# ---------------------------------------------------------------- transitions
def transition_rules(repo: "RepositoryCore") -> list[TransitionRule]:
    """Transition rules of ``.statevcs/attributes`` (cached by the file's mtime and size)."""
    paths = _rule_files(repo)
    return _transitions_at(paths[1], _stamp(paths[1])) if paths else []


def _transitions_at(path: str, stamp: tuple[int, int] | None) -> list[TransitionRule]:
    if stamp is None:
        return []
    hit = _files.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]  # type: ignore[no-any-return]
    try:
        with open(path, encoding="utf-8") as f:
            rules = parse_transitions(f.read())
    except UnicodeDecodeError:
        raise InvalidAttributesError(f"{path} is not UTF-8 text") from None
    except ValueError as exc:
        raise InvalidAttributesError(f"{path}: {exc}") from None
    return _remember(_files, path, (stamp, rules))[1]  # type: ignore[no-any-return]


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


# ---------------------------------------------------------------- the commit hook
def check_rules(repo: "RepositoryCore", tx: "Transaction", ref: str, root: str, objects: dict[str, bytes],
                parent_root: str | None) -> None:
    """Refuse (RuleViolationError) a commit of state ``root`` on ``ref`` that breaks a rule.

    Called by the commit core inside its transaction, before it writes: ``objects`` are the
    commit's new nodes (not yet stored), ``parent_root`` the first parent's state (None for a
    first commit). One ref read and two stats when no rules exist."""
    branch = ref[len(BRANCH_PREFIX):] if ref.startswith(BRANCH_PREFIX) else None
    # The stored rules are read through the transaction, so a change made by another
    # process is seen; the files are stat'ed on every commit for the same reason.
    schema = _stored_schema(repo, branch, tx.read_ref(SCHEMA_REF))
    paths = _rule_files(repo)
    transitions: list[TransitionRule] = []
    if paths is not None:
        if schema is None:
            schema = _file_schema_at(paths[0], _stamp(paths[0]))
        transitions = _transitions_at(paths[1], _stamp(paths[1]))
    if schema is None and not transitions:
        return
    source = LayeredSource(repo.objects, objects) if objects else repo.objects
    if transitions:
        check_transitions(source, transitions, parent_root, root)
    if schema is not None:
        violation = _schema_violation(schema[1], read_tree(source, root), schema[0])
        if violation is not None:
            raise violation


def check_fast_forward(repo: "RepositoryCore", ref: str, root: str, old_root: str | None) -> None:
    """Refuse a fast-forward of ``ref`` to a state that breaks its rules.

    The commits were checked under the rules of the branch they were made on; landing on
    ``ref`` (perhaps with a stricter schema) is checked as the merge commit a ``--no-ff``
    merge would make: the state against ``ref``'s schema, transitions against its old head."""

    class _CurrentRefs:  # check_rules reads the schema ref through its transaction; here: now
        read_ref = staticmethod(repo.store.read_ref)

    check_rules(repo, _CurrentRefs, ref, root, {}, old_root)  # type: ignore[arg-type]


# ---------------------------------------------------------------- managing stored schemas
def get_schema(repo: "RepositoryCore", branch: str | None = None, effective: bool = False) -> Any:
    """The schema stored for ``branch`` (None: the repository's), or None. With ``effective``,
    the one commits on ``branch`` are checked against (falling back as check_rules does,
    to ``.statevcs/schema.json``)."""
    doc = stored_rules(repo, repo.store.read_ref(SCHEMA_REF))
    branches = doc.get("branches") if isinstance(doc.get("branches"), dict) else {}
    if branch is not None and branch in branches:
        return branches[branch]
    if branch is not None and not effective:
        return None
    if "repository" in doc:
        return doc["repository"]
    if effective and repo.meta_dir and os.path.exists(os.path.join(repo.meta_dir, SCHEMA_FILE)):
        with open(os.path.join(repo.meta_dir, SCHEMA_FILE), encoding="utf-8") as f:
            return json.load(f)
    return None


def set_schema(repo: "RepositoryCore", schema: Any, branch: str | None = None, remove: bool = False) -> None:
    """Store ``schema`` for ``branch`` (None: the whole repository), or with ``remove`` drop it.

    The schema is checked first (InvalidRulesError); existing commits are not re-checked."""
    if branch is not None:
        refnames.check_branch_name(branch)
    if not remove:
        check_schema(schema, f"the schema for {'branch ' + branch if branch else 'the repository'}")
    old = repo.store.read_ref(SCHEMA_REF)
    doc = dict(stored_rules(repo, old))
    branches = dict(doc.get("branches") or {})
    if branch is None:
        if remove:
            doc.pop("repository", None)
        else:
            doc["repository"] = schema
    elif remove:
        branches.pop(branch, None)
    else:
        branches[branch] = schema
    if branches:
        doc["branches"] = branches
    else:
        doc.pop("branches", None)
    what = f"branch {branch}" if branch else "the repository"
    if not doc:
        if old is not None:
            repo._write({}, [(SCHEMA_REF, None, old)], f"schema: removed for {what}")
        return
    root, objects = write_tree(doc)
    repo._write(objects, [(SCHEMA_REF, root, old)], f"schema: {'removed' if remove else 'set'} for {what}")


__all__ = ["SCHEMA_REF", "SCHEMA_FILE", "check_rules", "check_schema", "check_transitions", "get_schema",
           "set_schema", "transition_rules"]
