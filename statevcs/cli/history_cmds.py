"""Commands on history: log, show, reflog."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

import click

from ..integrations import view_for
from ..model.objects import Commit, format_time
from ..porcelain.core.logview import (
    CommitFilter,
    all_starts,
    compile_pattern,
    parse_when,
    select_commits,
)
from ..porcelain.core.revisions import resolve_range
from ..porcelain.presentation.render import FORMATS, Diff
from ..porcelain.repository.facade import Repository
from .context import (
    AppContext,
    echo_json,
    paged,
    pass_app,
    safe,
    short,
    styled,
    use_color,
)
from .graph import graph_rows
from .helpers import complete_revision, name_lines, stat_lines


def commit_json(c: Commit) -> dict:
    return {"id": c.id, "parents": list(c.parents), "root": c.root, "generation": c.generation,
            "author": c.author, "timestamp": format_time(c.timestamp), "message": c.message,
            "metadata": c.metadata}


def _header(c: Commit) -> list[str]:
    lines = [styled(f"commit {safe(c.id)}", fg="yellow")]
    if len(c.parents) > 1:
        lines.append("Merge: " + " ".join(short(p) for p in c.parents))
    lines.append(f"Author: {safe(c.author)}")
    lines.append(f"Date:   {c.timestamp.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    lines.append("")
    lines.extend("    " + safe(line) for line in (c.message or "(no message)").split("\n"))
    return lines


def _commit_diff(repo: Repository, c: Commit, path: str = "", all_channels: bool = True) -> Diff:
    """``c``'s changes to its first parent (a root commit against an empty state), under
    ``path``; without ``all_channels``, less what the commit's view hides."""
    base = repo.objects.commit(c.parents[0]).root if c.parents else _empty_root(repo, c.root)
    d = repo.diff_roots(base, c.root, path)
    view = None if all_channels else view_for((c.metadata,))
    return d.without(view.hidden) if view is not None else d


def _labels(c: Commit) -> tuple[str, str]:
    return (short(c.parents[0]) if c.parents else "(empty)", short(c.id))


def _render_commit_diff(repo: Repository, c: Commit, fmt: str, path: str = "", full: bool = False,
                        all_channels: bool = False) -> str:
    return _render(_commit_diff(repo, c, path, all_channels), c, fmt, full)


def _render(d: Diff, c: Commit, fmt: str, full: bool) -> str:
    """A commit's diff as text, values summarized by the commit's view (if an integration has one)."""
    view = view_for((c.metadata,))
    return d.render(fmt, color=use_color(), labels=_labels(c), full=full,
                    summarize=view.summarize if view is not None else None)


def _empty_root(repo: Repository, like: str) -> str:
    """An empty state of the same kind as the tree ``like``: what a root commit is shown against."""
    from ..model.objects import Ref
    from ..model.tree import ARRAY, OBJECT, view, write_tree

    kind = view(repo.objects, Ref(like))[0]  # chunked containers too
    root, objects = write_tree({} if kind == OBJECT else [] if kind == ARRAY else None)
    repo.objects.extra.update(objects)
    return root


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.command()
@click.argument("rev", default="HEAD", shell_complete=complete_revision)
@click.option("--oneline", is_flag=True, help="One line per commit: short id and summary.")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), default=None,
              help="Show at most N commits (also -N, as in git log -3).")
@click.option("--all", "all_refs", is_flag=True, help="Start from every branch, tag and HEAD, not only REV.")
@click.option("--graph", is_flag=True, help="Draw the commit graph beside the log (ASCII).")
@click.option("--author", default=None, metavar="PATTERN", help="Only commits whose author matches (regex or text).")
@click.option("--grep", default=None, metavar="PATTERN", help="Only commits whose message matches (regex or text).")
@click.option("-i", "--regexp-ignore-case", "ignore_case", is_flag=True, help="Match --author/--grep ignoring case.")
@click.option("--since", "--after", "since", default=None, callback=_when, metavar="DATE",
              help="Only commits at or after DATE (2024-05-01, '2 days ago', 2.days).")
@click.option("--until", "--before", "until", default=None, callback=_when, metavar="DATE",
              help="Only commits at or before DATE.")
@click.option("--path", default=None, metavar="PTR",
              help="Only commits that changed the value at this JSON Pointer (and with -p/--stat, only those changes).")
@click.option("-p", "--patch", "show_patch", is_flag=True, help="Show each commit's diff to its first parent.")
@click.option("--stat", "show_stat", is_flag=True, help="Show the paths each commit changed.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", help="Diff format for -p.")
@click.option("--full", is_flag=True, help="With -p: show long values whole instead of abbreviated.")
@click.option("--all-channels", is_flag=True,
              help="With -p/--stat: also show what the commits' view hides (a LangGraph thread's internal channels).")
@click.option("--first-parent", is_flag=True, help="Follow only the first parent of merges.")
@click.option("--no-pager", is_flag=True, help="Print directly, even on a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def log(app: AppContext, rev: str, oneline: bool, limit: int | None, all_refs: bool, graph: bool,
        author: str | None, grep: str | None, ignore_case: bool, since: datetime | None, until: datetime | None,
        path: str | None, show_patch: bool, show_stat: bool, fmt: str, full: bool, all_channels: bool,
        first_parent: bool, no_pager: bool, as_json: bool) -> None:
    """Show commits reachable from REV (default HEAD), newest first.

    REV may be a range: A..B (on B, not on A) or A...B (on either, not on both).

    On a terminal the output goes through a pager ($STATEVCS_PAGER, $PAGER or less -FRX).

    \b
    Example:
      statevcs log --oneline -5
      statevcs log --path /agent/status -p   # when and how did the status change?
      statevcs log --all --graph --oneline
      statevcs log --author alice --since '2 weeks ago' --grep budget
    """
    repo = app.repo
    criteria = CommitFilter(
        author=compile_pattern(author, ignore_case) if author is not None else None,
        grep=compile_pattern(grep, ignore_case) if grep is not None else None,
        since=since, until=until)
    span = resolve_range(repo, rev)
    starts = all_starts(repo) if all_refs else list(span.include)
    commits = select_commits(repo, starts, path=path, first_parent=first_parent, criteria=criteria, limit=limit,
                             exclude=span.exclude)
    if as_json:
        echo_json({"version": 1, "commits": [commit_json(c) for c in commits]})
        return
    chunks = _log_text(repo, commits, oneline, graph, first_parent, path or "", show_patch, show_stat, fmt, full,
                       all_channels)
    with paged(not no_pager) as write:
        for chunk in chunks:
            write(chunk)


def _log_text(repo: Repository, commits: Iterator[Commit], oneline: bool, graph: bool, first_parent: bool,
              path: str, show_patch: bool, show_stat: bool, fmt: str, full: bool,
              all_channels: bool = False) -> Iterator[str]:
    """The log as text, a commit at a time (so a pager shows the first page at once)."""
    if graph:
        listed = list(commits)
        rows = graph_rows([(c.id, c.parents[:1] if first_parent else c.parents) for c in listed])
    else:
        listed = None
        rows = ((None, c) for c in commits)  # type: ignore[assignment]
    first = True
    for drawing, item in rows:
        if graph and item is None:
            yield drawing + "\n"
            continue
        c = listed[item] if graph else item  # type: ignore[index]
        lead = drawing + " " if graph else ""
        more = (drawing.replace("*", "|") + " ") if graph else ""
        lines = [f"{styled(short(c.id), fg='yellow')} {safe(c.summary)}"] if oneline else _header(c)
        if not oneline and not first and not graph:
            yield "\n"
        body: list[str] = []
        if show_stat or show_patch:
            d = _commit_diff(repo, c, path, all_channels)
            if show_stat:
                body += stat_lines(d)
            if show_patch:
                text = _render(d, c, fmt, full)
                body += text.rstrip("\n").split("\n") if text else []
            if body and not oneline:
                body.insert(0, "")
            if body and oneline and not graph:
                body.append("")
        rest = lines[1:] + body + ([""] if graph and not oneline else [])
        out = [lead + lines[0]] + [(more + line).rstrip() if graph else line for line in rest]
        yield "\n".join(out) + "\n"
        first = False


@click.command()
@click.argument("rev", default="HEAD", shell_complete=complete_revision)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Diff format.")
@click.option("--path", default="", metavar="PTR", help="Only the changes under this JSON Pointer.")
@click.option("--full", is_flag=True, help="Show long values whole instead of abbreviated.")
@click.option("--all-channels", is_flag=True,
              help="Also show what the commit's view hides (a LangGraph thread's internal channels).")
@click.option("--stat", "show_stat", is_flag=True, help="The changed pointers and what happened to each, not the diff.")
@click.option("--name-only", "name_only", is_flag=True, help="Only the changed pointers, one a line, not the diff.")
@click.option("--no-pager", is_flag=True, help="Print directly, even on a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print the commit and its patch as JSON.")
@pass_app
def show(app: AppContext, rev: str, fmt: str, path: str, full: bool, all_channels: bool, show_stat: bool,
         name_only: bool, no_pager: bool, as_json: bool) -> None:
    """Show a commit's header and its diff to its first parent; REV:/POINTER shows a value, as cat does.

    \b
    Example:
      statevcs show HEAD~1
      statevcs show v1 --format markdown --full
      statevcs show --path /agent/prompt
      statevcs show --stat
      statevcs show main~1:/agent/status
    """
    from ..porcelain.core.revisions import split_pointer

    repo = app.repo
    rev, pointer = split_pointer(rev)
    if pointer is not None:  # git show REV:PATH prints the file: here the value
        echo_json(repo.get(rev, pointer))
        return
    c = repo.resolve(rev)
    if as_json:
        echo_json({"version": 1, "commit": commit_json(c), "patch": _commit_diff(repo, c, path, all_channels).patch})
        return
    if show_stat or name_only:
        d = _commit_diff(repo, c, path, all_channels)
        lines = (stat_lines(d) if show_stat else []) + (name_lines(d) if name_only else [])
        text = "\n".join(_header(c)) + "\n\n" + "".join(line + "\n" for line in lines)
    else:
        text = "\n".join(_header(c)) + "\n\n" + _render_commit_diff(repo, c, fmt, path, full, all_channels)
    with paged(not no_pager) as write:
        write(text)


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
        shown = short(new) if new and len(new) == 64 else safe(new)
        click.echo(f"{styled(shown, fg='yellow')} {safe(ref)}@{{{i}}}: {safe(e.why)} "
                   f"({safe(e.who)}, {e.when.strftime('%Y-%m-%d %H:%M:%S')})")


COMMANDS = [log, show, reflog]
