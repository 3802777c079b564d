"""Commands that create and look after a repository: init, gc, reflog-expire, fsck."""

from __future__ import annotations

import os
import sys

import click

from ..porcelain.repository.facade import DEFAULT_BRANCH, DEFAULT_WORKING_FILE, Repository
from .context import EXIT_NEGATIVE, AppContext, echo_json, pass_app, safe
from .params import PATH, age_callback


@click.command()
@click.argument("directory", default=".", type=PATH)
@click.option("--working-file", default=DEFAULT_WORKING_FILE, show_default=True, type=PATH,
              help="Name of the working state file.")
@click.option("-b", "--initial-branch", default=DEFAULT_BRANCH, show_default=True, help="Name of the first branch.")
@click.option("--encrypt", is_flag=True, help="Encrypt objects and refs at rest (key: --key-file or STATEVCS_KEY).")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None,
              help="File holding the key (statevcs keygen makes one); recorded in the repository's config.")
@pass_app
def init(app: AppContext, directory: str, working_file: str, initial_branch: str, encrypt: bool,
         key_file: str | None) -> None:
    """Create a repository in DIRECTORY (made if needed) with an empty working state file,
    or at a store URL (postgresql://HOST/DB?repo=NAME). With --encrypt, everything stored is
    encrypted (docs/encryption.md); later commands find the key in the file recorded by
    --key-file, or in STATEVCS_KEY / STATEVCS_KEY_FILE.

    \b
    Example:
      statevcs init demo && cd demo
      statevcs init "postgresql://db.internal/statevcs?repo=team-a"
      statevcs keygen --output ~/.statevcs-key && statevcs init --encrypt --key-file ~/.statevcs-key vault
    """
    from ..store.paths import is_url

    key = None
    if key_file is not None:
        if not encrypt:
            raise click.UsageError("--key-file goes with --encrypt")
        key_file = os.path.join(app.location, os.path.expanduser(key_file))
    elif encrypt:
        from ..errors import KeyRequiredError
        from ..store.keys import key_from_environment

        key = key_from_environment()
        if key is None:
            raise KeyRequiredError("--encrypt needs a key: make one with 'statevcs keygen --output KEYFILE', then pass "
                                   "--key-file KEYFILE (or set STATEVCS_KEY)")
    if is_url(directory):
        Repository.init(directory, initial_branch=initial_branch, key=key, key_file=key_file).close()
        click.echo(f"Initialized empty {'encrypted ' if encrypt else ''}statevcs repository at {safe(directory)}")
        return
    path = directory if os.path.isabs(directory) else os.path.join(app.location, directory)
    repo = Repository.init(path, working_file=working_file, initial_branch=initial_branch, key=key,
                           key_file=key_file)
    repo.close()
    click.echo(f"Initialized empty {'encrypted ' if encrypt else ''}statevcs repository in "
               f"{safe(os.path.join(repo.workdir or path, '.statevcs'))}")


_PRUNE_HELP = "Keep unreachable objects younger than AGE (now, never, 2.weeks, 14d, 2h...)."
_EXPIRE_HELP = "Expire reflog entries older than AGE."
_UNREACHABLE_HELP = "Expire reflog entries the ref's tip no longer reaches once older than AGE."


@click.command()
@click.option("--prune", default="2.weeks", show_default=True, metavar="AGE", callback=age_callback, help=_PRUNE_HELP)
@click.option("--expire", default="90.days", show_default=True, metavar="AGE", callback=age_callback, help=_EXPIRE_HELP)
@click.option("--expire-unreachable", default="30.days", show_default=True, metavar="AGE", callback=age_callback,
              help=_UNREACHABLE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def gc(app: AppContext, prune: str, expire: str, expire_unreachable: str, as_json: bool) -> None:
    """Expire old reflog entries, then delete objects that no branch, tag, reflog entry or
    recent object can reach. Safe while others commit or push (see docs/gc.md).

    \b
    Example:
      statevcs gc
      statevcs gc --prune=now --expire=never
    """
    report = app.repo.gc(prune=prune, expire=expire, expire_unreachable=expire_unreachable)
    if as_json:
        echo_json({"version": 1, "kept": report.kept, "removed": report.removed,
                   "reflog_expired": report.reflog_expired})
    else:
        click.echo(f"Removed {report.removed} unreachable object(s); {report.kept} kept; "
                   f"{report.reflog_expired} reflog entr{'y' if report.reflog_expired == 1 else 'ies'} expired.")


@click.command("reflog-expire")
@click.option("--expire", default="90.days", show_default=True, metavar="AGE", callback=age_callback, help=_EXPIRE_HELP)
@click.option("--expire-unreachable", default="30.days", show_default=True, metavar="AGE", callback=age_callback,
              help=_UNREACHABLE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def reflog_expire(app: AppContext, expire: str, expire_unreachable: str, as_json: bool) -> None:
    """Delete old reflog entries (gc does this too) without deleting any object.

    \b
    Example:
      statevcs reflog-expire --expire=30.days
    """
    from ..porcelain.upkeep.gc import expire_reflogs

    n = expire_reflogs(app.repo, expire, expire_unreachable)
    if as_json:
        echo_json({"version": 1, "expired": n})
    else:
        click.echo(f"Expired {n} reflog entr{'y' if n == 1 else 'ies'}.")


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
            click.echo(safe(problem))
        click.echo(f"Checked {report.objects} object(s): " + ("ok" if report.ok else f"{len(report.problems)} problem(s)"))
    if not report.ok:
        sys.exit(EXIT_NEGATIVE)


COMMANDS = [init, gc, reflog_expire, fsck]
