"""The lg command group: LangGraph threads kept by StateVCSSaver (docs/langgraph.md).

Works on the JSON the saver stores, so it needs no LangGraph installed.
"""

from __future__ import annotations

import click

from ..errors import InvalidAgeError
from ..integrations.langgraph.retention import prune_thread
from .context import AppContext, echo_json, pass_app, safe


@click.group(name="lg")
def lg() -> None:
    """LangGraph threads kept by the statevcs checkpointer (branches threads/THREAD).

    \b
    Example:
      statevcs lg prune t1 --keep 50
    """


@lg.command(name="prune")
@click.argument("thread")
@click.option("--keep", type=click.IntRange(min=1), metavar="N", help="Keep the newest N checkpoints.")
@click.option("--since", metavar="AGE",
              help="Keep the checkpoints made within AGE (30d, 12h) or at or after a date (2024-05-01).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def prune(app: AppContext, thread: str, keep: int | None, since: str | None, as_json: bool) -> None:
    """Keep a thread's newest checkpoints (each namespace's; always its latest) and drop the
    older ones with their pending writes. The thread still resumes, replays and forks from
    what is kept; gc reclaims the space once the reflog entries expire.

    \b
    Example:
      statevcs lg prune t1 --keep 50
      statevcs lg prune t1 --since 30d
      statevcs gc --prune=now --expire-unreachable=now
    """
    if (keep is None) == (since is None):
        raise click.UsageError("lg prune needs exactly one of --keep N and --since AGE")
    try:
        report = prune_thread(app.repo, thread, keep=keep, since=since)
    except InvalidAgeError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    if as_json:
        echo_json({"version": 1, "thread": report.thread_id, "kept": report.kept, "dropped": report.dropped,
                   "heads": report.heads})
        return
    for ns in sorted(report.kept):
        where = f"thread {safe(report.thread_id)}" + (f" namespace {safe(ns)}" if ns else "")
        if report.dropped[ns]:
            click.echo(f"{where}: kept {report.kept[ns]} checkpoint(s), dropped {report.dropped[ns]}")
        else:
            click.echo(f"{where}: nothing to drop ({report.kept[ns]} checkpoint(s))")


COMMANDS = [lg]
