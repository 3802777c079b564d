"""Commands on states: commit, status, cat, get, set, unset."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..algo.conflicts import STRATEGIES
from ..errors import (
    MergeConflictError,
    NothingToCommitError,
    StaleWorkingFileError,
    WorkingStateError,
)
from ..model.jsontext import parse_json_text
from ..model.objects import Commit
from ..porcelain.presentation.escaping import json_text
from ..porcelain.repository.facade import Repository
from ..porcelain.worktree.checkout import ensure_current, holds_exactly, load_commit, refresh
from ..porcelain.worktree.merge_state import MergeState, find_markers, refuse_during_merge
from ..porcelain.worktree.working_file import UNRECORDED, set_at, unset_at
from ..store.base import ANY
from .context import AppContext, echo_json, pass_app, safe, short, styled, use_color
from .helpers import complete_revision
from .params import PATH, NegativeNumbersAreValues


@click.command()
@click.option("-m", "--message", default=None, help="Commit message (without it: $EDITOR on a terminal).")
@click.option("--allow-empty-message", is_flag=True, help="Commit with an empty message.")
@click.option("--author", default=None, help="Who made the change (default: $STATEVCS_AUTHOR or user@host).")
@click.option("-f", "--file", "file", default=None, metavar="FILE", type=PATH,
              help="Commit the JSON in FILE ('-' for stdin) instead of the working file.")
@click.option("--parent", "parent_rev", default=None, metavar="REV",
              help="With -f: the commit FILE was based on; refused if the branch has moved since (unless --merge).")
@click.option("--merge", "merge", is_flag=True,
              help="If the branch moved since the working file (or FILE's --parent) was loaded, three-way merge "
                   "its edits onto the new head and commit that.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="merge", show_default=True,
              help="With --merge: source_wins keeps your edits where they overlap, target_wins the branch's.")
@click.option("--allow-empty", is_flag=True, help="Commit even if the state equals HEAD's.")
@pass_app
def commit(app: AppContext, message: str | None, allow_empty_message: bool, author: str | None, file: str | None,
           parent_rev: str | None, merge: bool, strategy: str, allow_empty: bool) -> None:
    """Record the working state (or FILE) as a new commit on the current branch.

    The working file must have been loaded from the branch's head: if someone committed
    since (an agent through the Python API, another shell), commit refuses instead of
    undoing their work; --merge carries your edits onto the new head and commits.
    FILE (-f) is taken as the whole new state; give --parent REV when it was produced
    from an earlier commit, so a moved branch is detected.

    \b
    Example:
      statevcs commit -m "agent finished task 3"
      statevcs commit --merge -m "my edits on top of the agent's"
      curl -s http://agent/state | statevcs commit -f - -m "snapshot"
      statevcs commit -f edited.json --parent v1 --merge -m "edits made on v1"
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "committing")
    if file is None and parent_rev is not None:
        raise click.UsageError("--parent goes with -f FILE (the working file knows its own base)")
    if message is None and allow_empty_message:
        message = ""
    try:
        if file is None:
            c = _commit_working(repo, message, author, merge, strategy, allow_empty)
        else:
            c = _commit_file(repo, file, parent_rev, message, author, merge, strategy, allow_empty)
    except NothingToCommitError:
        raise NothingToCommitError("nothing to commit: the state equals HEAD's (use --allow-empty to commit anyway)")
    where = repo.current_branch or "detached HEAD"
    click.echo(f"[{safe(where)} {short(c.id)}] {safe(c.summary)}")


def _commit_working(repo: Repository, message: str | None, author: str | None, merge: bool, strategy: str,
                    allow_empty: bool) -> Commit:
    wf = repo.working_file
    with wf.locked():
        if merge:
            refresh(repo, strategy)
        else:
            ensure_current(repo, "committing")
        # The parent is the commit the file is based on (checked just above), not a fresh read
        # of the head: a commit landing in between then fails the compare-and-swap instead
        # of being silently undone by this one.
        base = wf.base()
        if base is UNRECORDED:
            base = repo._ref_target("HEAD")
        head = repo.objects.commit(base) if base else None
        state = wf.read()
        message = _message(repo, state, head, message, allow_empty)
        c = repo.commit(state, message=message, author=author, allow_empty=allow_empty, parent=base)
        wf.record_base(c.id)
    return c


def _commit_file(repo: Repository, file: str, parent_rev: str | None, message: str | None, author: str | None,
                 merge: bool, strategy: str, allow_empty: bool) -> Commit:
    if file == "-":
        state = parse_json_text(sys.stdin.read(), "stdin")
    else:
        try:
            with open(file, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            raise WorkingStateError(f"{file} is not UTF-8 text") from None
        state = parse_json_text(text, file)
    head = repo.head()
    parent: Any = ANY
    if parent_rev is not None:
        based_on = repo.rev_parse(parent_rev)
        if head is not None and based_on != head.id:
            if not merge:
                raise StaleWorkingFileError(
                    f"{file} was based on {short(based_on)} but {repo.current_branch or 'HEAD'} is now at "
                    f"{short(head.id)}; committing it would undo the commits since: add --merge to three-way "
                    "merge its changes onto the head", based_on, head.id)
            from ..algo.merge import merge3  # the merge engine: loaded only for commit --merge
            from ..porcelain.merging.merges import repository_policies

            merged = merge3(repo.get(based_on), repo.get(head.id), state, strategy,
                            repository_policies(repo, None))
            if merged.conflicts:
                raise MergeConflictError(
                    f"{len(merged.conflicts)} of {file}'s changes conflict with commits since {short(based_on)}: "
                    + ", ".join(c.path or "/" for c in merged.conflicts[:5])
                    + "; choose --strategy source_wins (keep FILE's) or target_wins (keep the branch's)",
                    list(merged.conflicts))
            state = merged.value
        parent = head.id if head else None
    old_head = head.id if head else None
    follow = holds_exactly(repo, old_head)
    message = _message(repo, state, head, message, allow_empty)
    c = repo.commit(state, message=message, author=author, allow_empty=allow_empty, parent=parent)
    if follow:  # keep an untouched working file on the branch, as a commit from it would
        with repo.working_file.locked():
            if holds_exactly(repo, old_head):
                load_commit(repo, c.id)
    return c


EDITOR_TEMPLATE = """
# Write the commit message above. Lines starting with '#' are left out;
# an empty message aborts the commit.
"""


def _message(repo: Repository, state: Any, head: Commit | None, message: str | None, allow_empty: bool) -> str:
    """The commit message: -m's, else one written in $EDITOR on a terminal (as git does).

    Without either it is a usage error, checked after "nothing to commit", as git does."""
    if message is not None:
        return message
    if not allow_empty and head is not None:
        from ..model.tree import write_tree

        if write_tree(state)[0] == head.root:
            raise NothingToCommitError("nothing to commit")
    if not sys.stdout.isatty():
        raise click.UsageError("commit needs a message: -m MSG (or --allow-empty-message)")
    text = click.edit(EDITOR_TEMPLATE, extension=".txt", require_save=True)
    lines = [line for line in (text or "").splitlines() if not line.startswith("#")]
    written = "\n".join(lines).strip()
    if not written:
        raise click.UsageError("aborting the commit: the message is empty (-m MSG, or --allow-empty-message)")
    return written


@click.command()
@click.option("-s", "--short", "short_format", is_flag=True,
              help="One line per changed pointer: A added, D deleted, M modified, U unresolved conflict.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def status(app: AppContext, short_format: bool, as_json: bool) -> None:
    """Show the branch, HEAD and uncommitted changes in the working file.

    \b
    Example:
      statevcs status
      statevcs status -s
    """
    repo = app.repo
    head = repo.head()
    branch = repo.current_branch
    merging = MergeState.load(repo.meta_dir) if repo.meta_dir else None
    unresolved: list[str] = []
    working = None
    if merging is not None:
        unresolved = list(find_markers(repo.working_file.read()))
        changes = None
    else:
        working = repo.working_status()
        changes = working.edits
    pending = repo.unfinished_purge()
    if as_json:
        out = {"version": 1, "branch": branch, "head": head.id if head else None,
               "clean": changes is not None and not changes and not (working and working.moved),
               "changes": changes.patch if changes is not None else None}
        if working is not None:
            out["base"] = working.base
            out["moved"] = working.moved
        if merging is not None:
            out["merge"] = {"source": merging.source, "source_label": merging.source_label,
                            "unresolved": unresolved, "conflicts": [c["path"] for c in merging.conflicts]}
        if pending is not None:
            out["purge"] = {"pointer": pending.pointer, "step": pending.step, "started": pending.started,
                            "who": pending.who, "scope": pending.scope}
        echo_json(out)
        return
    if short_format:
        _short_status(unresolved, changes)
        return
    click.echo(f"On branch {safe(branch)}" if branch else f"HEAD detached at {short(head.id if head else None)}")
    if head is None:
        click.echo("No commits yet")
    else:
        click.echo(f"HEAD {short(head.id)} {safe(head.summary)}")
    if pending is not None:
        click.echo(styled(f"A{safe(pending.describe()[1:])}: run 'statevcs purge --continue' to finish it.",
                          fg="red"))
    if merging is not None:
        doing = {"merge": "merging", "revert": "reverting", "cherry-pick": "cherry-picking"}[merging.operation]
        click.echo(f"You are {doing} {safe(merging.source_label)} ({short(merging.source)}) into {safe(branch)}.")
        if unresolved:
            click.echo(f"Unresolved conflicts ({len(unresolved)}):")
            for p in unresolved:
                click.echo(f"  {safe(p or '/')}")
            click.echo("Resolve with 'statevcs resolve PTR --ours|--theirs|--base|--delete|--value JSON'; "
                       f"'statevcs {merging.operation} --abort' gives up.")
        else:
            click.echo(f"All conflicts resolved: run 'statevcs {merging.operation} --continue' to commit.")
        return
    assert working is not None and changes is not None
    if working.moved:
        click.echo(styled(f"The branch has moved: the working file was loaded from {short(working.base)}, "
                          f"{branch or 'HEAD'} is now at {short(working.head)}.", fg="yellow"))
        if changes:
            click.echo("Run 'statevcs refresh' to carry the edits below onto the new head "
                       "(or 'statevcs commit --merge'), or 'statevcs reset --hard' to drop them.")
        else:
            click.echo("The working file has no edits of its own: 'statevcs refresh' loads the new head.")
    if not changes:
        if not working.moved:
            click.echo("Working state clean")
    else:
        s = changes.stat()
        since = f" since {short(working.base)}" if working.moved else ""
        click.echo(f"Working state modified{since} ({s['added']} added, {s['removed']} removed, "
                   f"{s['changed']} changed):")
        click.echo(changes.render("text", color=use_color()), nl=False)


_SHORT_CODES = {"add": "A", "remove": "D", "replace": "M"}


def _short_status(unresolved: list[str], changes: Any) -> None:
    """git's ``status -s``: a letter and a pointer per line; nothing when clean."""
    for p in unresolved:
        click.echo(f"U {safe(p or '/')}")
    for change in changes.changes if changes is not None else ():
        click.echo(f"{_SHORT_CODES[change.op]} {safe(change.path or '/')}")


@click.command(name="refresh")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="merge", show_default=True,
              help="Where your edits and the new commits overlap: source_wins keeps yours, target_wins theirs.")
@pass_app
def refresh_cmd(app: AppContext, strategy: str) -> None:
    """Bring the working file onto its branch's head after others committed, keeping your edits.

    Your edits since the file was loaded are three-way merged onto the new head; on
    overlapping changes it refuses (file unchanged) unless --strategy settles them.

    \b
    Example:
      statevcs refresh
      statevcs refresh --strategy source_wins
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "refreshing the working file")
    with repo.working_file.locked():
        done = refresh(repo, strategy)
    if done.base == done.head:
        click.echo(f"The working file is already on {short(done.head)}.")
    elif done.edits:
        click.echo(f"Carried {done.edits} edit(s) from {short(done.base)} onto {short(done.head)}.")
    else:
        click.echo(f"Loaded {short(done.head)} into the working file.")


@click.command()
@click.argument("rev", shell_complete=complete_revision)
@click.argument("pointer", required=False, default="")
@click.option("--compact", is_flag=True, help="One line of JSON instead of pretty-printed.")
@pass_app
def cat(app: AppContext, rev: str, pointer: str, compact: bool) -> None:
    """Print the state at REV, or the part of it at the JSON Pointer POINTER (also REV:POINTER, as git's REV:PATH).

    \b
    Example:
      statevcs cat v1 /agent
      statevcs cat main~2
      statevcs cat main~1:/budget
    """
    from ..porcelain.core.revisions import split_pointer

    rev, suffix = split_pointer(rev)
    if suffix is not None:
        if pointer:
            raise click.UsageError(f"the pointer is given twice ({suffix!r} after the ':' and {pointer!r})")
        pointer = suffix
    value = app.repo.get(rev, pointer)
    _print_value(value, compact)


def _print_value(value: Any, compact: bool) -> None:
    """The value as exact JSON (sorted keys) with every control character escaped."""
    if compact:
        click.echo(json_text(value, indent=None, sort_keys=True, compact=True))
    else:
        click.echo(json_text(value, indent=2, sort_keys=True))


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


@click.command(name="set", cls=NegativeNumbersAreValues)
@click.argument("pointer")
@click.argument("value")
@pass_app
def set_(app: AppContext, pointer: str, value: str) -> None:
    """Set the value at POINTER in the working file to the JSON VALUE.

    VALUE is JSON: quote strings ('"running"'). An array index that exists is
    replaced; '-' or the array's length appends. A negative number is a value, not an option.

    \b
    Example:
      statevcs set /agent/status '"running"'
      statevcs set /budget -50
      statevcs set /agent/memory/- '{"role": "user", "text": "hi"}'
    """
    try:
        new = parse_json_text(value, "VALUE")
    except WorkingStateError as exc:
        if value.lstrip()[:1] not in ('"', "{", "[") and value.strip() not in ("true", "false", "null"):
            raise WorkingStateError(f"{exc} (quote JSON strings, e.g. '\"{value}\"')") from None
        raise
    repo = app.repo
    wf = repo.working_file
    with wf.locked():
        ensure_current(repo, "setting a value")
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
    repo = app.repo
    wf = repo.working_file
    with wf.locked():
        ensure_current(repo, "unsetting a value")
        wf.write(unset_at(wf.read(), pointer))



COMMANDS = [commit, status, refresh_cmd, cat, get, set_, unset]
