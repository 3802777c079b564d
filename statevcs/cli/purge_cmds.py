"""purge: erase one value from every version of the state (docs/erasure.md)."""

from __future__ import annotations

import click

from .context import AppContext, echo_json, pass_app, safe, short


@click.command()
@click.argument("pointer", required=False)
@click.option("-b", "--branch", "branches", multiple=True, metavar="BRANCH",
              help="Rewrite this branch's history (repeatable). Default: the current branch.")
@click.option("--all", "everything", is_flag=True, help="Rewrite every branch, tag and remote-tracking ref.")
@click.option("--yes", is_flag=True, help="Really rewrite history and delete the old objects.")
@click.option("--continue", "resume", is_flag=True, help="Finish a purge that was interrupted.")
@click.option("--json", "as_json", is_flag=True, help="Print the report (with the old -> new map) as JSON.")
@pass_app
def purge(app: AppContext, pointer: str | None, branches: tuple[str, ...], everything: bool, yes: bool,
          resume: bool, as_json: bool) -> None:
    """Erase the value at POINTER from every commit of the history (a right-to-erasure
    request): commits are rewritten without it, branches and tags move to the new commits,
    reflog entries reaching old commits are expired and the old objects deleted from the
    store. Commit ids change: the old -> new map is printed and kept. Refuses without --yes
    (and says how many commits it would rewrite). A purge that was interrupted (killed,
    or stopped by an error) is finished by --continue, or by running it again.

    \b
    Example:
      statevcs purge /users/42/email --all --yes
      statevcs purge /secrets/api_key --branch main --branch staging --yes
      statevcs purge --continue
    """
    if everything and branches:
        raise click.UsageError("give --branch or --all, not both")
    if resume and (pointer is not None or branches or everything):
        raise click.UsageError("--continue takes no POINTER, --branch or --all: it finishes the purge that began")
    if not resume and pointer is None:
        raise click.UsageError("give the POINTER to erase (or --continue to finish an interrupted purge)")
    repo = app.repo
    if resume:
        report = repo.purge_continue()
    else:
        assert pointer is not None
        if not yes:
            pending = repo.unfinished_purge()
            if pending is not None:
                raise click.UsageError(f"{pending.describe()} must finish first: run 'statevcs purge --continue'")
            plan = repo.purge(pointer, list(branches) or None, everything, dry_run=True)
            raise click.UsageError(
                f"this rewrites {plan.rewritten} commit(s) ({plan.holding} hold {pointer}), moves "
                f"{len(plan.refs)} ref(s) and deletes the old objects for good; add --yes to do it")
        report = repo.purge(pointer, list(branches) or None, everything)
    pointer = report.pointer
    if as_json:
        echo_json({"version": 1, "pointer": report.pointer, "rewritten": report.rewritten,
                   "holding": report.holding, "map": report.map, "tags": report.tags,
                   "refs": {k: {"old": o, "new": n} for k, (o, n) in report.refs.items()},
                   "reflog_expired": report.reflog_expired, "removed": report.removed,
                   "still_held_by": list(report.still_held_by), "working_file": report.working_file,
                   "wipe_error": report.wipe_error or None})
        return
    click.echo(f"Purged {safe(pointer)}: {report.rewritten} commit(s) rewritten ({report.holding} held it), "
               f"{len(report.refs)} ref(s) moved, {report.removed} object(s) removed")
    for name, (old, new) in report.refs.items():
        click.echo(f"  {safe(name)} {short(old)} -> {short(new)}")
    click.echo("old -> new:")
    for old, new in report.map.items():
        click.echo(f"  {old} {new}")
    if report.working_file:
        click.echo(f"working file: {safe(report.working_file)}")
    for name in report.still_held_by:
        click.echo(f"warning: {safe(name)} still reaches the value (purge it too, or use --all)", err=True)


COMMANDS = [purge]
