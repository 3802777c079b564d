"""Which command-line arguments are text and which are file system paths.

On POSIX a path is bytes: a directory named ``nonutf8_\\xff`` is legal, and Python hands
its name over with lone surrogates standing for the bytes that are not UTF-8 (PEP 383).
Paths (``PATH``) pass through as they are, as git takes them. Everything else (messages,
names, pointers, revisions, JSON) is text statevcs stores or compares: ``TEXT`` refuses it
unless it is UTF-8, as a usage error naming the option (exit 2). ``require_utf8_text``
gives every plain string parameter of every command the ``TEXT`` type, so a new option is
checked without anyone remembering to.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import click


class Utf8Text(click.types.StringParamType):
    """A string that must be UTF-8 text (no lone surrogate from undecodable bytes)."""

    name = "text"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        value = super().convert(value, param, ctx)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                self.fail(f"{ascii(value)[:80]} is not UTF-8 text (only file system paths may hold other bytes)",
                          param, ctx)
        return value


TEXT = Utf8Text()
#: A file system path (or a URL where a command says so): any bytes the system allows.
PATH = click.Path()


def require_utf8_text(command: click.Command) -> None:
    """Make every plain string parameter of ``command`` (and its subcommands) ``TEXT``."""
    for param in command.params:
        if type(param.type) is click.types.StringParamType:
            param.type = TEXT
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            require_utf8_text(sub)


def age_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check an AGE option (now, never, 2.weeks, 14d...) while parsing: a bad one is a usage
    error (exit 2), as docs/cli.md says of every bad option value."""
    from ..porcelain.upkeep.ages import parse_age

    return _parsed_or_usage_error(ctx, param, value, parse_age)


def since_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check a DATE option that also takes an age (``prune --since``) while parsing (exit 2)."""
    from ..porcelain.upkeep.retention import since_time

    return _parsed_or_usage_error(ctx, param, value, since_time)


def _parsed_or_usage_error(ctx: click.Context, param: click.Parameter, value: str | None,
                           parse: Callable[[str], object]) -> str | None:
    """``value`` unchanged if ``parse`` takes it; click's usage error (exit 2) with its message if not."""
    from ..errors import InvalidAgeError

    if value is not None:
        try:
            parse(value)
        except InvalidAgeError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


#: An argument that reads as a negative number (``-50``, ``-1.5``, ``-2e3``): a value, not an option.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class NegativeNumbersAreValues(click.Command):
    """A command whose arguments may be negative numbers, as git takes them (``set /budget -50``).

    Such an argument is a value, never an option (the command has no option of that name),
    unless it follows an option that takes a value (``--value -5``, which click reads
    already). It is handed over by ending the options just before it (``--``), which is
    safe only when no option follows it; otherwise the arguments are left as typed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            args = _end_options_at_a_number(self, args)
        return super().parse_args(ctx, args)


def _end_options_at_a_number(command: click.Command, args: list[str]) -> list[str]:
    takes_value = {name for p in command.params if isinstance(p, click.Option) and not p.is_flag
                   and not p.count for name in p.opts + p.secondary_opts}
    for i, arg in enumerate(args):
        if not _NEGATIVE_NUMBER.match(arg) or (i and args[i - 1] in takes_value):
            continue
        if any(a.startswith("-") and not _NEGATIVE_NUMBER.match(a) for a in args[i + 1:]):
            return args  # an option follows: leave it all to click
        return args[:i] + ["--"] + args[i:]
    return args
