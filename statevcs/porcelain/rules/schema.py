"""JSON Schema rules: compiling schemas, the schema a branch's commits must satisfy, and
storing schemas in the repository (docs/rules.md).

The schema for a commit on branch B is the stored one for B, else the stored repository
schema, else ``.statevcs/schema.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import InvalidRulesError, RuleViolationError
from ...model import refnames
from ...model.canonical import loads, validate
from ...model.pointer import format_pointer
from ...model.tree import read_tree, write_tree
from . import engine
from .files import (
    SCHEMA_FILE,
    SCHEMA_REF,
    compiled_validators,
    file_rules,
    remember,
    rule_files,
    stamp,
    stored_documents,
)
from .schema_graph import check_graph

if TYPE_CHECKING:
    from ..core.repository_core import RepositoryCore


_BRANCH_SOURCE = "schema of branch "
_REPOSITORY_SOURCE = "repository schema"


@dataclass(frozen=True)
class CompiledSchema:
    """A schema ready to check states: its validator (engine.safe_class) and how many
    keywords validation can reach (the budget grows with it)."""

    validator: Any
    keywords: int


def compile_schema(schema: Any, source: str) -> CompiledSchema:
    """A checked, compiled ``schema``; InvalidRulesError when it is not a valid JSON Schema,
    refers outside itself, loops in place, has a pattern RE2 cannot match (schema_graph), or
    the ``jsonschema`` package is missing. ``source`` names where it came from."""
    try:
        import jsonschema
        from jsonschema.validators import validator_for
    except ImportError:
        raise InvalidRulesError(
            f"{source}: checking a JSON Schema needs the jsonschema package: pip install \"statevcs[rules]\""
        ) from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidRulesError(f"{source} is not a JSON Schema: expected an object, got {type(schema).__name__}")
    if isinstance(schema, dict) and "$schema" in schema and not isinstance(schema["$schema"], str):
        raise InvalidRulesError(f"{source} is not a valid JSON Schema: $schema must be a string (at /$schema)")

    def build() -> CompiledSchema:
        cls = engine.safe_class(validator_for(schema))
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = format_pointer(tuple(str(p) for p in exc.absolute_path)) or "(root)"
            raise InvalidRulesError(f"{source} is not a valid JSON Schema: {exc.message} (at {where})") from None
        keywords = check_graph(schema, cls, source)
        return CompiledSchema(cls(schema, registry=engine.registry()), keywords)

    return engine.run(build, None, source)  # type: ignore[no-any-return]


def check_schema(schema: Any, source: str = "the schema") -> None:
    """Raise InvalidRulesError unless ``schema`` is a valid JSON Schema statevcs can run."""
    validate(schema)
    compile_schema(schema, source)


def stored_rules(repo: "RepositoryCore", oid: str | None) -> dict[str, Any]:
    """The stored rules document ``refs/meta/schema`` names (``{}`` when none)."""
    if oid is None:
        return {}
    doc = stored_documents.get(oid)
    if doc is None:
        value = read_tree(repo.objects, oid)
        doc = remember(stored_documents, oid, value if isinstance(value, dict) else {})
    return doc


def _file_schema(repo: "RepositoryCore") -> tuple[str, Any] | None:
    """(source, validator) of ``.statevcs/schema.json``, cached by its mtime and size."""
    paths = rule_files(repo)
    return file_schema_at(paths[0], stamp(paths[0])) if paths else None


def _read_schema_file(path: str) -> Any:
    """The JSON in ``path``; InvalidRulesError (naming it) when it is not JSON, not UTF-8 or
    nests too deep to parse."""
    try:
        with open(path, "rb") as f:
            return loads(f.read())
    except ValueError as exc:  # UnicodeDecodeError included
        raise InvalidRulesError(f"{path} is not valid JSON: {exc}") from None


def file_schema_at(path: str, stamp: tuple[int, int] | None) -> tuple[str, Any] | None:
    if stamp is None:
        return None
    hit = file_rules.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]  # type: ignore[no-any-return]
    schema = _read_schema_file(path)
    found = (f".statevcs/{SCHEMA_FILE}", compile_schema(schema, path))
    remember(file_rules, path, (stamp, found))
    return found


def effective_schema(repo: "RepositoryCore", branch: str | None, oid: str | None) -> tuple[str, Any] | None:
    """(source, validator) of the schema commits on ``branch`` must satisfy, or None."""
    return stored_schema(repo, branch, oid) or _file_schema(repo)


def stored_schema(repo: RepositoryCore, branch: str | None, oid: str | None) -> tuple[str, Any] | None:
    """(source, validator) of the stored schema for ``branch`` (else the repository's), or None."""
    if oid is None:
        return None
    doc = stored_rules(repo, oid)
    branches = doc.get("branches")
    if branch is not None and isinstance(branches, dict) and branch in branches:
        key = (oid, "branch", branch)
        source = _BRANCH_SOURCE + branch
        schema = branches[branch]
    elif "repository" in doc:
        key = (oid, "repository")
        source = _REPOSITORY_SOURCE
        schema = doc["repository"]
    else:
        return None
    validator = compiled_validators.get(key)
    if validator is None:
        try:
            compiled = compile_schema(schema, source)
        except InvalidRulesError as exc:  # stored before statevcs refused such schemas
            raise InvalidRulesError(f"{exc} ({_way_out(source)})") from None
        validator = remember(compiled_validators, key, compiled)
    return source, validator


def schema_violation(compiled: CompiledSchema, state: Any, source: str) -> RuleViolationError | None:
    """The violation ``state`` commits against ``compiled`` (None if it is valid); a schema
    that cannot finish (budget, stack) raises InvalidRulesError (engine.run)."""
    from jsonschema.exceptions import best_match

    steps = engine.budget(engine.count_values(state), compiled.keywords)
    error = engine.run(lambda: best_match(compiled.validator.iter_errors(state)), steps, source, _way_out(source))
    if error is None:
        return None
    pointer = format_pointer(tuple(str(p) for p in error.absolute_path))
    rule = f"{source}: {'/'.join(str(p) for p in error.absolute_schema_path) or '(root)'}"
    return RuleViolationError(
        f"state rule violated at {pointer or '/'}: {error.message} ({rule})", pointer or "/", rule)


def _way_out(source: str) -> str:
    """How to stop checking commits against the schema ``source`` names."""
    if source.startswith(_BRANCH_SOURCE):
        return f"remove it with 'statevcs schema unset --branch {source[len(_BRANCH_SOURCE):]}'"
    if source == _REPOSITORY_SOURCE:
        return "remove it with 'statevcs schema unset'"
    return f"fix or remove {source}"


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
        return _read_schema_file(os.path.join(repo.meta_dir, SCHEMA_FILE))
    return None


def set_schema(repo: "RepositoryCore", schema: Any, branch: str | None = None, remove: bool = False) -> bool:
    """Store ``schema`` for ``branch`` (None: the whole repository), or with ``remove`` drop it;
    False (nothing written) when there was nothing to remove.

    The schema is checked first (InvalidRulesError); existing commits are not re-checked."""
    if branch is not None:
        refnames.check_branch_name(branch)
    if not remove:
        check_schema(schema, f"the schema for {'branch ' + branch if branch else 'the repository'}")
    old = repo.store.read_ref(SCHEMA_REF)
    doc = dict(stored_rules(repo, old))
    branches = dict(doc.get("branches") or {})
    if remove and ("repository" not in doc if branch is None else branch not in branches):
        return False
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
        return True
    root, objects = write_tree(doc)
    repo._write(objects, [(SCHEMA_REF, root, old)], f"schema: {'removed' if remove else 'set'} for {what}")
    return True
