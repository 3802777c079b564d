"""Commands between repositories: remote, clone, fetch, push, pull, and watch."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator

import click

from ..algo.conflicts import STRATEGIES
from ..errors import NotFastForwardError
from ..model.objects import format_time
from ..porcelain.presentation.escaping import json_text
from ..porcelain.repository.facade import Repository
from ..porcelain.transfer.sending import TransferReport
from ..porcelain.worktree.merge_state import refuse_during_merge
from .context import AppContext, echo_json, holding_working_lock, pass_app, safe, short
from .helpers import complete_branch, complete_remote, require_clean
from .params import PATH


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """A progress callback: a bar on stderr when it is a terminal, silent otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if total == 0:
                return
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
            state["done"] = 0
        state["bar"].update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


def _sent(report: TransferReport) -> str:
    return f"{report.objects} object(s), {report.bytes / 1024:.1f} KiB ({report.commits} commit(s))"


@click.command()
@click.argument("action", required=False, type=click.Choice(["add", "remove"]))
@click.argument("name", required=False)
@click.argument("location", required=False, type=PATH)
@click.option("-v", "--verbose", is_flag=True, help="Show each remote's URL or path.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None,
              help="With add: the file holding an encrypted remote's key.")
@pass_app
def remote(app: AppContext, action: str | None, name: str | None, location: str | None, verbose: bool,
           as_json: bool, key_file: str | None) -> None:
    """List remotes, or add NAME URL_OR_PATH, or remove NAME.

    \b
    Example:
      statevcs remote add origin postgresql://db.internal/statevcs?repo=team-a
      statevcs remote add laptop ../other-copy
      statevcs remote add vault ../vault --key-file ~/.vault-key
      statevcs remote -v
    """
    repo = app.repo
    if action == "add":
        if not name or not location:
            raise click.UsageError("remote add needs NAME and URL_OR_PATH")
        from ..porcelain.transfer.remotes import check_remote_location

        check_remote_location(location)  # a remote names its repository exactly
        repo.add_remote(name, location, key_file=os.path.abspath(os.path.expanduser(key_file)) if key_file else None)
        return
    if key_file is not None:
        raise click.UsageError("--key-file goes with 'remote add'")
    if action == "remove":
        if not name or location:
            raise click.UsageError("remote remove needs exactly NAME")
        repo.remove_remote(name)
        return
    if name:
        raise click.UsageError("to add a remote: statevcs remote add NAME URL_OR_PATH")
    remotes = repo.remotes
    if as_json:
        echo_json({"version": 1, "remotes": [{"name": n, "url": u} for n, u in remotes.items()]})
        return
    for n, u in remotes.items():
        click.echo(f"{n}\t{safe(u)}" if verbose else n)


@click.command()
@click.argument("source", type=PATH)
@click.argument("directory", required=False, type=PATH)
@click.option("--encrypt", is_flag=True, help="Encrypt the copy at rest (key: --key-file or STATEVCS_KEY).")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None,
              help="With --encrypt: file holding the copy's key; recorded in its config.")
@pass_app
def clone(app: AppContext, source: str, directory: str | None, encrypt: bool, key_file: str | None) -> None:
    """Copy the repository at SOURCE (a directory or URL) into DIRECTORY (or a store URL).

    The copy names SOURCE 'origin' and checks out its HEAD branch. DIRECTORY must not exist
    or be empty; every object is checked before the branch is set. With --encrypt the copy
    is encrypted at rest whatever SOURCE is (an encrypted SOURCE is opened with its own
    key_file or STATEVCS_KEY; docs/encryption.md).

    \b
    Example:
      statevcs clone postgresql://db.internal/statevcs?repo=team-a team-a
      statevcs clone ../team-a experiment-copy
      statevcs clone ../team-a vault --encrypt --key-file ~/.statevcs-key
    """
    from ..errors import KeyRequiredError
    from ..store.keys import key_from_environment, read_key_file

    key = None
    if key_file is not None and not encrypt:
        raise click.UsageError("--key-file goes with --encrypt")
    if encrypt:
        key_file = os.path.abspath(os.path.expanduser(key_file)) if key_file else None
        key = read_key_file(key_file) if key_file else key_from_environment()
        if key is None:
            raise KeyRequiredError("--encrypt needs a key: make one with 'statevcs keygen --output KEYFILE', then pass "
                                   "--key-file KEYFILE (or set STATEVCS_KEY)")
    if directory is None:
        base = source.rstrip("/").split("repo=")[-1] if "://" in source else os.path.basename(source.rstrip("/"))
        directory = base or "clone"
    target = directory if "://" in directory or os.path.isabs(directory) else os.path.join(app.location, directory)
    with progress_bar("Receiving objects") as progress:
        repo = Repository.clone(source, target, progress, key=key)
    if key_file and repo.meta_dir:  # later commands find the key where init --key-file records it
        config = repo.config()
        config["key_file"] = key_file
        repo._save_config(config)
    click.echo(f"Cloned {safe(source)} into {safe(directory)} ({len(repo.branches)} branch(es), "
               f"on {repo.current_branch})")
    repo.close()


@click.command()
@click.argument("remote_name", metavar="REMOTE", type=PATH, shell_complete=complete_remote)
@pass_app
def fetch(app: AppContext, remote_name: str) -> None:
    """Copy REMOTE's branches (as REMOTE/BRANCH) and tags; only missing objects travel.

    \b
    Example:
      statevcs fetch origin
      statevcs diff main origin/main
    """
    with progress_bar("Receiving objects") as progress:
        report = app.repo.fetch(remote_name, progress)
    for ref, (old, new) in report.updated.items():
        click.echo(f"  {short(old) if old else '(new)'} -> {short(new)}  {safe(ref)}")
    click.echo(f"Fetched {_sent(report.transfer)}" if report.transfer.objects else "Already up to date.")


@click.command()
@click.argument("remote_name", metavar="REMOTE", type=PATH, shell_complete=complete_remote)
@click.argument("branch", required=False, shell_complete=complete_branch)
@click.option("-f", "--force", is_flag=True, help="Overwrite the remote branch even if it does not fast-forward.")
@pass_app
def push(app: AppContext, remote_name: str, branch: str | None, force: bool) -> None:
    """Send BRANCH (default: the current one) to REMOTE; refuses non-fast-forwards unless --force.

    \b
    Example:
      statevcs push origin main
    """
    from ..porcelain.transfer.remotes import push as do_push

    repo = app.repo
    branch = branch or repo.current_branch
    if branch is None:
        raise click.UsageError("HEAD is detached: name the BRANCH to push")
    with progress_bar("Sending objects") as progress:
        try:
            report, old, new = do_push(repo, remote_name, branch, force, progress)
        except NotFastForwardError as exc:
            raise NotFastForwardError(str(exc).replace("push with force=True", "'statevcs push --force'")) from None
    if old == new:
        click.echo("Everything up to date.")
    else:
        click.echo(f"{short(old) if old else '(new)'} -> {short(new)}  {safe(branch)}; sent {_sent(report)}")


@click.command()
@click.argument("remote_name", metavar="REMOTE", type=PATH, shell_complete=complete_remote)
@click.argument("branch", required=False, shell_complete=complete_branch)
@click.option("--strategy", type=click.Choice(STRATEGIES), default="merge", show_default=True,
              help="How the merge settles overlapping changes.")
@pass_app
@holding_working_lock
def pull(app: AppContext, remote_name: str, branch: str | None, strategy: str) -> None:
    """Fetch REMOTE, then merge its BRANCH (default: the current branch's name) into the current branch.

    On conflicts it exits 1 and leaves a merge in progress, as 'statevcs merge' does.

    \b
    Example:
      statevcs pull origin main --strategy source_wins
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "pulling")
    branch = branch or repo.current_branch
    if branch is None:
        raise click.UsageError("HEAD is detached: name the BRANCH to pull")
    require_clean(repo, False, "pulling", can_force=False)
    with progress_bar("Receiving objects") as progress:
        repo.fetch(remote_name, progress)
    from ..porcelain.transfer.remotes import resolve_remote

    name, _ = resolve_remote(repo, remote_name)
    source = f"{name}/{branch}" if name else None
    if source is None:
        raise click.UsageError("pull needs a named remote (statevcs remote add NAME URL)")
    ctx = click.get_current_context()
    merge = ctx.find_root().command.get_command(ctx, "merge")  # type: ignore[attr-defined]
    ctx.invoke(merge, source=source, into=None, strategy=strategy, ff_only=False, no_ff=False, paths=(),
               message=f"Merge {source} into {repo.current_branch}", cont=False, abort=False)


@click.command()
@click.argument("branch", required=False, shell_complete=complete_branch)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per commit (JSON lines).")
@click.option("--timeout", type=float, default=None, help="Stop after this many seconds without a new commit.")
@pass_app
def watch(app: AppContext, branch: str | None, as_json: bool, timeout: float | None) -> None:
    """Print commits as they land on BRANCH (default: the current one) until interrupted.

    \b
    Example:
      statevcs -C postgresql://db/statevcs?repo=team-a watch main --json
    """
    repo = app.repo
    branch = branch or repo.current_branch
    if branch is None:
        raise click.UsageError("HEAD is detached: name the BRANCH to watch")
    for c in repo.watch(branch, timeout=timeout):
        if as_json:
            click.echo(json_text({"id": c.id, "branch": branch, "author": c.author, "message": c.message,
                                  "timestamp": format_time(c.timestamp), "parents": list(c.parents)}, indent=None))
        else:
            click.echo(f"{short(c.id)} {safe(c.author)}: {safe(c.summary)}")
        sys.stdout.flush()


COMMANDS = [remote, clone, fetch, push, pull, watch]

__all__ = ["COMMANDS"]
