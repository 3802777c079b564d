"""Retention commands: prune (squash a branch's old history) and stats."""

from __future__ import annotations

import click

from .context import AppContext, echo_json, pass_app, safe, short
from .helpers import complete_branch
from .params import since_callback


@click.command()
@click.argument("branch", shell_complete=complete_branch)
@click.option("--keep", type=click.IntRange(min=1), metavar="N", help="Keep the newest N commits of BRANCH.")
@click.option("--since", metavar="DATE", callback=since_callback,
              help="Keep the commits made at or after DATE (ISO date or time, or an age such as 30d).")
@click.option("-f", "--force", is_flag=True, help="Rewrite even if other branches or tags share the history.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def prune(app: AppContext, branch: str, keep: int | None, since: str | None, force: bool, as_json: bool) -> None:
    """Squash BRANCH's older history into one root commit, keeping its newest commits.

    The kept commits are rewritten on top of the new root: their states, authors, times and
    messages stay, their ids change (the old -> new map is printed, kept in the reflog and in
    each new commit's 'pruned_from' metadata). Refused when other branches or tags share the
    history, unless --force. Old commits stay until their reflog entries expire and gc runs.

    \b
    Example:
      statevcs prune main --keep 100
      statevcs prune main --since 2024-05-01
      statevcs gc --prune=now --expire-unreachable=now
    """
    if (keep is None) == (since is None):
        raise click.UsageError("prune needs exactly one of --keep N and --since DATE")
    report = app.repo.prune(branch, keep=keep, since=since, force=force)
    if as_json:
        echo_json({"version": 1, "branch": branch, "old": report.old_tip, "new": report.new_tip,
                   "root": report.root, "squashed": report.squashed, "rewritten": report.id_map})
        return
    if not report.squashed:
        click.echo(f"Nothing to prune: {safe(branch)} has no commits older than those kept.")
        return
    click.echo(f"Squashed {report.squashed} commit(s) of {safe(branch)} into {short(report.root)}; "
               f"rewrote {len(report.rewritten)}:")
    for old, new in report.rewritten:
        click.echo(f"  {old} -> {new}")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@click.command()
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many of HEAD's largest paths to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def stats(app: AppContext, top: int, as_json: bool) -> None:
    """Show object counts, bytes (raw and as stored), commits per branch, and the paths of
    HEAD's state that take the most encoded bytes.

    \b
    Example:
      statevcs stats
      statevcs stats --json --top 5
    """
    repo = app.repo
    report = repo.stats(top)
    if as_json:
        echo_json(report.as_json())
        return
    kinds = ", ".join(f"{n} {k}" for k, n in report.kinds.items())
    click.echo(f"objects: {report.objects}" + (f" ({kinds})" if kinds else ""))
    click.echo(f"bytes: {_size(report.raw_bytes)} raw, {_size(report.stored_bytes)} stored")
    click.echo("commits per branch:")
    for name, n in report.branch_commits.items():
        click.echo(f"  {safe(name)}: {n}")
    if report.largest_paths:
        click.echo("largest paths in HEAD:")
        for p in report.largest_paths:
            click.echo(f"  {_size(p.bytes):>10}  {safe(p.path or '(root)')}")


COMMANDS = [prune, stats]
