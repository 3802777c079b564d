"""Commands on history: log, show, reflog."""

from __future__ import annotations

import click

from ..model.objects import Commit, format_time
from ..porcelain.render import FORMATS
from ..porcelain.repo import Repository
from .context import AppContext, echo_json, pass_app, short, styled, use_color


def commit_json(c: Commit) -> dict:
    return {"id": c.id, "parents": list(c.parents), "root": c.root, "generation": c.generation,
            "author": c.author, "timestamp": format_time(c.timestamp), "message": c.message,
            "metadata": c.metadata}


def _header(c: Commit) -> str:
    lines = [styled(f"commit {c.id}", fg="yellow")]
    if len(c.parents) > 1:
        lines.append("Merge: " + " ".join(short(p) for p in c.parents))
    lines.append(f"Author: {c.author}")
    lines.append(f"Date:   {c.timestamp.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    lines.append("")
    lines.extend("    " + line for line in (c.message or "(no message)").splitlines() or [""])
    return "\n".join(lines)


def _commit_diff(repo: Repository, c: Commit, fmt: str) -> str:
    base = repo.objects.commit(c.parents[0]).root if c.parents else _empty_root(repo, c.root)
    return repo.diff_roots(base, c.root).render(fmt, color=use_color(), labels=(
        short(c.parents[0]) if c.parents else "(empty)", short(c.id)))


def _empty_root(repo: Repository, like: str) -> str:
    """An empty state of the same kind as the tree ``like``: what a root commit is shown against."""
    from ..model.objects import ArrayNode, ObjectNode
    from ..model.tree import write_tree

    node = repo.objects.node(like)
    root, objects = write_tree({} if isinstance(node, ObjectNode) else [] if isinstance(node, ArrayNode) else None)
    repo.objects.extra.update(objects)
    return root


@click.command()
@click.argument("rev", default="HEAD")
@click.option("--oneline", is_flag=True, help="One line per commit: short id and summary.")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), default=None, help="Show at most N commits.")
@click.option("--path", default=None, metavar="PTR", help="Only commits that changed the value at this JSON Pointer.")
@click.option("-p", "--patch", "show_patch", is_flag=True, help="Show each commit's diff to its first parent.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", help="Diff format for -p.")
@click.option("--first-parent", is_flag=True, help="Follow only the first parent of merges.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def log(app: AppContext, rev: str, oneline: bool, limit: int | None, path: str | None, show_patch: bool,
        fmt: str, first_parent: bool, as_json: bool) -> None:
    """Show commits reachable from REV (default HEAD), newest first.

    \b
    Example:
      statevcs log --oneline -n 5
      statevcs log --path /agent/status      # when did the status change?
    """
    repo = app.repo
    commits = repo.log(rev, path=path, limit=limit, first_parent=first_parent)
    if as_json:
        echo_json({"version": 1, "commits": [commit_json(c) for c in commits]})
        return
    first = True
    for c in commits:
        if oneline:
            click.echo(f"{styled(short(c.id), fg='yellow')} {c.summary}")
        else:
            if not first:
                click.echo("")
            click.echo(_header(c))
        if show_patch:
            click.echo("")
            click.echo(_commit_diff(repo, c, fmt), nl=False)
        first = False


@click.command()
@click.argument("rev", default="HEAD")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Diff format.")
@click.option("--json", "as_json", is_flag=True, help="Print the commit and its patch as JSON.")
@pass_app
def show(app: AppContext, rev: str, fmt: str, as_json: bool) -> None:
    """Show a commit's header and its diff to its first parent.

    \b
    Example:
      statevcs show HEAD~1
      statevcs show v1 --format markdown
    """
    repo = app.repo
    c = repo.resolve(rev)
    if as_json:
        base = repo.objects.commit(c.parents[0]).root if c.parents else _empty_root(repo, c.root)
        echo_json({"version": 1, "commit": commit_json(c), "patch": repo.diff_roots(base, c.root).patch})
        return
    click.echo(_header(c))
    click.echo("")
    click.echo(_commit_diff(repo, c, fmt), nl=False)


@click.command()
@click.argument("ref", default="HEAD")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), default=None, help="Show at most N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def reflog(app: AppContext, ref: str, limit: int | None, as_json: bool) -> None:
    """Show every move of REF (default HEAD): old, new, who, when and why.

    \b
    Example:
      statevcs reflog
      statevcs reflog experiment
    """
    entries = app.repo.reflog(ref, limit)
    if as_json:
        echo_json({"version": 1, "ref": ref, "entries": [
            {"old": e.old, "new": e.new, "who": e.who, "when": format_time(e.when), "why": e.why} for e in entries]})
        return
    for i, e in enumerate(entries):
        new = e.new if e.new and not e.new.startswith("ref: ") else (e.new or "(deleted)")
        shown = short(new) if new and len(new) == 64 else new
        click.echo(f"{styled(shown, fg='yellow')} {ref}@{{{i}}}: {e.why} ({e.who}, {e.when.strftime('%Y-%m-%d %H:%M:%S')})")


COMMANDS = [log, show, reflog]
