"""Commands that bring histories together: merge (with --continue/--abort), conflicts,
resolve, revert, cherry-pick, merge-base."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..algo.merge import STRATEGIES, Conflict, Side, resolve_conflict
from ..errors import (
    CorruptObjectError,
    DamagedMergeStateError,
    NoMergeInProgressError,
    ObjectNotFoundError,
    RevisionNotFoundError,
    WorkingStateError,
)
from ..model import refnames
from ..model.jsontext import parse_json_text
from ..model.missing import MISSING
from ..porcelain.merging.merges import (
    default_message,
    finish_merge,
    merge_metadata,
    prepare_merge,
    prepare_replay,
    replay_message,
    replay_metadata,
    repository_policies,
)
from ..porcelain.presentation.render import abbreviate
from ..porcelain.repository.facade import Repository
from ..porcelain.worktree.checkout import load_head
from ..porcelain.worktree.merge_state import (
    MergeState,
    find_markers,
    marker,
    refuse_during_merge,
)
from ..porcelain.worktree.working_file import set_at, unset_at
from .context import EXIT_NEGATIVE, AppContext, echo_json, holding_working_lock, pass_app, safe, short, styled
from .helpers import complete_revision, require_clean, strategy_of, write_working


def _state(repo: Repository) -> MergeState | None:
    return MergeState.load(repo.meta_dir) if repo.meta_dir else None


def _side(value: Any) -> str:
    return "(missing)" if value is MISSING else safe(abbreviate(value, 60))


def _print_conflicts(conflicts: list[Conflict]) -> None:
    for c in conflicts:
        click.echo(styled(f"CONFLICT ({safe(c.kind)}) {safe(c.path or '/')}", fg="red") +
                   f": base {_side(c.base)}, ours {_side(c.ours)}, theirs {_side(c.theirs)}")


def _is_current(repo: Repository, target_ref: str) -> bool:
    return repo.workdir is not None and repo.head_ref() == target_ref


@click.command()
@click.argument("source", required=False, shell_complete=complete_revision)
@click.option("--into", default=None, metavar="BRANCH", help="Merge into BRANCH instead of the current branch.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default=None,
              help="merge (the default) reports overlapping changes; source_wins / target_wins settle them.")
@click.option("-X", "--strategy-option", "side", type=click.Choice(["ours", "theirs"]), default=None,
              help="git's -X: ours is --strategy target_wins, theirs is --strategy source_wins.")
@click.option("--ff-only", "ff_only", is_flag=True, help="Only fast-forward; fail if the histories diverged.")
@click.option("--no-ff", "no_ff", is_flag=True, help="Always make a merge commit.")
@click.option("--path", "paths", multiple=True, metavar="PTR", help="Merge only this subtree (repeatable).")
@click.option("-m", "--message", default=None, help="Message of the merge commit.")
@click.option("--continue", "cont", is_flag=True, help="Commit a merge whose conflicts are resolved.")
@click.option("--abort", is_flag=True, help="Give up a merge in progress and restore the working file.")
@pass_app
@holding_working_lock
def merge(app: AppContext, source: str | None, into: str | None, strategy: str | None, side: str | None,
          ff_only: bool, no_ff: bool, paths: tuple[str, ...], message: str | None, cont: bool, abort: bool) -> None:
    """Merge SOURCE into the current branch (or --into BRANCH).

    Fast-forwards when possible. On conflicts (strategy merge) it exits 1, lists them,
    and writes the working file with each conflict in place as
    {"$conflict": {"kind", "base", "ours", "theirs"}}: resolve them with
    'statevcs resolve' (or by editing), then 'statevcs merge --continue'.

    \b
    Example:
      statevcs merge experiment
      statevcs merge experiment --strategy source_wins
      statevcs merge experiment -X theirs     # the same, as git says it
      statevcs merge team-b --path /agents/planner/memory
    """
    strategy = strategy_of(strategy, side)
    repo = app.repo
    if cont or abort:
        if source or into or paths or ff_only or no_ff:
            raise click.UsageError("--continue and --abort take no other arguments")
        (_continue if cont else _abort)(repo, message)
        return
    if not source:
        raise click.UsageError("merge needs a SOURCE revision")
    if ff_only and no_ff:
        raise click.UsageError("--ff-only and --no-ff contradict each other")
    refuse_during_merge(repo.meta_dir, "starting another merge")
    ff = "only" if ff_only else "never" if no_ff else "auto"
    target_branch = into or repo.current_branch
    if into is None and target_branch is None:
        raise click.UsageError("HEAD is detached: give --into BRANCH")
    prepared = prepare_merge(repo, source, into, strategy, ff, list(paths) if paths else None)
    current = _is_current(repo, prepared.target_ref)
    if current and prepared.kind != "up-to-date":
        require_clean(repo, False, "merging", can_force=False)
    if prepared.kind == "merge" and prepared.conflicts:
        _print_conflicts(prepared.conflicts)
        if not current:
            click.echo(f"error: {len(prepared.conflicts)} conflict(s); switch to {safe(target_branch)} and merge there "
                       "to resolve them, or choose --strategy source_wins / target_wins", err=True)
            sys.exit(EXIT_NEGATIVE)
        _enter_conflicts(repo, prepared, source, message)
        sys.exit(EXIT_NEGATIVE)
    outcome = finish_merge(repo, prepared, message, None, source)
    if current and outcome.kind != "up-to-date":
        write_working(repo)
    where = refnames.short_name(prepared.target_ref)
    if outcome.kind == "up-to-date":
        click.echo("Already up to date.")
    elif outcome.kind == "fast-forward":
        click.echo(f"Fast-forward {safe(where)} to {short(outcome.commit.id)}")
    else:
        click.echo(f"[{safe(where)} {short(outcome.commit.id)}] {safe(outcome.commit.summary)}")


def _enter_conflicts(repo: Repository, prepared: Any, label: str, message: str | None,
                     author: str | None = None) -> None:
    assert repo.meta_dir and prepared.target is not None
    if prepared.operation == "merge":
        message = message or default_message(repo, prepared, label)
    else:
        message = replay_message(prepared, message)
    state = MergeState(
        source=prepared.source.id, source_label=label, target_ref=prepared.target_ref,
        target_head=prepared.target.id, strategy=prepared.strategy, paths=prepared.paths,
        bases=list(prepared.bases), message=message,
        conflicts=[MergeState.conflict_json(c) for c in prepared.conflicts],
        operation=prepared.operation, author=author,
    )
    repo.objects.extra.update(prepared.objects)
    from ..model.tree import read_tree

    document = read_tree(repo.objects, prepared.root)
    for conflict in sorted(state.conflicts, key=lambda c: -c["path"].count("/")):
        document = set_at(document, conflict["path"], marker(conflict))
    state.save(repo.meta_dir)
    repo.working_file.load(document, prepared.target.id)
    click.echo(f"Automatic {state.operation} failed: {len(state.conflicts)} conflict(s) written to "
               f"{repo.config().get('working_file', 'state.json')}. Resolve them with 'statevcs resolve PTR --ours|"
               f"--theirs|...' (or edit the file), then run 'statevcs {state.operation} --continue'.")


def _require_state(repo: Repository, operation: str | None = None) -> MergeState:
    """The merge, revert or cherry-pick in progress (``operation``: the one the command is about;
    None for merge --continue/--abort, which finish or give up any of them)."""
    state = _state(repo)
    if state is None:
        raise NoMergeInProgressError(f"no {operation or 'merge, revert or cherry-pick'} in progress")
    if operation is not None and state.operation != operation:
        raise NoMergeInProgressError(
            f"no {operation} in progress: a {state.operation} of {state.source_label} is; 'statevcs "
            f"{state.operation} --continue' finishes it, 'statevcs {state.operation} --abort' gives it up")
    return state


def _continue(repo: Repository, message: str | None, operation: str | None = None) -> None:
    state = _require_state(repo, operation)
    document = repo.working_file.read()
    left = list(find_markers(document))
    if left:
        raise WorkingStateError(f"{len(left)} unresolved conflict(s) at {', '.join(p or '/' for p in left[:5])}: "
                                "resolve them first (statevcs resolve PTR --ours|--theirs|--value JSON)")
    from ..model.canonical import validate
    from ..model.tree import write_tree
    from ..porcelain.merging.merges import PreparedMerge

    validate(document)
    root, objects = write_tree(document)
    branch = refnames.short_name(state.target_ref) if state.target_ref.startswith(refnames.BRANCH_PREFIX) else None
    try:
        target, source = repo.objects.commit(state.target_head), repo.objects.commit(state.source)
    except (ObjectNotFoundError, CorruptObjectError) as exc:
        raise DamagedMergeStateError(f"the merge in progress names a commit this repository cannot read ({exc}); "
                                     "'statevcs merge --abort' goes back to HEAD") from None
    prepared = PreparedMerge(state.target_ref, target, source, "merge", tuple(state.bases), root, objects,
                             strategy=state.strategy, paths=state.paths, operation=state.operation)
    resolved = [c["path"] for c in state.conflicts]
    if state.operation == "merge":
        meta = merge_metadata(prepared)
        meta["merge"]["resolved"] = resolved
        extra: tuple[str, ...] = (state.source,) if state.paths is None else ()
    else:  # a revert or cherry-pick: one parent, and what it replayed
        meta = {**replay_metadata(prepared), "resolved": resolved}
        extra = ()
    commit = repo._commit_root(root, objects, message or state.message, state.author, branch,
                               parent=state.target_head, metadata=meta, allow_empty=True, extra_parents=extra,
                               why=state.operation)
    repo.working_file.record_base(commit.id)
    MergeState.remove(repo.meta_dir)  # type: ignore[arg-type]
    click.echo(f"[{safe(refnames.short_name(state.target_ref))} {short(commit.id)}] {safe(commit.summary)}")


def _abort_to_head(repo: Repository, why: str) -> None:
    """The way out when the saved merge cannot be trusted: back to HEAD, which a merge in
    progress never moved, and forget the merge."""
    with repo.working_file.locked():
        load_head(repo)
    MergeState.remove(repo.meta_dir)  # type: ignore[arg-type]
    click.echo(f"Merge aborted ({why}); the working file is back at HEAD ({short(repo._ref_target('HEAD'))}).")


def _abort(repo: Repository, message: str | None, operation: str | None = None) -> None:
    try:
        state = _require_state(repo, operation)
    except DamagedMergeStateError:  # nothing to trust in it
        _abort_to_head(repo, "its saved state was damaged")
        return
    try:
        started_from = repo.get(state.target_head)
    except (RevisionNotFoundError, ObjectNotFoundError, CorruptObjectError):
        _abort_to_head(repo, f"the commit it started from, {short(state.target_head)}, cannot be read")
        return
    repo.working_file.load(started_from, state.target_head)
    MergeState.remove(repo.meta_dir)  # type: ignore[arg-type]
    click.echo(f"{state.operation.capitalize()} of {safe(state.source_label)} aborted; the working file is back at "
               f"{short(state.target_head)}.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def conflicts(app: AppContext, as_json: bool) -> None:
    """List the conflicts of the merge in progress, and whether each is resolved.

    \b
    Example:
      statevcs conflicts
      statevcs conflicts --json | jq '.conflicts[] | select(.resolved | not) | .pointer'
    """
    repo = app.repo
    state = _require_state(repo)
    document = repo.working_file.read()
    unresolved = set(find_markers(document))
    items = [{"pointer": c["path"], **c, "resolved": c["path"] not in unresolved} for c in state.conflicts]
    if as_json:
        echo_json({"version": 1, "source": state.source, "target": state.target_ref, "conflicts": items})
        return
    for c in items:
        sides = ", ".join(f"{s} {abbreviate(c[s], 60) if s in c else '(missing)'}" for s in ("base", "ours", "theirs"))
        status = styled("resolved", fg="green") if c["resolved"] else styled("unresolved", fg="red")
        click.echo(f"{status} {safe(c['kind'])} {safe(c['path'] or '/')}: {sides}")


@click.command()
@click.argument("pointer", required=False)
@click.option("--all", "every", is_flag=True, help="Settle every unresolved conflict the same way.")
@click.option("--ours", "side", flag_value="ours", help="Keep the target branch's side of the overlap.")
@click.option("--theirs", "side", flag_value="theirs", help="Take the merged-in source's side of the overlap.")
@click.option("--both", "side", flag_value="both",
              help="Array conflicts: keep ours' items, then theirs', in each overlapping range.")
@click.option("--base", "side", flag_value="base", help="Go back to the common ancestor's value.")
@click.option("--delete", "side", flag_value="delete", help="Remove the value.")
@click.option("--value", "value", default=None, metavar="JSON", help="Use this JSON value.")
@pass_app
@holding_working_lock
def resolve(app: AppContext, pointer: str | None, every: bool, side: str | None, value: str | None) -> None:
    """Settle the conflict at POINTER in the merge in progress (every one under POINTER when
    no conflict is exactly there; every unresolved one with --all).

    For an array conflict --ours, --theirs, --base and --both apply only to the
    overlapping ranges: every clean change from both sides is kept.

    \b
    Example:
      statevcs resolve /agent/status --theirs
      statevcs resolve /messages --both
      statevcs resolve /budget --value 75
      statevcs resolve --all --theirs
      statevcs resolve /agents --ours      # every conflict under /agents
    """
    if (side is None) == (value is None):
        raise click.UsageError("give exactly one of --ours, --theirs, --both, --base, --delete, --value JSON")
    if every == (pointer is not None):
        raise click.UsageError("give the POINTER of a conflict (or of a subtree holding several), or --all")
    repo = app.repo
    state = _require_state(repo)
    wf = repo.working_file
    document = wf.read()
    unresolved = set(find_markers(document))
    chosen_conflicts = _conflicts_under(state, pointer, unresolved)
    if len(chosen_conflicts) > 1 and value is not None:
        where = f"under {pointer or '/'}" if pointer is not None else "unresolved"
        raise click.UsageError(f"--value sets one conflict; {len(chosen_conflicts)} are {where}: "
                               "name one, or settle them with --ours, --theirs, --base or --delete")
    policies = repository_policies(repo, None) if side not in (None, "delete") else {}
    settled = []
    for conflict in chosen_conflicts:  # every value computed before anything is written: all or nothing
        at = conflict["path"]
        if value is not None:
            chosen: Any = parse_json_text(value, "--value")
        elif side == "delete":
            chosen = MISSING
        else:
            chosen = resolve_conflict(MergeState.conflict_from_json(conflict), Side(side), policies)
        settled.append((at, chosen))
    for at, chosen in sorted(settled, key=lambda item: _later_first(item[0]), reverse=True):
        document = unset_at(document, at) if chosen is MISSING else set_at(document, at, chosen)
    wf.write(document)
    left = [p for p in find_markers(document)]
    done = (safe(pointer or "/") if len(settled) == 1 and pointer == settled[0][0]
            else f"{len(settled)} conflict(s)" + (f" under {safe(pointer or '/')}" if pointer is not None else ""))
    click.echo(f"Resolved {done}" + (f"; {len(left)} conflict(s) left" if left else
                                     f"; no conflicts left: run 'statevcs {state.operation} --continue'"))


def _later_first(pointer: str) -> tuple[tuple[int, Any], ...]:
    """A sort key putting inner values and later array items first (reverse=True), so that
    removing one never shifts another still to be settled."""
    from ..model.pointer import parse_pointer

    return tuple((1, int(t)) if t.isdigit() else (0, t) for t in parse_pointer(pointer))


def _conflicts_under(state: MergeState, pointer: str | None, unresolved: set[str]) -> list[dict[str, Any]]:
    """The conflicts a resolve settles: the one at ``pointer`` (resolved or not), else the
    unresolved ones under it (all of them for None); WorkingStateError when there are none."""
    exact = [c for c in state.conflicts if c["path"] == pointer]
    if exact:
        return exact
    under = [c for c in state.conflicts if c["path"] in unresolved and
             (pointer is None or pointer == "" or c["path"].startswith(pointer + "/"))]
    if under:
        return under
    if pointer is None:
        raise WorkingStateError(f"no unresolved conflict left: run 'statevcs {state.operation} --continue'")
    known = ", ".join(c["path"] or "/" for c in state.conflicts[:5])
    raise WorkingStateError(f"no conflict at or under {pointer or '/'} (conflicts: {known})")


def _replay(app: AppContext, rev: str | None, reverse: bool, strategy: str, message: str | None, cont: bool,
            abort: bool) -> None:
    repo = app.repo
    if cont or abort:
        if rev:
            raise click.UsageError("--continue and --abort take no REV")
        (_continue if cont else _abort)(repo, message, "revert" if reverse else "cherry-pick")
        return
    if not rev:
        raise click.UsageError("give the REV to " + ("revert" if reverse else "cherry-pick"))
    refuse_during_merge(repo.meta_dir, "reverting or cherry-picking")
    require_clean(repo, False, "reverting" if reverse else "cherry-picking", can_force=False)
    prepared = prepare_replay(repo, rev, reverse, None, strategy)
    if prepared.conflicts:
        _print_conflicts(prepared.conflicts)
        if repo.workdir is None or repo.current_branch is None:
            click.echo(f"error: {len(prepared.conflicts)} conflict(s); nothing was committed", err=True)
            sys.exit(EXIT_NEGATIVE)
        _enter_conflicts(repo, prepared, rev, message, None if reverse else prepared.source.author)
        sys.exit(EXIT_NEGATIVE)
    c = repo.revert(rev, strategy=strategy, message=message) if reverse else repo.cherry_pick(
        rev, strategy=strategy, message=message)
    write_working(repo)
    click.echo(f"[{safe(repo.current_branch or 'detached HEAD')} {short(c.id)}] {safe(c.summary)}")


@click.command()
@click.argument("rev", required=False, shell_complete=complete_revision)
@click.option("--strategy", type=click.Choice(STRATEGIES), default=None,
              help="How to settle overlaps with later changes (default merge: report them).")
@click.option("-X", "--strategy-option", "side", type=click.Choice(["ours", "theirs"]), default=None,
              help="git's -X: ours is --strategy target_wins, theirs is --strategy source_wins.")
@click.option("-m", "--message", default=None, help="Message of the new commit.")
@click.option("--continue", "cont", is_flag=True, help="Commit the revert once its conflicts are resolved.")
@click.option("--abort", is_flag=True, help="Give up the revert in progress.")
@pass_app
@holding_working_lock
def revert(app: AppContext, rev: str | None, strategy: str | None, side: str | None, message: str | None, cont: bool,
           abort: bool) -> None:
    """Make a new commit that undoes REV's changes.

    On conflicts it exits 1 and leaves them in the working file, as merge does:
    resolve, then 'statevcs revert --continue' (or --abort).

    \b
    Example:
      statevcs revert HEAD~2
    """
    _replay(app, rev, True, strategy_of(strategy, side), message, cont, abort)


@click.command(name="cherry-pick")
@click.argument("rev", required=False, shell_complete=complete_revision)
@click.option("--strategy", type=click.Choice(STRATEGIES), default=None,
              help="How to settle overlaps with the current state (default merge: report them).")
@click.option("-X", "--strategy-option", "side", type=click.Choice(["ours", "theirs"]), default=None,
              help="git's -X: ours is --strategy target_wins, theirs is --strategy source_wins.")
@click.option("-m", "--message", default=None, help="Message of the new commit (default: REV's).")
@click.option("--continue", "cont", is_flag=True, help="Commit the cherry-pick once its conflicts are resolved.")
@click.option("--abort", is_flag=True, help="Give up the cherry-pick in progress.")
@pass_app
@holding_working_lock
def cherry_pick(app: AppContext, rev: str | None, strategy: str | None, side: str | None, message: str | None,
                cont: bool, abort: bool) -> None:
    """Apply REV's changes to the current branch as a new commit (keeping its author).

    On conflicts it exits 1 and leaves them in the working file, as merge does:
    resolve, then 'statevcs cherry-pick --continue' (or --abort).

    \b
    Example:
      statevcs cherry-pick experiment~1
    """
    _replay(app, rev, False, strategy_of(strategy, side), message, cont, abort)


@click.command(name="merge-base")
@click.argument("a", shell_complete=complete_revision)
@click.argument("b", shell_complete=complete_revision)
@click.option("--all", "show_all", is_flag=True, help="Print every best common ancestor.")
@pass_app
def merge_base(app: AppContext, a: str, b: str, show_all: bool) -> None:
    """Print the best common ancestor of A and B (exit 1 if they share none).

    \b
    Example:
      statevcs merge-base main experiment
    """
    bases = app.repo.merge_bases(a, b)
    if not bases:
        sys.exit(EXIT_NEGATIVE)
    for oid in bases if show_all else bases[:1]:
        click.echo(oid)


COMMANDS = [merge, conflicts, resolve, revert, cherry_pick, merge_base]

__all__ = ["COMMANDS"]
