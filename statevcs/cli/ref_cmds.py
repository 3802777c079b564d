"""Commands on refs: branch, switch, tag, restore, reset."""

from __future__ import annotations

from typing import Any

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
@click.option("-l", "--list", "as_list", is_flag=True,
              help="List the branches whose names match the patterns given (shell globs: 'exp*').")
@click.option("-v", "--verbose", "verbose", count=True,
              help="Accepted as git's: the listing always shows each branch's commit and summary.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (listing).")
@click.option("--expire-after", metavar="AGE", callback=age_callback,
              help="With NAME: gc deletes the branch once AGE (2h, 7d, 2.weeks...) has passed.")
@pass_app
def branch(app: AppContext, name: str | None, start: str | None, delete: bool, force_delete: bool,
           force: bool, as_list: bool, verbose: int, as_json: bool, expire_after: str | None) -> None:
    """List branches, create NAME at START (default HEAD), or delete one with -d.

    \b
    Example:
      statevcs branch
      statevcs branch -v --list 'exp*'
      statevcs branch experiment v1
      statevcs branch -d experiment
      statevcs branch scratch --expire-after 2h
    """
    repo = app.repo
    patterns: list[str] = []
    if as_list:
        if delete or force_delete or force or expire_after is not None:
            raise click.UsageError("--list lists branches: it takes only patterns")
        patterns, name, start = [p for p in (name, start) if p is not None], None, None
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
    branches = {n: oid for n, oid in repo.branches.items() if _matches(n, patterns)}
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


def _matches(name: str, patterns: list[str]) -> bool:
    """Does a branch or tag name match one of the shell globs (every name, without any)?"""
    from fnmatch import fnmatchcase

    return not patterns or any(fnmatchcase(name, p) for p in patterns)


@click.command()
@click.argument("name", shell_complete=complete_branch)
@click.option("-c", "--create", is_flag=True, help="Create branch NAME at HEAD and switch to it.")
@click.option("--detach", is_flag=True, help="Detach HEAD at the commit NAME names.")
@click.option("-f", "--force", is_flag=True, help="Discard uncommitted changes in the working file.")
@pass_app
@holding_working_lock
def switch(app: AppContext, name: str, create: bool, detach: bool, force: bool) -> None:
    """Switch HEAD to branch NAME and load its state into the working file.

    Refuses to drop uncommitted changes unless --force. 'statevcs switch -' goes back
    to the branch HEAD was on before the last switch.

    \b
    Example:
      statevcs switch -c experiment
      statevcs switch main
      statevcs switch -
    """
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "switching branches")
    if name == "-" and not create:
        from ..porcelain.core.revisions import previous_head

        name, was_detached = previous_head(repo)
        if was_detached and not detach:
            raise RevisionNotFoundError(f"HEAD was detached at {short(name)} before: 'statevcs switch --detach "
                                        f"{short(name)}' goes back there")
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
@click.argument("rev", required=False, shell_complete=complete_revision)
@click.option("-m", "--message", default=None, help="Make an annotated tag with this message.")
@click.option("-d", "--delete", is_flag=True, help="Delete tag NAME.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing tag.")
@click.option("-l", "--list", "as_list", is_flag=True,
              help="List the tags whose names match the patterns given (shell globs: 'v1.*').")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (listing).")
@pass_app
def tag(app: AppContext, name: str | None, rev: str | None, message: str | None, delete: bool, force: bool,
        as_list: bool, as_json: bool) -> None:
    """List tags, tag REV (default HEAD) as NAME, or delete a tag with -d.

    \b
    Example:
      statevcs tag v1 main -m "known good"
      statevcs tag
      statevcs tag -l 'v1*'
    """
    repo = app.repo
    if as_list:
        if delete or message is not None or force:
            raise click.UsageError("-l lists tags: it takes only patterns")
        _list_tags(repo, [p for p in (name, rev) if p is not None], as_json)
        return
    rev = rev or "HEAD"
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
    _list_tags(repo, [], as_json)


def _list_tags(repo: Any, patterns: list[str], as_json: bool) -> None:
    tags = {n: oid for n, oid in repo.tags.items() if _matches(n, patterns)}
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
@click.argument("args", nargs=-1, metavar="[REV | POINTER...]", shell_complete=complete_revision)
@click.option("-s", "--source", default=None, metavar="REV",
              help="Restore the POINTERs' values from REV into the working file (default HEAD); nothing is committed.")
@click.option("-m", "--message", default=None, help="Message of the new commit.")
@click.option("-f", "--force", is_flag=True, help="Discard uncommitted changes in the working file.")
@pass_app
@holding_working_lock
def restore(app: AppContext, args: tuple[str, ...], source: str | None, message: str | None, force: bool) -> None:
    """Make a new commit on the current branch whose state equals REV's; or, given POINTERs,
    bring back just their values (from --source REV, default HEAD) into the working file.

    History is kept: the commits since REV stay in the log. With POINTERs (as git's
    'restore --source REV PATH') nothing is committed and every other edit of the working
    file stays; a pointer REV lacks is removed. REV:/POINTER is the same as --source REV POINTER.

    \b
    Example:
      statevcs restore v1
      statevcs restore --source main~2 /agent/prompt /budget
      statevcs restore /budget                 # drop the uncommitted edit of /budget
      statevcs restore v1:/agent/prompt
    """
    from ..porcelain.core.revisions import split_pointer

    repo = app.repo
    revs, pointers = [], []
    for arg in args:
        if arg == "" or arg.startswith("/"):
            pointers.append(arg)
            continue
        rev, pointer = split_pointer(arg)
        if pointer is None:
            revs.append(arg)
            continue
        if source not in (None, rev):
            raise click.UsageError(f"{arg!r} and --source {source!r} name two revisions")
        source = rev
        pointers.append(pointer)
    if pointers or source is not None:
        if revs:
            raise click.UsageError(f"give the revision to restore pointers from with --source: 'statevcs restore "
                                   f"--source {revs[0]} POINTER...'")
        if not pointers:
            raise click.UsageError("--source REV needs the POINTERs to restore (or 'statevcs restore REV' commits "
                                   "REV's whole state)")
        if message is not None or force:
            raise click.UsageError("restoring pointers commits nothing and keeps other edits: "
                                   "-m and --force do not apply")
        _restore_pointers(repo, source or "HEAD", pointers)
        return
    if len(revs) != 1:
        raise click.UsageError("restore takes one REV (or POINTERs to restore into the working file)")
    rev = revs[0]
    refuse_during_merge(repo.meta_dir, "restoring")
    require_clean(repo, force, "restore")
    c = repo.restore(rev, message=message)
    write_working(repo)
    click.echo(f"[{safe(repo.current_branch or 'detached HEAD')} {short(c.id)}] {safe(c.summary)}")


def _restore_pointers(repo: Any, rev: str, pointers: list[str]) -> None:
    from ..porcelain.worktree.checkout import ensure_current, restore_pointers

    refuse_during_merge(repo.meta_dir, "restoring")
    ensure_current(repo, "restoring values")
    for pointer, what in restore_pointers(repo, rev, pointers):  # the command holds the working file's lock
        said = {"restored": f"Restored {safe(pointer or '/')} from {safe(rev)}",
                "removed": f"Removed {safe(pointer or '/')} (not in {safe(rev)})",
                "unchanged": f"{safe(pointer or '/')} already holds {safe(rev)}'s value"}[what]
        click.echo(said)


@click.command()
@click.argument("rev", required=False, default="HEAD", shell_complete=complete_revision)
@click.option("--hard", is_flag=True, help="Also rewrite the working file with REV's state (dropping its edits).")
@click.option("--soft", is_flag=True, help="Keep the working file as it is (the default: there is no index to reset).")
@click.option("--mixed", is_flag=True, help="The same as --soft and the default.")
@pass_app
@holding_working_lock
def reset(app: AppContext, rev: str, hard: bool, soft: bool, mixed: bool) -> None:
    """Move the current branch to REV (default HEAD; the reflog keeps where it was).

    Without --hard the working file is left as it is, and its differences from REV
    show as uncommitted changes (as git's default reset does; with no index, --soft and
    --mixed are that default). 'statevcs reset --hard' alone reloads HEAD's state into
    the working file.

    \b
    Example:
      statevcs reset HEAD~1
      statevcs reset --soft HEAD~1   # undo the last commit, keep its changes to commit again
      statevcs reset --hard v1
      statevcs reset --hard
    """
    if hard + soft + mixed > 1:
        raise click.UsageError("--hard, --soft and --mixed exclude each other")
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "resetting (use 'statevcs merge --abort')")
    c = repo.reset(rev)  # the command holds the working file's lock (holding_working_lock)
    if hard:
        load_head(repo)
    elif repo.workdir and repo.working_file.exists():
        repo.working_file.record_base(c.id)
    click.echo(f"HEAD is now at {short(c.id)} {safe(c.summary)}")


COMMANDS = [branch, switch, tag, restore, reset]
