"""Commands that create and look after a repository: init, gc, fsck."""

from __future__ import annotations

import os
import sys

import click

from ..porcelain.repo import DEFAULT_BRANCH, DEFAULT_WORKING_FILE, Repository
from .context import EXIT_NEGATIVE, AppContext, echo_json, pass_app


@click.command()
@click.argument("directory", default=".")
@click.option("--working-file", default=DEFAULT_WORKING_FILE, show_default=True,
              help="Name of the working state file.")
@click.option("-b", "--initial-branch", default=DEFAULT_BRANCH, show_default=True, help="Name of the first branch.")
@pass_app
def init(app: AppContext, directory: str, working_file: str, initial_branch: str) -> None:
    """Create a repository in DIRECTORY (made if needed) with an empty working state file,
    or at a store URL (postgresql://HOST/DB?repo=NAME).

    \b
    Example:
      statevcs init demo && cd demo
      statevcs init "postgresql://db.internal/statevcs?repo=team-a"
    """
    from ..store.locate import is_url

    if is_url(directory):
        Repository.init(directory, initial_branch=initial_branch).close()
        click.echo(f"Initialized empty statevcs repository at {directory}")
        return
    path = directory if os.path.isabs(directory) else os.path.join(app.location, directory)
    repo = Repository.init(path, working_file=working_file, initial_branch=initial_branch)
    repo.close()
    click.echo(f"Initialized empty statevcs repository in {os.path.join(repo.workdir or path, '.statevcs')}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def gc(app: AppContext, as_json: bool) -> None:
    """Delete objects that no branch, tag or reflog entry can reach.

    \b
    Example:
      statevcs gc
    """
    report = app.repo.gc()
    if as_json:
        echo_json({"version": 1, "kept": report.kept, "removed": report.removed})
    else:
        click.echo(f"Removed {report.removed} unreachable object(s); {report.kept} kept.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def fsck(app: AppContext, as_json: bool) -> None:
    """Verify every object's hash and every link reachable from refs; exit 1 on problems.

    \b
    Example:
      statevcs fsck
    """
    report = app.repo.fsck()
    if as_json:
        echo_json({"version": 1, "objects": report.objects, "ok": report.ok, "problems": list(report.problems)})
    else:
        for problem in report.problems:
            click.echo(problem)
        click.echo(f"Checked {report.objects} object(s): " + ("ok" if report.ok else f"{len(report.problems)} problem(s)"))
    if not report.ok:
        sys.exit(EXIT_NEGATIVE)


COMMANDS = [init, gc, fsck]
