"""Commands on refs: branch, switch, tag, restore, reset."""

from __future__ import annotations

import click

from ..errors import RefConflictError, RevisionNotFoundError
from ..model.objects import format_time
from ..model.refnames import check_branch_name
from ..porcelain.worktree.checkout import load_head
from ..porcelain.worktree.merge_state import refuse_during_merge
from .context import AppContext, echo_json, holding_working_lock, pass_app, safe, short, styled
from .helpers import complete_branch, complete_revision, require_clean, write_working
from .params import age_callback


@click.command()
@click.argument("name", required=False, shell_complete=complete_branch)
@click.argument("start", required=False, shell_complete=complete_revision)
@click.option("-d", "--delete", "delete", is_flag=True, help="Delete branch NAME (must be merged into HEAD).")
@click.option("-D", "force_delete", is_flag=True, help="Delete branch NAME even if not merged.")
@click.option("-f", "--force", is_flag=True, help="With NAME START: move an existing branch.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (listing).")
@click.option("--expire-after", metavar="AGE", callback=age_callback,
              help="With NAME: gc deletes the branch once AGE (2h, 7d, 2.weeks...) has passed.")
@pass_app
def branch(app: AppContext, name: str | None, start: str | None, delete: bool, force_delete: bool,
           force: bool, as_json: bool, expire_after: str | None) -> None:
    """List branches, create NAME at START (default HEAD), or delete one with -d.

    \b
    Example:
      statevcs branch
      statevcs branch experiment v1
      statevcs branch -d experiment
      statevcs branch scratch --expire-after 2h
    """
    repo = app.repo
    if expire_after is not None and (not name or delete or force_delete):
        raise click.UsageError("--expire-after goes with a NAME to create")
    if delete or force_delete:
        if not name:
            raise click.UsageError("branch -d needs a branch NAME")
        try:
            oid = repo.delete_branch(name, force=force_delete)
        except RefConflictError:
            raise RefConflictError(f"branch {name!r} is not merged into HEAD; 'statevcs branch -D {name}' "
                                   "deletes it anyway") from None
        click.echo(f"Deleted branch {safe(name)} (was {short(oid)}).")
        return
    if name:
        oid = repo.create_branch(name, start or "HEAD", force=force, expires=expire_after)
        until = repo.branch_expiries().get(name) if expire_after is not None else None
        click.echo(f"Created branch {safe(name)} at {short(oid)}"
                   + (f" (expires {format_time(until.expires)})" if until else ""))
        return
    current = repo.current_branch
    branches = repo.branches
    expiries = repo.branch_expiries()
    if as_json:
        echo_json({"version": 1, "current": current,
                   "branches": [{"name": n, "commit": oid, "current": n == current,
                                 "expires": format_time(expiries[n].expires) if n in expiries else None}
                                for n, oid in branches.items()]})
        return
    for n, oid in branches.items():
        c = repo.objects.commit(oid)
        mark = "*" if n == current else " "
        label = styled(n, fg="green") if n == current else n
        until = ""
        if n in expiries:
            until = f" [{'expired' if expiries[n].expired else 'expires'} {format_time(expiries[n].expires)}]"
        click.echo(f"{mark} {safe(label)} {short(oid)}{until} {safe(c.summary)}")


@click.command()
@click.argument("name", shell_complete=complete_branch)
@click.option("-c", "--create", is_flag=True, help="Create branch NAME at HEAD and switch to it.")
@click.option("--detach", is_flag=True, help="Detach HEAD at the commit NAME names.")
@click.option("-f", "--force", is_flag=True, help="Discard uncommitted changes in the working file.")
@pass_app
@holding_working_lock
def switch(app: AppContext, name: str, create: bool, detach: bool, force: bool) -> None:
    """Switch HEAD to branch NAME and load its state into the working file.

    Refuses to drop uncommitted changes unless --force.

    \b
    Example:
      statevcs switch -c experiment
      statevcs switch main
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "switching branches")
    if create:
        check_branch_name(name)
        if repo.head() is not None:
            repo.create_branch(name, "HEAD")
        repo.set_head(name)  # the working file is already this commit's state plus any edits
        click.echo(f"Switched to a new branch '{safe(name)}'")
        return
    if detach:
        require_clean(repo, force, "switching")
        repo.set_head(name, detach=True)
        write_working(repo)
        click.echo(f"HEAD is now at {short(repo.head().id)} (detached)")
        return
    if name not in repo.branches:
        raise RevisionNotFoundError(f"no branch named {name!r} (use -c to create it)")
    if name == repo.current_branch:
        click.echo(f"Already on '{safe(name)}'")
        return
    require_clean(repo, force, "switching")
    repo.set_head(name)
    write_working(repo)
    click.echo(f"Switched to branch '{safe(name)}'")


@click.command()
@click.argument("name", required=False)
@click.argument("rev", required=False, default="HEAD", shell_complete=complete_revision)
@click.option("-m", "--message", default=None, help="Make an annotated tag with this message.")
@click.option("-d", "--delete", is_flag=True, help="Delete tag NAME.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing tag.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (listing).")
@pass_app
def tag(app: AppContext, name: str | None, rev: str, message: str | None, delete: bool, force: bool,
        as_json: bool) -> None:
    """List tags, tag REV (default HEAD) as NAME, or delete a tag with -d.

    \b
    Example:
      statevcs tag v1 main -m "known good"
      statevcs tag
    """
    repo = app.repo
    if delete:
        if not name:
            raise click.UsageError("tag -d needs a tag NAME")
        repo.delete_tag(name)
        click.echo(f"Deleted tag {safe(name)}")
        return
    if name:
        repo.create_tag(name, rev, message=message, force=force)
        click.echo(f"Tagged {short(repo.rev_parse(rev))} as {safe(name)}")
        return
    tags = repo.tags
    if as_json:
        out = []
        for n, oid in tags.items():
            obj = repo.tag_object(n)
            out.append({"name": n, "commit": oid, "annotated": obj is not None,
                        "message": obj.message if obj else None, "tagger": obj.tagger if obj else None})
        echo_json({"version": 1, "tags": out})
        return
    for n, oid in tags.items():
        obj = repo.tag_object(n)
        click.echo(f"{safe(n)} {short(oid)}" + (f" {safe(obj.message.splitlines()[0] if obj.message else '')}" if obj else ""))


@click.command()
@click.argument("rev", shell_complete=complete_revision)
@click.option("-m", "--message", default=None, help="Message of the new commit.")
@click.option("-f", "--force", is_flag=True, help="Discard uncommitted changes in the working file.")
@pass_app
@holding_working_lock
def restore(app: AppContext, rev: str, message: str | None, force: bool) -> None:
    """Make a new commit on the current branch whose state equals REV's.

    History is kept: the commits since REV stay in the log.

    \b
    Example:
      statevcs restore v1
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "restoring")
    require_clean(repo, force, "restore")
    c = repo.restore(rev, message=message)
    write_working(repo)
    click.echo(f"[{safe(repo.current_branch or 'detached HEAD')} {short(c.id)}] {safe(c.summary)}")


@click.command()
@click.argument("rev", required=False, default="HEAD", shell_complete=complete_revision)
@click.option("--hard", is_flag=True, help="Also rewrite the working file with REV's state (dropping its edits).")
@pass_app
@holding_working_lock
def reset(app: AppContext, rev: str, hard: bool) -> None:
    """Move the current branch to REV (default HEAD; the reflog keeps where it was).

    Without --hard the working file is left as it is, and its differences from REV
    show as uncommitted changes (as git's default reset does). 'statevcs reset --hard'
    alone reloads HEAD's state into the working file.

    \b
    Example:
      statevcs reset HEAD~1
      statevcs reset --hard v1
      statevcs reset --hard
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "resetting (use 'statevcs merge --abort')")
    c = repo.reset(rev)  # the command holds the working file's lock (holding_working_lock)
    if hard:
        load_head(repo)
    elif repo.workdir and repo.working_file.exists():
        repo.working_file.record_base(c.id)
    click.echo(f"HEAD is now at {short(c.id)} {safe(c.summary)}")


COMMANDS = [branch, switch, tag, restore, reset]
