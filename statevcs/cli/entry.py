"""The console script's entry point: git's drivers (and ``--version``) go straight to their code.

git runs ``statevcs git textconv FILE`` once per file version a diff or log shows, and
``statevcs merge-file %A %O %B --path-name %P`` once per file a merge touches, so their
start-up is paid many times over. Called exactly that way, they run here without loading
the command line (click, the command table, the context); anything else, and any failure
of theirs, goes to :func:`statevcs.cli.main.main`, which runs the command again and reports
as every command does (the drivers read everything before they write, so a failure has
written nothing).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the driver a git invocation names, else the whole command line."""
    args = sys.argv[1:]
    if args == ["--version"]:  # what click's version option prints, without loading click
        from ..version import __version__

        _write_and_exit(sys.stdout.buffer, f"statevcs, version {__version__}\n".encode(), 0)
    if len(args) == 3 and args[0] == "git" and args[1] == "textconv":
        _textconv(args[2])
    elif args[:1] == ["merge-file"] and len(args) in (4, 6) and (len(args) == 4 or args[4] == "--path-name"):
        _merge_file(args[1], args[2], args[3], args[5] if len(args) == 6 else None)
    from .main import main as run

    run()


def _plain(*values: str) -> bool:
    """Arguments the full command line would take as plain values (no option, valid text)."""
    for value in values:
        if value.startswith("-"):
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # not UTF-8 bytes: the full command line decides
            return False
    return True


def _textconv(path: str) -> None:
    if not _plain(path):
        return
    try:
        from ..gitbridge.textconv import textconv

        out = textconv(path)
    except Exception:  # noqa: BLE001 - the full command line runs it again and says what failed
        return
    _write_and_exit(sys.stdout.buffer, out, 0)


def _merge_file(current: str, base: str, other: str, path_name: str | None) -> None:
    if not _plain(current, base, other, *([path_name] if path_name is not None else [])):
        return
    try:
        from ..gitbridge.driver import find_attributes, load_policies, merge_file

        policies = load_policies(find_attributes(os.getcwd()))
        name = path_name or current
        outcome = merge_file(current, base, other, "merge", name, policies)
    except Exception:  # noqa: BLE001 - nothing was written: the full command line reports it
        return
    if outcome.clean:
        sys.exit(0)
    from ..porcelain.presentation.escaping import terminal_text as safe  # what cli.context.safe does

    lines = [f"CONFLICT (statevcs): {len(outcome.conflicts)} conflict(s) in {safe(name)}:"]
    lines += [f"  {safe(conflict.path or '/')} ({conflict.kind})" for conflict in outcome.conflicts]
    lines.append(f"Settle them with 'statevcs git resolve {safe(name)} POINTER --ours|--theirs|--value JSON' "
                 "(or edit the $conflict markers), then 'git add'.")
    _write_and_exit(sys.stderr.buffer, ("\n".join(lines) + "\n").encode("utf-8", "replace"), 1)  # EXIT_NEGATIVE


def _write_and_exit(stream: object, data: bytes, code: int) -> None:
    try:
        stream.write(data)  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
    except BrokenPipeError:  # the reader went away (``| head``): not an error worth a message
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)
