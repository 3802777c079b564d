"""The apply command: commit an RFC 6902 JSON Patch onto a branch (git apply + commit)."""

from __future__ import annotations

import os
import sys

import click

from ..porcelain.worktree.checkout import holds_exactly, load_commit
from ..store.paths import path_text
from .context import AppContext, pass_app, safe, short
from .params import PATH


@click.command(name="apply")
@click.argument("patch_file", metavar="PATCH_FILE", type=PATH)
@click.option("-m", "--message", default=None, help="Commit message (default: 'Apply NAME' with the file's name).")
@click.option("--branch", "branch", default=None, metavar="BRANCH", help="Apply to BRANCH (default: HEAD's branch).")
@click.option("--author", default=None, help="Who made the change (default: $STATEVCS_AUTHOR or user@host).")
@pass_app
def apply(app: AppContext, patch_file: str, message: str | None, branch: str | None, author: str | None) -> None:
    """Apply a JSON Patch (RFC 6902) to the head of a branch and commit the result.

    Only the values the patch touches are read and rewritten, however big the state.
    The patch applies whole or not at all: a failing test, a missing path or a
    malformed patch is an error and the branch does not move. A working file checked
    out on that branch without edits of its own follows the new commit; one with edits
    is left as it is (status then says the branch moved).

    \b
    Example:
      echo '[{"op": "replace", "path": "/agent/status", "value": "busy"}]' > busy.json
      statevcs apply busy.json -m "agent is busy"
      statevcs diff HEAD~1 HEAD --format patch | statevcs apply - --branch experiment
    """
    text = _read(patch_file)
    repo = app.repo
    target = branch if branch is not None else repo.current_branch
    old_head = repo._ref_target(repo._branch_target_ref(branch))
    follow = target is not None and target == repo.current_branch and holds_exactly(repo, old_head)
    name = "patch from stdin" if patch_file == "-" else path_text(os.path.basename(patch_file))
    commit = repo.commit_patch(text, branch=branch, message=message if message is not None else f"Apply {name}",
                               author=author)
    if follow:  # an untouched working file on the branch follows it, as after a commit from it
        with repo.working_file.locked():
            if holds_exactly(repo, old_head):
                load_commit(repo, commit.id)
    where = safe(target) if target else "HEAD"
    click.echo(f"[{where} {short(commit.id)}] {safe(commit.summary)}")


def _read(patch_file: str) -> bytes:
    if patch_file == "-":
        return sys.stdin.buffer.read()
    with open(patch_file, "rb") as f:
        return f.read()



COMMANDS = [apply]
