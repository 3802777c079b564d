"""The diff command: changes between revisions and the working file, in every format."""

from __future__ import annotations

import sys

import click

from ..errors import RevisionNotFoundError, WorkingStateError
from ..integrations import View, view_for
from ..model.jsontext import parse_json_text
from ..model.tree import write_tree
from ..porcelain.core.revisions import is_range, split_range
from ..porcelain.presentation.render import FORMATS, Diff
from ..porcelain.repository.facade import Repository
from .context import EXIT_NEGATIVE, AppContext, pass_app, safe, short, use_color
from .helpers import complete_revision, name_lines, stat_lines


@click.command(name="diff")
@click.argument("a", required=False, shell_complete=complete_revision)
@click.argument("b", required=False, shell_complete=complete_revision)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for people, patch for RFC 6902 JSON Patch, unified, markdown, stat.")
@click.option("--path", "path", default="", metavar="PTR", help="Only changes under this JSON Pointer.")
@click.option("--full", is_flag=True, help="Show long values whole instead of abbreviated (text, markdown).")
@click.option("--stat", "show_stat", is_flag=True,
              help="The changed pointers and what happened to each (as log --stat).")
@click.option("--name-only", "name_only", is_flag=True, help="Only the changed pointers, one a line.")
@click.option("--all-channels", is_flag=True,
              help="Also show what the commits' view hides (a LangGraph thread's internal channels).")
@click.option("--exit-code", is_flag=True, help="Exit 1 if there are differences, 0 if none.")
@click.option("--no-index", "no_index", is_flag=True,
              help="A and B are two JSON files, compared outside any repository (as git diff --no-index).")
@pass_app
def diff_cmd(app: AppContext, a: str | None, b: str | None, fmt: str, path: str, full: bool, show_stat: bool,
             name_only: bool, all_channels: bool, exit_code: bool, no_index: bool) -> None:
    """Show changes: HEAD to the working file, A to the working file, or A to B.

    A..B is the same as A B; A...B shows B's changes since it forked from A. A:/PTR (and
    B:/PTR) limits the diff to a pointer, as --path does. When the branch moved since the
    working file was loaded, 'statevcs diff' compares the file with the commit it was
    loaded from (its own edits) and says so. Commits an integration made read through its
    view: a LangGraph thread's messages as role, name or tool and a preview (--full for the
    JSON), its internal channels hidden.

    \b
    Example:
      statevcs diff                      # uncommitted changes
      statevcs diff main experiment
      statevcs diff main...experiment     # what experiment changed since it forked
      statevcs diff v1 HEAD --format patch | jq .
      statevcs diff v1 HEAD --path /agent/prompt --format unified
      statevcs diff main experiment --format markdown --full > review.md
      statevcs diff main experiment --stat
      statevcs diff main~1:/agent HEAD
      statevcs diff --no-index before.json after.json
    """
    if show_stat and name_only:
        raise click.UsageError("--stat and --name-only exclude each other")
    summary = "stat" if show_stat else "names" if name_only else None
    if no_index:
        if not (a and b):
            raise click.UsageError("--no-index compares two files: statevcs diff --no-index A.json B.json")
        repo, root_a, root_b = _files_as_trees(a, b)
        _show(repo.diff_roots(root_a, root_b, path), (safe(a), safe(b)), fmt, full, exit_code, summary)
        return
    repo = app.repo
    a, b, path = _pointer_suffixes(a, b, path)
    if a and b is None and is_range(a):  # A..B is A to B; A...B is their merge base to B
        left, right, symmetric = split_range(a)
        a, b = left, right
        if symmetric:
            base = repo.merge_base(left, right)
            if base is None:
                raise RevisionNotFoundError(f"{left} and {right} have no common ancestor")
            a = base
    labels = (_label(repo, a or "HEAD", fmt), _label(repo, b, fmt) if b else "working")
    commit_a = repo.resolve(a) if a else repo.head()
    commit_b = repo.resolve(b) if b else None
    if a is None and b is None and repo.workdir is not None:
        root_a, labels = _working_base(repo, labels)
    else:
        root_a = commit_a.root if commit_a is not None else repo.head_root()
    root_b = commit_b.root if commit_b is not None else repo.working_root()
    d = repo.diff_roots(root_a, root_b, path)
    view = view_for(c.metadata for c in (commit_a, commit_b) if c is not None)
    _show(d, labels, fmt, full, exit_code, summary, view, all_channels)


def _pointer_suffixes(a: str | None, b: str | None, path: str) -> tuple[str | None, str | None, str]:
    """``A:/PTR`` and ``B:/PTR`` (git's REV:PATH) as the revisions and --path: one pointer for both."""
    from ..porcelain.core.revisions import split_pointer

    pointers = set()
    if a and not is_range(a):
        a, p = split_pointer(a)
        pointers.add(p)
    if b:
        b, p = split_pointer(b)
        pointers.add(p)
    pointers.discard(None)
    if path:
        pointers.add(path)
    if len(pointers) > 1:
        raise click.UsageError(f"one pointer to compare at, not {len(pointers)}: "
                               + ", ".join(sorted(map(str, pointers))))
    return a, b, (pointers.pop() or "") if pointers else ""


def _label(repo: Repository, rev: str, fmt: str) -> str:
    """A side's name: as typed, and for a markdown review with the short id of the commit too."""
    if fmt != "markdown" or (rev == "HEAD" and repo.head() is None):
        return safe(rev)
    oid = repo.rev_parse(rev)
    return oid[:10] if oid.startswith(rev.lower()) else f"{rev} ({oid[:10]})"


def _working_base(repo: Repository, labels: tuple[str, str]) -> tuple[str, tuple[str, str]]:
    """What the working file is compared with: HEAD, or, when the branch moved since the file
    was loaded, the commit it was loaded from (so its own edits show, not the commits since)."""
    from ..porcelain.worktree.checkout import working_status
    from ..porcelain.worktree.working_file import UNRECORDED

    wf = repo.working_file
    if not wf.exists() or wf.base() in (UNRECORDED, repo._ref_target("HEAD")):  # the usual case: no extra diff
        return repo.head_root(), labels
    status = working_status(repo)
    if not status.moved:
        return repo.head_root(), labels
    where = repo.current_branch or "HEAD"
    base = status.base[:10] if status.base else "no commit"
    click.echo(f"note: the working file was loaded from {base} and {safe(where)} has moved on to "
               f"{short(status.head)}: showing the file's own edits since {base} "
               "('statevcs refresh' carries them onto the new head)", err=True)
    if status.base is None:
        root, objects = write_tree({})
        repo.objects.extra.update(objects)
        return root, (base, labels[1])
    return repo.objects.commit(status.base).root, (base, labels[1])


def _show(d: Diff, labels: tuple[str, str], fmt: str, full: bool, exit_code: bool, summary: str | None = None,
          view: View | None = None, all_channels: bool = False) -> None:
    if view is not None and not all_channels:
        d = d.without(view.hidden)
    if summary is not None:
        lines = (stat_lines(d) if summary == "stat" else name_lines(d)) if d else []
        out = "".join(line + "\n" for line in lines)
    else:
        out = d.render(fmt, color=use_color(), labels=labels, full=full, summarize=view.summarize if view else None)
    click.echo(out, nl=False)
    if exit_code and d:
        sys.exit(EXIT_NEGATIVE)


def _files_as_trees(a: str, b: str) -> tuple[Repository, str, str]:
    """Two JSON files as trees of a throw-away repository in memory (no repository is opened)."""
    repo = Repository.memory()
    roots = []
    for name in (a, b):
        with open(name, "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WorkingStateError(f"{name} is not UTF-8 text") from None
        root, objects = write_tree(parse_json_text(text, name))
        repo.objects.extra.update(objects)
        roots.append(root)
    return repo, roots[0], roots[1]


COMMANDS = [diff_cmd]
