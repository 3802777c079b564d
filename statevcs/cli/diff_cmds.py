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
from .context import EXIT_NEGATIVE, AppContext, pass_app, safe, use_color
from .helpers import complete_revision


@click.command(name="diff")
@click.argument("a", required=False, shell_complete=complete_revision)
@click.argument("b", required=False, shell_complete=complete_revision)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for people, patch for RFC 6902 JSON Patch, unified, markdown, stat.")
@click.option("--path", "path", default="", metavar="PTR", help="Only changes under this JSON Pointer.")
@click.option("--full", is_flag=True, help="Show long values whole instead of abbreviated (text, markdown).")
@click.option("--all-channels", is_flag=True,
              help="Also show what the commits' view hides (a LangGraph thread's internal channels).")
@click.option("--exit-code", is_flag=True, help="Exit 1 if there are differences, 0 if none.")
@click.option("--no-index", "no_index", is_flag=True,
              help="A and B are two JSON files, compared outside any repository (as git diff --no-index).")
@pass_app
def diff_cmd(app: AppContext, a: str | None, b: str | None, fmt: str, path: str, full: bool, all_channels: bool,
             exit_code: bool, no_index: bool) -> None:
    """Show changes: HEAD to the working file, A to the working file, or A to B.

    A..B is the same as A B; A...B shows B's changes since it forked from A. Commits an
    integration made read through its view: a LangGraph thread's messages as role, name
    or tool and a preview (--full for the JSON), its internal channels hidden.

    \b
    Example:
      statevcs diff                      # uncommitted changes
      statevcs diff main experiment
      statevcs diff main...experiment     # what experiment changed since it forked
      statevcs diff v1 HEAD --format patch | jq .
      statevcs diff v1 HEAD --path /agent/prompt --format unified
      statevcs diff main experiment --format markdown --full > review.md
      statevcs diff --no-index before.json after.json
    """
    if no_index:
        if not (a and b):
            raise click.UsageError("--no-index compares two files: statevcs diff --no-index A.json B.json")
        repo, root_a, root_b = _files_as_trees(a, b)
        _show(repo.diff_roots(root_a, root_b, path), (safe(a), safe(b)), fmt, full, exit_code)
        return
    repo = app.repo
    if a and b is None and is_range(a):  # A..B is A to B; A...B is their merge base to B
        left, right, symmetric = split_range(a)
        a, b = left, right
        if symmetric:
            base = repo.merge_base(left, right)
            if base is None:
                raise RevisionNotFoundError(f"{left} and {right} have no common ancestor")
            a = base
    commit_a = repo.resolve(a) if a else repo.head()
    commit_b = repo.resolve(b) if b else None
    root_a = commit_a.root if commit_a is not None else repo.head_root()
    root_b = commit_b.root if commit_b is not None else repo.working_root()
    d = repo.diff_roots(root_a, root_b, path)
    view = view_for(c.metadata for c in (commit_a, commit_b) if c is not None)
    _show(d, (safe(a or "HEAD"), safe(b or "working")), fmt, full, exit_code, view, all_channels)


def _show(d: Diff, labels: tuple[str, str], fmt: str, full: bool, exit_code: bool, view: View | None = None,
          all_channels: bool = False) -> None:
    if view is not None and not all_channels:
        d = d.without(view.hidden)
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
