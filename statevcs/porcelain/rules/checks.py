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
restore, revert, cherry-pick, commit_patch, edits, the LangGraph saver) goes through
``RepositoryCore._commit_once``, which calls :func:`check_rules` inside its transaction,
before anything is written. Paths that move a branch to commits made elsewhere (a
fast-forward, a received push, git import, a copied LangGraph thread) call
:func:`check_branch_move` inside the transaction that moves it. Without rules the cost is
one ref read and two ``stat`` calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...algo.policies import TransitionRule
from ...model.refnames import BRANCH_PREFIX, HEAD
from ...model.tree import LayeredSource, read_tree
from .files import SCHEMA_REF, rule_files, stamp
from .schema import file_schema_at, schema_violation, stored_schema
from .transitions import check_transitions, transitions_at

if TYPE_CHECKING:
    from ...store.base import Transaction
    from ..core.repository_core import RepositoryCore


def check_rules(repo: "RepositoryCore", tx: "Transaction", ref: str, root: str, objects: dict[str, bytes],
                parent_root: str | None) -> None:
    """Refuse (RuleViolationError) a commit of state ``root`` on ``ref`` that breaks a rule.

    Called by the commit core inside its transaction, before it writes: ``objects`` are the
    commit's new nodes (not yet stored), ``parent_root`` the first parent's state (None for a
    first commit). One ref read and two stats when no rules exist."""
    branch = ref[len(BRANCH_PREFIX):] if ref.startswith(BRANCH_PREFIX) else None
    # The stored rules are read through the transaction, so a change made by another
    # process is seen; the files are stat'ed on every commit for the same reason.
    schema = stored_schema(repo, branch, tx.read_ref(SCHEMA_REF))
    paths = rule_files(repo)
    transitions: list[TransitionRule] = []
    if paths is not None:
        if schema is None:
            schema = file_schema_at(paths[0], stamp(paths[0]))
        transitions = transitions_at(paths[1], stamp(paths[1]))
    if schema is None and not transitions:
        return
    source = LayeredSource(repo.objects, objects) if objects else repo.objects
    if transitions:
        check_transitions(source, transitions, parent_root, root)
    if schema is not None:
        violation = schema_violation(schema[1], read_tree(source, root), schema[0])
        if violation is not None:
            raise violation


def check_branch_move(repo: "RepositoryCore", tx: "Transaction", ref: str, new: str, old: str | None) -> None:
    """Refuse moving ``ref`` from commit ``old`` (None: it is created) to commit ``new`` when
    the state at ``new`` breaks ``ref``'s rules, as a pre-receive hook would: the tip's state
    against the schema of ``ref``, transitions from ``old``'s state. Called inside the
    transaction that moves the ref (the rules are read through it), by the paths that move a
    branch to commits made elsewhere: a fast-forward merge, a received push, git import and
    a copied LangGraph thread. Only branches and HEAD (the refs commits are made on) are checked."""
    if new == old or not (ref == HEAD or ref.startswith(BRANCH_PREFIX)):
        return
    old_root = repo.objects.commit(old).root if old else None
    check_rules(repo, tx, ref, repo.objects.commit(new).root, {}, old_root)
