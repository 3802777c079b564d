"""What every command shares: the lazily opened repository, colour, safe output, the pager, exit codes."""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from ..porcelain.presentation.escaping import json_text, terminal_text

if TYPE_CHECKING:
    import subprocess

    from ..porcelain.repository.facade import Repository

#: Exit codes (documented in docs/cli.md).
EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

JSON_VERSION = 1

#: The pager when neither STATEVCS_PAGER nor PAGER is set (git's default).
DEFAULT_PAGER = "less -FRX"


class AppContext:
    """Opened once per invocation; the repository only when a command asks for it."""

    __slots__ = ("_repo", "location")

    def __init__(self, location: str = ".") -> None:
        self.location = location
        self._repo: Repository | None = None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            from ..porcelain.repository.facade import Repository

            self._repo = Repository.open(self.location)
        return self._repo

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()


def safe(text: object, multiline: bool = False) -> str:
    """Text from a state, a commit, a ref or a remote, made inert for a terminal.

    The one helper every human-readable output goes through: C0/C1 control characters
    (ESC, CSI, BEL, CR, ...) show escaped (``\\x1b``), so a message cannot retitle or clear
    the terminal. Tabs stay; newlines stay only with ``multiline``.
    """
    return terminal_text(str(text), multiline=multiline)


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def echo_json(value: Any) -> None:
    """Exact JSON, with every control character (C1 included) written as an escape."""
    click.echo(json_text(value))


class CommandFamily(click.Group):
    """A command with subcommands (``statevcs git``, ``bundle``, ``schema``) whose help lists
    each subcommand with the whole first sentence of its help, never cut with "..."."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, command.get_short_help_str(limit=1000)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def pass_app(f: Any) -> Any:
    return click.pass_obj(f)


def holding_working_lock(f: Any) -> Any:
    """Run a command that checks the working file and later rewrites it (switch, merge, ...)
    under the working file's lock throughout, so an edit made in between is never overwritten."""
    import functools

    @functools.wraps(f)
    def run(app: AppContext, *args: Any, **kwargs: Any) -> Any:
        repo = app.repo
        if repo.workdir is None:
            return f(app, *args, **kwargs)
        with repo.working_file.locked():
            return f(app, *args, **kwargs)

    return run


def short(oid: str | None) -> str:
    return safe(oid[:10]) if oid else "-"


def styled(text: str, **style: Any) -> str:
    return click.style(text, **style) if use_color() else text


# ---------------------------------------------------------------- the pager
def pager_command() -> list[str] | None:
    """The pager to run: $STATEVCS_PAGER, else $PAGER, else ``less -FRX``; None for none
    (an empty value or ``cat``)."""
    spec = os.environ.get("STATEVCS_PAGER")
    if spec is None:
        spec = os.environ.get("PAGER")
    if spec is None:
        spec = DEFAULT_PAGER
    import shlex

    try:
        argv = shlex.split(spec)
    except ValueError:
        return None
    return argv if argv and argv != ["cat"] else None


class _PagerClosed(Exception):
    """The reader quit the pager: stop producing output."""


def _start_pager(argv: list[str]) -> subprocess.Popen[bytes] | None:
    import subprocess

    env = {**os.environ}
    env.setdefault("LESS", "FRX")  # as git does: quit on one screen, keep colours
    env.setdefault("LV", "-c")
    try:
        return subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
    except OSError:  # no such program, not executable: print plainly instead
        return None


@contextmanager
def paged(enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A writer for a command's whole output: through the pager when ``enabled`` and stdout
    is a terminal, else straight to stdout (never a pager into a pipe)."""
    argv = pager_command() if enabled and sys.stdout.isatty() else None
    proc = _start_pager(argv) if argv else None
    if proc is None or proc.stdin is None:
        yield lambda text: click.echo(text, nl=False)
        return
    stream = io.TextIOWrapper(proc.stdin, encoding=sys.stdout.encoding or "utf-8", errors="replace",
                              line_buffering=False)

    def write(text: str) -> None:
        try:
            stream.write(text)
        except (BrokenPipeError, ValueError):
            raise _PagerClosed from None

    try:
        yield write
    except _PagerClosed:
        pass
    finally:
        try:
            stream.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:  # the pager handles ^C itself; wait for it to quit
                continue
