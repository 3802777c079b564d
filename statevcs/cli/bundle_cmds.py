"""Backup commands: bundle create and bundle verify (clone and fetch read bundles as remotes)."""

from __future__ import annotations

import os

import click

from ..model.refnames import short_name
from ..porcelain.repository.facade import Repository
from .context import AppContext, CommandFamily, echo_json, pass_app, safe, short
from .params import PATH


@click.group(cls=CommandFamily)
def bundle() -> None:
    """Write a repository's refs and objects to one verifiable file, or check one.

    Clone or fetch from a bundle as from a remote: 'statevcs clone FILE DIR',
    'statevcs fetch FILE'.

    \b
    Example:
      statevcs bundle create backup.svb
      statevcs bundle verify backup.svb
      statevcs clone backup.svb restored
    """


def _path(app: AppContext, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(app.location, path)


@bundle.command("create")
@click.argument("file", type=PATH)
@click.argument("refs", nargs=-1)
@click.option("--exclude", multiple=True, metavar="REV",
              help="Leave out history reachable from REV (a thin bundle; repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def create(app: AppContext, file: str, refs: tuple[str, ...], exclude: tuple[str, ...], as_json: bool) -> None:
    """Write REFS (default: every branch and tag, and HEAD) and every object they need to FILE.

    \b
    Example:
      statevcs bundle create backup.svb
      statevcs bundle create week.svb main --exclude v1
    """
    report = app.repo.bundle_create(_path(app, file), list(refs) or None, list(exclude))
    if as_json:
        echo_json({"version": 1, "file": file, "refs": report.refs, "objects": report.objects,
                   "prerequisites": list(report.prerequisites), "bytes": report.size})
        return
    names = ", ".join(safe(short_name(r)) for r in report.refs)
    thin = f"; thin: needs {len(report.prerequisites)} commit(s)" if report.thin else ""
    click.echo(f"Wrote {safe(file)}: {len(report.refs)} ref(s) ({names}), {report.objects} object(s), "
               f"{report.size} bytes{thin}")


@bundle.command("verify")
@click.argument("file", type=PATH)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def verify(app: AppContext, file: str, as_json: bool) -> None:
    """Check FILE's checksum, every object's hash, and that every ref's history is complete
    (for a thin bundle: present in the current repository). Exit 3 with the problem otherwise.

    \b
    Example:
      statevcs bundle verify backup.svb
    """
    from ..errors import NotARepositoryError

    repo = None
    try:
        repo = app.repo
    except NotARepositoryError:
        pass  # a self-contained bundle needs no repository
    report = Repository.verify_bundle(_path(app, file), repo)
    if as_json:
        echo_json({"version": 1, "file": file, "ok": True, "refs": report.refs, "objects": report.objects,
                   "prerequisites": list(report.prerequisites), "bytes": report.size})
        return
    for ref, value in report.refs.items():
        click.echo(f"{short(value) if not value.startswith('ref: ') else safe(value)}  {safe(ref)}")
    kind = f"thin, its {len(report.prerequisites)} prerequisite commit(s) present here" if report.thin else "complete"
    click.echo(f"{safe(file)} is okay: {len(report.refs)} ref(s), {report.objects} object(s) ({kind})")


COMMANDS = [bundle]
