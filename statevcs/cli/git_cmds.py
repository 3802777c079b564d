"""Commands for code review in git: ``statevcs git export|import|sync|map|install-driver|textconv|resolve``
and ``statevcs merge-file`` (git's merge driver protocol)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator

import click

from ..algo.conflicts import STRATEGIES
from ..model.jsontext import parse_json_text
from ..model.missing import MISSING
from .context import EXIT_NEGATIVE, AppContext, CommandFamily, echo_json, pass_app, safe
from .params import PATH


@click.group(name="git", cls=CommandFamily)
def git_group() -> None:
    """Review states in git: export history to a git repository, import it back, and set up
    git's merge and diff drivers for JSON state files.

    \b
    Example:
      statevcs git export ../review --all --split '/agents/*'
      statevcs git sync ../review
      statevcs git import ../review
      statevcs git install-driver
    """


@git_group.command(name="export")
@click.argument("target", type=PATH)
@click.option("--branch", "branches", multiple=True, metavar="B", help="Export this branch (repeatable; default HEAD's).")
@click.option("--all", "all_refs", is_flag=True, help="Export every branch and every tag.")
@click.option("--split", "split", multiple=True, metavar="PATTERN",
              help="One file per value matching this pointer pattern (e.g. '/agents/*'); repeatable. "
                   "Recorded at the first export: later exports keep it.")
@click.option("--bare", is_flag=True, help="Create a bare git repository (when TARGET does not exist yet).")
@click.option("--force", is_flag=True, help="Move git refs even when git commits would be dropped.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def export_cmd(app: AppContext, target: str, branches: tuple[str, ...], all_refs: bool, split: tuple[str, ...],
               bare: bool, force: bool, as_json: bool) -> None:
    """Write the history as git commits into TARGET (a directory, created if needed, or a git URL to push to).

    Each statevcs commit becomes one git commit (same author, time, message, parents); a
    second export writes only the new commits. The same history always gives the same git ids.

    \b
    Example:
      statevcs git export ../review --all
      statevcs git export ../review --branch main --branch experiment --split '/agents/*'
      statevcs git export git@example.com:team/agent-state.git --all
    """
    from ..gitbridge.export import export

    report = export(app.repo, target, list(branches) or None, all_refs, list(split) if split else None, bare, force)
    if as_json:
        echo_json({"version": 1, "target": report.target, "written": report.written, "refs": report.refs,
                   "split": list(report.layout.split)})
        return
    click.echo(f"Exported {report.written} new commit(s) to {safe(target)}")
    for ref, oid in sorted(report.refs.items()):
        click.echo(f"  {safe(ref)} -> {oid[:10]}")


@git_group.command(name="import")
@click.argument("source", type=PATH)
@click.option("--branch", "branches", multiple=True, metavar="B", help="Import this branch (repeatable; default all).")
@click.option("--force", is_flag=True,
              help="Move branches, tags and git/BRANCH even when statevcs commits would be dropped.")
@pass_app
def import_cmd(app: AppContext, source: str, branches: tuple[str, ...], force: bool) -> None:
    """Read a git repository written by 'statevcs git export' (and perhaps edited in git) into this repository.

    Exporting then importing gives the same statevcs commits: same state root ids, same ids, same graph.

    \b
    Example:
      statevcs init copy && cd copy
      statevcs git import ../review
    """
    from ..gitbridge.import_ import import_git

    repo = app.repo
    with _working_file_follows(repo):
        report = import_git(repo, source, list(branches) or None, force)
    click.echo(f"Imported {report.commits} commit(s) from {safe(source)}")
    for ref, oid in sorted(report.refs.items()):
        click.echo(f"  {safe(ref)} -> {oid[:10]}")
    for ref, tracking in sorted(report.diverged.items()):
        name, seen = ref[len("refs/heads/"):], tracking[len("refs/remotes/"):]
        click.echo(f"{safe(name)} has moved on both sides: git's is {safe(seen)}. Merge it "
                   f"('statevcs merge {safe(seen)}'), then export ('statevcs git export {safe(source)}'); "
                   f"'statevcs git sync {safe(source)} --branch {safe(name)}' does both.")


@contextmanager
def _working_file_follows(repo: Any) -> Iterator[None]:
    """A working file holding exactly its branch's head (or the empty state of an unborn
    branch) follows the branch when the block moves it; one with edits is left alone."""
    from ..porcelain.worktree.checkout import holds_exactly, load_head

    before = repo._ref_target("HEAD") if repo.workdir else None
    follow = repo.workdir is not None and (before is None or holds_exactly(repo, before))
    yield
    if follow and repo._ref_target("HEAD") not in (None, before):
        with repo.working_file.locked():
            load_head(repo)


@git_group.command(name="sync")
@click.argument("target", type=PATH)
@click.option("--branch", "branch", default=None, metavar="B", help="The branch to sync (default: HEAD's).")
@click.option("--strategy", type=click.Choice(STRATEGIES), default=None,
              help="When both sides changed a value: merge (the default) stops with conflicts to resolve; "
                   "source_wins takes git's, target_wins keeps the branch's.")
@click.option("-X", "--strategy-option", "side", type=click.Choice(["ours", "theirs"]), default=None,
              help="git's -X: ours keeps the branch's side, theirs takes git's.")
@click.option("-m", "--message", default=None, help="Message of the merge commit (when both sides moved).")
@pass_app
def sync_cmd(app: AppContext, target: str, branch: str | None, strategy: str | None, side: str | None,
             message: str | None) -> None:
    """Round trip a branch through the git repository it is reviewed in, with no force push.

    The reviewer's commits come back, are merged, and the branch is exported on top, so the
    git branch fast-forwards. git's branch is imported as git/BRANCH (and into BRANCH when only git moved). When both
    moved, git/BRANCH is merged into BRANCH as 'statevcs merge' does: with conflicts it exits 1
    and leaves them to resolve ('statevcs resolve', 'statevcs merge --continue'); run sync
    again then. Last, BRANCH is exported on top of git's commits: they stay in its history.

    \b
    Example:
      statevcs git sync ../review
      statevcs git sync git@example.com:team/agent-state.git --branch experiment -X theirs
    """
    from ..gitbridge.review import sync
    from ..porcelain.worktree.merge_state import refuse_during_merge
    from .helpers import require_clean, strategy_of

    chosen = strategy_of(strategy, side)
    repo = app.repo
    refuse_during_merge(repo.meta_dir, "syncing")
    name = branch or repo.current_branch
    if name is None:
        raise click.UsageError("HEAD is detached: name the branch with --branch B")
    current = repo.workdir is not None and repo.current_branch == name
    if current:
        require_clean(repo, False, "syncing", can_force=False)
    ctx = click.get_current_context()

    said = []

    def imported(report: Any) -> None:
        if report is not None and report.commits and not said:
            click.echo(f"Imported {report.commits} commit(s) from {safe(target)}")
        said.append(True)

    def merge(source: str, into: str, report: Any) -> None:
        imported(report)
        command = ctx.find_root().command.get_command(ctx, "merge")  # type: ignore[attr-defined]
        try:
            ctx.invoke(command, source=source, into=None if current else into, strategy=chosen,
                       message=message or f"Merge {source} into {into}")
        except SystemExit as exc:
            if exc.code == EXIT_NEGATIVE and current:
                click.echo(f"When the merge is committed, 'statevcs git sync {safe(target)}' exports it.", err=True)
            raise

    with _working_file_follows(repo) if current else nullcontext():
        report = sync(repo, target, name, chosen, message, merge=merge)
    imported(report.imported)
    exported = report.exported
    click.echo(f"Exported {exported.written} new commit(s) to {safe(target)}")
    for ref, oid in sorted(exported.refs.items()):
        click.echo(f"  {safe(ref)} -> {oid[:10]}")


@git_group.command(name="map")
@click.argument("target", type=PATH)
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@pass_app
def map_cmd(app: AppContext, target: str, ids: tuple[str, ...], as_json: bool) -> None:
    """Map commit ids between statevcs and the git repository TARGET, both ways.

    Each ID is a statevcs revision (main~1, a short id) or a git commit id (or 4 digits of it
    or more); each line prints the statevcs id, then the git id. Without an ID, every commit
    exported to (or imported from) TARGET. An exported git commit's message also names its
    statevcs commit in a 'Statevcs-Id:' trailer.

    \b
    Example:
      statevcs git map ../review HEAD
      statevcs git map ../review 1a2b3c4
    """
    from ..gitbridge.review import lookup

    pairs = lookup(app.repo, target, list(ids))
    if as_json:
        echo_json({"version": 1, "target": target, "commits": [{"statevcs": p.statevcs, "git": p.git} for p in pairs]})
        return
    for pair in pairs:
        click.echo(f"{pair.statevcs} {pair.git}")


@git_group.command(name="install-driver")
@click.option("--global", "global_", is_flag=True, help="Set the drivers up for every repository of this user.")
@click.option("--pattern", "patterns", multiple=True, metavar="PATTERN",
              help="Which files are JSON states, as a .gitattributes pattern (repeatable; default: "
                   "state.json and *.state.json).")
@click.option("--command", "command", default=None, metavar="CMD",
              help="How git runs statevcs (default: this Python with -m statevcs).")
def install_driver_cmd(global_: bool, patterns: tuple[str, ...], command: str | None) -> None:
    """Configure git to merge (merge=statevcs) and diff (diff=statevcs) JSON state files with statevcs.

    Writes merge.statevcs.*, diff.statevcs.textconv and diff.statevcs.cachetextconv into the
    git config and a line 'PATTERN merge=statevcs diff=statevcs' per pattern into
    .gitattributes (or the global attributes file), then names the tracked files the drivers
    apply to, with a warning when there is none.

    \b
    Example:
      cd my-project && statevcs git install-driver
      statevcs git install-driver --pattern 'agents/*.json'
    """
    from ..gitbridge.driver import DEFAULT_PATTERNS, install_driver

    chosen = patterns or DEFAULT_PATTERNS
    done = install_driver(os.getcwd(), chosen, global_, command)
    for key, value in done.entries:
        click.echo(f"git config {'--global ' if global_ else ''}{key} {safe(value)!r}")
    for pattern, added in done.lines.items():
        click.echo(f"{'added to' if added else 'already in'} {safe(done.attributes)}: {safe(pattern)} "
                   "merge=statevcs diff=statevcs")
    if done.matched is None:
        return
    if done.matched:
        shown = ", ".join(safe(p) for p in done.matched[:10]) + (" ..." if len(done.matched) > 10 else "")
        click.echo(f"the drivers apply to {len(done.matched)} tracked file(s): {shown}")
    else:
        click.echo(f"warning: no tracked file matches {' or '.join(safe(p) for p in chosen)} yet; the drivers "
                   "apply to matching files once they are committed (or name yours with --pattern)", err=True)


@git_group.command(name="textconv")
@click.argument("file", type=click.Path(dir_okay=False))
def textconv_cmd(file: str) -> None:
    """Print a JSON state file as canonical pretty JSON (sorted keys): git's diff.statevcs.textconv.

    \b
    Example:
      statevcs git textconv agents.state.json
    """
    from ..gitbridge.textconv import textconv

    sys.stdout.buffer.write(textconv(file))
    sys.stdout.flush()


@git_group.command(name="resolve")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("pointer")
@click.option("--ours", "side", flag_value="ours", help="Keep ours (the branch merged into).")
@click.option("--theirs", "side", flag_value="theirs", help="Take theirs (the branch merged in).")
@click.option("--both", "side", flag_value="both", help="Array conflicts: keep ours' items, then theirs'.")
@click.option("--base", "side", flag_value="base", help="Go back to the common ancestor's value.")
@click.option("--delete", "side", flag_value="delete", help="Remove the value.")
@click.option("--value", "value", default=None, metavar="JSON", help="Use this JSON value.")
@click.option("--attributes", "attributes", default=None, type=click.Path(dir_okay=False),
              help="Merge policies file (default: .statevcs-attributes at or above the file).")
def resolve_cmd(file: str, pointer: str, side: str | None, value: str | None, attributes: str | None) -> None:
    """Settle a {"$conflict": ...} marker that 'statevcs merge-file' left in FILE during a git merge.

    Then 'git add FILE' once no marker is left, as with any conflict.

    \b
    Example:
      statevcs git resolve agents.state.json /agents/alice/status --theirs
      statevcs git resolve agents.state.json /budget --value 75
    """
    from ..gitbridge.driver import find_attributes, load_policies, resolve_file

    if (side is None) == (value is None):
        raise click.UsageError("give exactly one of --ours, --theirs, --both, --base, --delete, --value JSON")
    chosen = parse_json_text(value, "--value") if value is not None else MISSING
    policies = load_policies(attributes or find_attributes(os.path.dirname(os.path.abspath(file))))
    left = resolve_file(file, pointer, None if side in (None, "delete") else side, chosen, side == "delete", policies)
    click.echo(f"Resolved {safe(pointer or '/')}" + (f"; {len(left)} conflict(s) left" if left else
                                                 f"; no conflicts left: 'git add {safe(file)}'"))


@click.command(name="merge-file")
@click.argument("current", type=click.Path(dir_okay=False))
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("other", type=click.Path(dir_okay=False))
@click.option("--strategy", type=click.Choice(STRATEGIES), default="merge", show_default=True,
              help="Overlapping changes: conflicts (merge), take OTHER (source_wins), keep CURRENT (target_wins).")
@click.option("--path-name", "path_name", default=None, metavar="P", help="The file's path in the repository (git's %P).")
@click.option("--attributes", "attributes", default=None, type=click.Path(dir_okay=False),
              help="Merge policies file (default: .statevcs-attributes here or above, up to the git work tree's top).")
def merge_file_cmd(current: str, base: str, other: str, strategy: str, path_name: str | None,
                   attributes: str | None) -> None:
    """Three-way merge of JSON state files, as git's merge driver (%A %O %B %P): the result goes to CURRENT.

    Exit 0 when clean. With conflicts, exit 1 and CURRENT holds the merge with each conflict
    written in place as {"$conflict": {"kind", "base", "ours", "theirs"}}: settle them with
    'statevcs git resolve' or an editor, then 'git add'. A side that is not JSON is refused
    (exit 3, CURRENT untouched).

    \b
    Example:
      statevcs merge-file ours.json base.json theirs.json
      git config merge.statevcs.driver 'statevcs merge-file %A %O %B --path-name %P'
    """
    from ..gitbridge.driver import find_attributes, load_policies, merge_file

    policies = load_policies(attributes or find_attributes(os.getcwd()))
    name = path_name or current
    outcome = merge_file(current, base, other, strategy, name, policies)
    if not outcome.clean:
        click.echo(f"CONFLICT (statevcs): {len(outcome.conflicts)} conflict(s) in {safe(name)}:", err=True)
        for conflict in outcome.conflicts:
            click.echo(f"  {safe(conflict.path or '/')} ({conflict.kind})", err=True)
        click.echo(f"Settle them with 'statevcs git resolve {safe(name)} POINTER --ours|--theirs|--value JSON' "
                   "(or edit the $conflict markers), then 'git add'.", err=True)
        sys.exit(EXIT_NEGATIVE)


COMMANDS = [git_group, merge_file_cmd]
