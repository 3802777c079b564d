"""Commands on states: commit, status, cat, get, set, unset."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import NothingToCommitError, WorkingStateError
from ..porcelain.merge_state import MergeState, find_markers, refuse_during_merge
from ..porcelain.worktree import dump_pretty, parse_json_text, set_at, unset_at
from .context import AppContext, echo_json, pass_app, short, use_color


@click.command()
@click.option("-m", "--message", default="", help="Commit message.")
@click.option("--author", default=None, help="Who made the change (default: $STATEVCS_AUTHOR or user@host).")
@click.option("-f", "--file", "file", default=None, metavar="FILE",
              help="Commit the JSON in FILE ('-' for stdin) instead of the working file.")
@click.option("--allow-empty", is_flag=True, help="Commit even if the state equals HEAD's.")
@pass_app
def commit(app: AppContext, message: str, author: str | None, file: str | None, allow_empty: bool) -> None:
    """Record the working state (or FILE) as a new commit on the current branch.

    \b
    Example:
      statevcs commit -m "agent finished task 3"
      curl -s http://agent/state | statevcs commit -f - -m "snapshot"
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "committing")
    if file is None:
        state = repo.working_file.read()
    elif file == "-":
        state = parse_json_text(sys.stdin.read(), "stdin")
    else:
        with open(file, encoding="utf-8") as f:
            state = parse_json_text(f.read(), file)
    try:
        c = repo.commit(state, message=message, author=author, allow_empty=allow_empty)
    except NothingToCommitError:
        raise NothingToCommitError("nothing to commit: the state equals HEAD's (use --allow-empty to commit anyway)")
    where = repo.current_branch or "detached HEAD"
    click.echo(f"[{where} {short(c.id)}] {c.summary}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show the branch, HEAD and uncommitted changes in the working file.

    \b
    Example:
      statevcs status
    """
    repo = app.repo
    head = repo.head()
    branch = repo.current_branch
    merging = MergeState.load(repo.meta_dir) if repo.meta_dir else None
    unresolved: list[str] = []
    if merging is not None:
        unresolved = list(find_markers(repo.working_file.read()))
        changes = None
    else:
        changes = repo.working_changes()
    if as_json:
        out = {"version": 1, "branch": branch, "head": head.id if head else None,
               "clean": changes is not None and not changes, "changes": changes.patch if changes is not None else None}
        if merging is not None:
            out["merge"] = {"source": merging.source, "source_label": merging.source_label,
                            "unresolved": unresolved, "conflicts": [c["path"] for c in merging.conflicts]}
        echo_json(out)
        return
    click.echo(f"On branch {branch}" if branch else f"HEAD detached at {short(head.id if head else None)}")
    if head is None:
        click.echo("No commits yet")
    else:
        click.echo(f"HEAD {short(head.id)} {head.summary}")
    if merging is not None:
        doing = {"merge": "merging", "revert": "reverting", "cherry-pick": "cherry-picking"}[merging.operation]
        click.echo(f"You are {doing} {merging.source_label} ({short(merging.source)}) into {branch}.")
        if unresolved:
            click.echo(f"Unresolved conflicts ({len(unresolved)}):")
            for p in unresolved:
                click.echo(f"  {p or '/'}")
            click.echo("Resolve with 'statevcs resolve PTR --ours|--theirs|--base|--delete|--value JSON'; "
                       f"'statevcs {merging.operation} --abort' gives up.")
        else:
            click.echo(f"All conflicts resolved: run 'statevcs {merging.operation} --continue' to commit.")
        return
    if not changes:
        click.echo("Working state clean")
    else:
        s = changes.stat()
        click.echo(f"Working state modified ({s['added']} added, {s['removed']} removed, {s['changed']} changed):")
        click.echo(changes.render("text", color=use_color()), nl=False)


@click.command()
@click.argument("rev")
@click.argument("pointer", required=False, default="")
@click.option("--compact", is_flag=True, help="One line of JSON instead of pretty-printed.")
@pass_app
def cat(app: AppContext, rev: str, pointer: str, compact: bool) -> None:
    """Print the state at REV, or the part of it at the JSON Pointer POINTER.

    \b
    Example:
      statevcs cat v1 /agent
      statevcs cat main~2
    """
    value = app.repo.get(rev, pointer)
    _print_value(value, compact)


def _print_value(value: Any, compact: bool) -> None:
    import json

    if compact:
        click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    else:
        click.echo(dump_pretty(value), nl=False)


@click.command()
@click.argument("pointer")
@click.option("--compact", is_flag=True, help="One line of JSON instead of pretty-printed.")
@pass_app
def get(app: AppContext, pointer: str, compact: bool) -> None:
    """Print the value at POINTER in the working file.

    \b
    Example:
      statevcs get /agent/status
    """
    from ..model.pointer import resolve

    _print_value(resolve(app.repo.working_file.read(), pointer), compact)


@click.command(name="set")
@click.argument("pointer")
@click.argument("value")
@pass_app
def set_(app: AppContext, pointer: str, value: str) -> None:
    """Set the value at POINTER in the working file to the JSON VALUE.

    VALUE is JSON: quote strings ('"running"'). An array index that exists is
    replaced; '-' or the array's length appends.

    \b
    Example:
      statevcs set /agent/status '"running"'
      statevcs set /agent/memory/- '{"role": "user", "text": "hi"}'
    """
    try:
        new = parse_json_text(value, "VALUE")
    except WorkingStateError as exc:
        raise WorkingStateError(f"{exc} (quote JSON strings, e.g. '\"{value}\"')") from None
    wf = app.repo.working_file
    wf.write(set_at(wf.read(), pointer, new))


@click.command()
@click.argument("pointer")
@pass_app
def unset(app: AppContext, pointer: str) -> None:
    """Remove the value at POINTER from the working file.

    \b
    Example:
      statevcs unset /agent/scratch
    """
    wf = app.repo.working_file
    wf.write(unset_at(wf.read(), pointer))


COMMANDS = [commit, status, cat, get, set_, unset]
