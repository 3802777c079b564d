"""git's merge and diff drivers for JSON state files kept in ordinary git repositories.

``merge_file`` follows git's merge driver protocol (``%A %O %B``): the three-way merge of
statevcs (statevcs.merge3: objects key-wise, arrays with diff3, per-path policies), the
result written over CURRENT. Conflicts are written in place as the ``{"$conflict": ...}``
markers a statevcs merge leaves in its working file, so the file stays JSON and
``resolve_file`` (``statevcs git resolve``) or an editor settles them. A side that is not
JSON is refused: nothing is written and git reports the file as conflicted.

git runs ``merge-file`` once per conflicting file, so this module loads what a merge needs
and nothing else (``install_driver`` imports subprocess when it runs).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from ..algo.merge import Conflict, Side, merge_values, resolve_conflict
from ..algo.policies import parse_attributes
from ..errors import GitBridgeError, InvalidAttributesError, InvalidPointerError, PathNotFoundError, WorkingStateError
from ..model.jsontext import dump_pretty, parse_json_text
from ..model.missing import MISSING
from ..porcelain.worktree.merge_state import MARKER, MergeState, find_markers, is_marker, marker
from ..porcelain.worktree.working_file import set_at, unset_at, write_file_atomically

ATTRIBUTES_FILE = ".statevcs-attributes"
DRIVER = "statevcs"
#: What install-driver covers by default: the working file's name and ``*.state.json``.
DEFAULT_PATTERNS = ("state.json", "*.state.json")


@dataclass(frozen=True)
class FileMerge:
    """The outcome of merging one file: the conflicts written as markers (none: clean)."""

    conflicts: tuple[Conflict, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def read_side(path: str, role: str, name: str, allow_empty: bool = False) -> Any:
    """One side's JSON (MISSING for an empty base: the file was added on both sides)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise GitBridgeError(f"cannot read {role} ({path}): {exc.strerror}") from None
    if allow_empty and not data.strip():
        return MISSING
    try:
        return parse_json_text(data.decode("utf-8"), f"{role} of {name}")
    except UnicodeDecodeError:
        raise WorkingStateError(f"{role} of {name} is not UTF-8 text") from None


def find_attributes(start: str) -> str | None:
    """``.statevcs-attributes`` in ``start`` or the nearest directory above it, up to the git work tree's top."""
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, ATTRIBUTES_FILE)
        if os.path.isfile(candidate):
            return candidate
        if os.path.exists(os.path.join(here, ".git")) or os.path.dirname(here) == here:
            return None
        here = os.path.dirname(here)


def load_policies(path: str | None) -> dict[str, str]:
    """Policies from an attributes file (the format of .statevcs/attributes); {} without one."""
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            return parse_attributes(f.read())
    except UnicodeDecodeError:
        raise InvalidAttributesError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise InvalidAttributesError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidAttributesError(f"{path}: {exc}") from None


def merge_file(current: str, base: str, other: str, strategy: str = "merge", path_name: str | None = None,
               policies: dict[str, str] | None = None) -> FileMerge:
    """Merge ``other`` (theirs) into ``current`` (ours) from ``base``; write the result over ``current``.

    Every side is read before anything is written: a side that is not JSON raises
    WorkingStateError and ``current`` is left as it was."""
    name = path_name or os.path.basename(current)
    ours = read_side(current, "ours (%A)", name)
    theirs = read_side(other, "theirs (%B)", name)
    ancestor = read_side(base, "base (%O)", name, allow_empty=True)
    for pointer in find_markers(ours):
        raise WorkingStateError(f"ours (%A) of {name} still has a conflict at {pointer or '/'}: resolve it first")
    if ancestor is MISSING:  # added on both sides: merge from an empty container, as unrelated histories do
        ancestor = _empty_like(ours, theirs)
    document, found = merge_values(ancestor, ours, theirs, strategy, policies)
    for conflict in sorted(found, key=lambda c: -c.path.count("/")):
        document = set_at(document, conflict.path, marker(MergeState.conflict_json(conflict)))
    write_file_atomically(current, dump_pretty(document))
    return FileMerge(tuple(found))


def _empty_like(ours: Any, theirs: Any) -> Any:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {}
    if isinstance(ours, list) and isinstance(theirs, list):
        return []
    return MISSING


def resolve_file(path: str, pointer: str, side: str | None = None, value: Any = MISSING,
                 delete: bool = False, policies: dict[str, str] | None = None) -> list[str]:
    """Settle the conflict marker at ``pointer`` in a merged file (a side, a value, or delete);
    returns the pointers of the markers left."""
    document = read_side(path, "the file", path)
    current = _at(document, pointer)
    if not is_marker(current):
        left = ", ".join(p or "/" for p in list(find_markers(document))[:5]) or "none"
        raise WorkingStateError(f"no conflict at {pointer or '/'} in {path} (conflicts: {left})")
    if side is not None:
        conflict = MergeState.conflict_from_json({"path": pointer, **current[MARKER]})
        chosen = resolve_conflict(conflict, Side(side), policies)
    else:
        chosen = MISSING if delete else value
    document = unset_at(document, pointer) if chosen is MISSING else set_at(document, pointer, chosen)
    write_file_atomically(path, dump_pretty(document))
    return list(find_markers(document))


def _at(document: Any, pointer: str) -> Any:
    from ..model.pointer import resolve

    try:
        return resolve(document, pointer)
    except (PathNotFoundError, InvalidPointerError):
        return None


def default_command() -> str:
    """How git should run statevcs: this interpreter with ``-m statevcs`` (works in any virtualenv)."""
    import shlex

    return f"{shlex.quote(sys.executable)} -m statevcs"


def driver_config(command: str) -> list[tuple[str, str]]:
    """The git config entries of the merge and diff drivers (git caches the diff driver's
    output per blob, so ``git log -p`` runs it once per file version, not at every log)."""
    return [
        (f"merge.{DRIVER}.name", "statevcs: three-way merge of JSON state"),
        (f"merge.{DRIVER}.driver", f"{command} merge-file %A %O %B --path-name %P"),
        (f"diff.{DRIVER}.textconv", f"{command} git textconv"),
        (f"diff.{DRIVER}.cachetextconv", "true"),
    ]


def attributes_line(pattern: str) -> str:
    return f"{pattern} merge={DRIVER} diff={DRIVER}"


@dataclass(frozen=True)
class DriverSetup:
    """What install-driver did: the config entries, the attributes file and the lines added
    to it (per pattern: True if added, False if already there), and the tracked files the
    drivers now apply to (None outside a git work tree)."""

    entries: list[tuple[str, str]]
    attributes: str
    lines: dict[str, bool]
    matched: list[str] | None


def install_driver(cwd: str, patterns: str | tuple[str, ...] | list[str] = DEFAULT_PATTERNS, global_: bool = False,
                   command: str | None = None) -> DriverSetup:
    """Write the git config lines (repository or ``--global``) and one attributes entry per
    pattern (``.gitattributes`` at the work tree's top, or the global attributes file), then
    ask git which tracked files the drivers apply to."""
    if isinstance(patterns, str):
        patterns = (patterns,)
    entries = driver_config(command or default_command())
    scope = ["--global"] if global_ else ["--local"]
    if global_:
        attributes = _git(cwd, "config", "--global", "--path", "--get", "core.attributesFile", check=False)
        if not attributes:
            base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
            attributes = os.path.join(base, "git", "attributes")
    else:
        top = _git(cwd, "rev-parse", "--show-toplevel", check=False)
        if not top:
            raise GitBridgeError(f"{cwd} is not in a git work tree (--global sets the driver up for every repository)")
        attributes = os.path.join(top, ".gitattributes")
    for key, value in entries:
        _git(cwd, "config", *scope, key, value)
    lines = {}
    for pattern in patterns:
        line = attributes_line(pattern)
        existing = ""
        if os.path.exists(attributes):
            with open(attributes, encoding="utf-8") as f:
                existing = f.read()
        lines[pattern] = line not in existing.splitlines()
        if lines[pattern]:
            os.makedirs(os.path.dirname(attributes) or ".", exist_ok=True)
            with open(attributes, "a", encoding="utf-8") as f:
                f.write(("" if not existing or existing.endswith("\n") else "\n") + line + "\n")
    return DriverSetup(entries, attributes, lines, driven_files(cwd))


def driven_files(cwd: str) -> list[str] | None:
    """The tracked files git now merges and diffs with the drivers (as ``git check-attr`` says:
    every attributes file counts); None outside a git work tree."""
    top = _git(cwd, "rev-parse", "--show-toplevel", check=False)
    if not top:
        return None
    tracked = _git(top, "ls-files", "-z", strip=False)
    if not tracked:
        return []
    import subprocess

    proc = subprocess.run(["git", "check-attr", "--stdin", "-z", "merge"], cwd=top, input=tracked,
                          capture_output=True, text=True)
    fields = proc.stdout.split("\0")
    return sorted(path for path, _, value in zip(fields[0::3], fields[1::3], fields[2::3]) if value == DRIVER)


def _git(cwd: str, *args: str, check: bool = True, strip: bool = True) -> str:
    import subprocess  # only install-driver runs git: merge-file, run once per file, does not load it

    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise GitBridgeError("git is not installed (the drivers are git configuration)") from None
    if check and proc.returncode != 0:
        raise GitBridgeError(f"git {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    if proc.returncode != 0:
        return ""
    return proc.stdout.strip() if strip else proc.stdout
