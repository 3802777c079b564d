"""The diff command: changes between revisions and the working file, in every format."""

from __future__ import annotations

import sys

import click

from ..errors import RevisionNotFoundError
from ..porcelain.render import FORMATS
from ..porcelain.revisions import is_range, split_range
from .admin_cmds import complete_revision
from .context import EXIT_NEGATIVE, AppContext, pass_app, safe, use_color


@click.command(name="diff")
@click.argument("a", required=False, shell_complete=complete_revision)
@click.argument("b", required=False, shell_complete=complete_revision)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for people, patch for RFC 6902 JSON Patch, unified, markdown, stat.")
@click.option("--path", "path", default="", metavar="PTR", help="Only changes under this JSON Pointer.")
@click.option("--full", is_flag=True, help="Show long values whole instead of abbreviated (text, markdown).")
@click.option("--exit-code", is_flag=True, help="Exit 1 if there are differences, 0 if none.")
@pass_app
def diff_cmd(app: AppContext, a: str | None, b: str | None, fmt: str, path: str, full: bool,
             exit_code: bool) -> None:
    """Show changes: HEAD to the working file, A to the working file, or A to B.

    A..B is the same as A B; A...B shows B's changes since it forked from A.

    \b
    Example:
      statevcs diff                      # uncommitted changes
      statevcs diff main experiment
      statevcs diff main...experiment     # what experiment changed since it forked
      statevcs diff v1 HEAD --format patch | jq .
      statevcs diff v1 HEAD --path /agent/prompt --format unified
      statevcs diff main experiment --format markdown --full > review.md
    """
    repo = app.repo
    if a and b is None and is_range(a):  # A..B is A to B; A...B is their merge base to B
        left, right, symmetric = split_range(a)
        a, b = left, right
        if symmetric:
            base = repo.merge_base(left, right)
            if base is None:
                raise RevisionNotFoundError(f"{left} and {right} have no common ancestor")
            a = base
    root_a = repo.resolve(a).root if a else repo.head_root()
    root_b = repo.resolve(b).root if b else repo.working_root()
    d = repo.diff_roots(root_a, root_b, path)
    labels = (safe(a or "HEAD"), safe(b or "working"))
    out = d.render(fmt, color=use_color(), labels=labels, full=full)
    click.echo(out, nl=False)
    if exit_code and d:
        sys.exit(EXIT_NEGATIVE)


COMMANDS = [diff_cmd]
