"""Helpers every command module shares: completion of names, the working-file guards, and the
per-path summaries of a diff (--stat, --name-only).

The public toolbox of the CLI package: command modules import from here and from
context.py, never from each other.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import WorkingStateError
from ..model.refnames import REMOTE_PREFIX
from ..porcelain.repository.facade import Repository
from ..porcelain.worktree.checkout import load_head
from .context import safe, short


# ------------------------------------------------------------------ completion of names
def _open_for_completion(ctx: click.Context) -> Any:
    """The repository the command line names (-C), or None: completion must never fail loudly."""
    location = ctx.find_root().params.get("location") or "."
    try:
        return Repository.open(location)
    except Exception:  # no repository here, or unreadable: just no suggestions
        return None


def _names(ctx: click.Context, which: str) -> list[str]:
    repo = _open_for_completion(ctx)
    if repo is None:
        return []
    try:
        if which == "branches":
            return sorted(repo.branches)
        if which == "tags":
            return sorted(repo.tags)
        if which == "remotes":
            return sorted(repo.remotes)
        names = sorted(repo.branches) + sorted(repo.tags) + ["HEAD"]
        names += sorted(f"{r}/{b}" for r in repo.remotes for b in _remote_branches(repo, r))
        return names
    except Exception:
        return []
    finally:
        repo.close()


def _remote_branches(repo: Any, remote: str) -> list[str]:
    prefix = f"{REMOTE_PREFIX}{remote}/"
    return [name[len(prefix):] for name in repo.store.list_refs(prefix)]


def _completer(which: str) -> Any:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in _names(ctx, which) if n.startswith(incomplete)]

    return complete


complete_branch = _completer("branches")
complete_tag = _completer("tags")
complete_remote = _completer("remotes")
complete_revision = _completer("revisions")


# ------------------------------------------------------------------ the working file
def require_clean(repo: Repository, force: bool, action: str, can_force: bool = True) -> None:
    """Refuse when the working file has edits of its own (since it was loaded) that ``action`` would overwrite.

    ``can_force``: whether the command has a --force to offer in the message."""
    if force or not repo.working_file.exists():
        return
    status = repo.working_status()
    if status.edits:
        moved = (f" (and the branch has moved since it was loaded from {short(status.base)}: "
                 "'statevcs commit --merge' commits them onto the new head)") if status.moved else ""
        raise WorkingStateError(
            f"the working file has {len(status.edits)} uncommitted change(s) that {action} would overwrite{moved}; "
            + ("commit them, or use --force to discard them" if can_force else
               "commit them, or drop them with 'statevcs reset --hard'")
        )


def write_working(repo: Repository) -> None:
    """Load HEAD's state into the working file and record it as the file's base."""
    with repo.working_file.locked():
        load_head(repo)


# ------------------------------------------------------------------ merge strategies as git says them
#: git's ``-X ours|theirs`` as statevcs strategies ("ours" is the branch merged into).
SIDE_STRATEGIES = {"ours": "target_wins", "theirs": "source_wins"}


def strategy_of(strategy: str | None, side: str | None) -> str:
    """The strategy from --strategy or -X (both only when they agree); "merge" by default."""
    if side is None:
        return strategy or "merge"
    if strategy is not None and strategy != SIDE_STRATEGIES[side]:
        raise click.UsageError(f"-X {side} is --strategy {SIDE_STRATEGIES[side]}; it contradicts --strategy {strategy}")
    return SIDE_STRATEGIES[side]


# ------------------------------------------------------------------ per-path summaries of a diff
def stat_lines(d: Any) -> list[str]:
    """git's --stat for a state: one line per changed pointer, then the totals."""
    names = {"add": "added", "remove": "removed", "replace": "changed"}
    paths = [safe(ch.path or "/") for ch in d.changes]
    width = max((len(p) for p in paths), default=0)
    lines = [f" {p.ljust(width)} | {names[ch.op]}" for p, ch in zip(paths, d.changes)]
    s = d.stat()
    n = len(d.changes)
    lines.append(f" {n} path{'s' if n != 1 else ''} changed: {s['added']} added, {s['removed']} removed, "
                 f"{s['changed']} changed")
    return lines


def name_lines(d: Any) -> list[str]:
    """git's --name-only for a state: the changed pointers, one a line."""
    return [safe(ch.path or "/") for ch in d.changes]
