"""Entry point: the command group, global options and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import NotARepositoryError, StateVCSError
from ..store.paths import is_url
from .context import EXIT_ERROR, EXIT_USAGE, AppContext, safe

#: git commands statevcs has no equivalent of under that name, and what to use instead.
GIT_ONLY_COMMANDS = {
    "add": "there is no staging area: 'statevcs commit' records the working file",
    "stash": "there is no stash: commit your edits on a branch ('statevcs switch -c NAME', then commit)",
    "checkout": "use 'statevcs switch BRANCH' to change branches, 'statevcs restore REV' to bring back a state",
    "rebase": "there is no rebase: 'statevcs merge' or 'statevcs cherry-pick' bring changes over",
    "rm": "'statevcs unset POINTER' removes a value from the working file",
    "config": "remotes are set with 'statevcs remote'; the repository's settings are in .statevcs/config.json",
}


class StateVCSGroup(click.Group):
    """The command group: an unknown command gets a hint only when one clearly fits."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            if name in GIT_ONLY_COMMANDS:
                raise click.UsageError(f"no command {name!r}: {GIT_ONLY_COMMANDS[name]}", ctx)
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.75)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise click.UsageError(f"no command {safe(name)!r}{hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=StateVCSGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "location", default=".", metavar="DIR_OR_URL",
              help="Run as if started in DIR (the repository is found at or above it), or use the "
                   "repository at a store URL (postgresql://HOST/DB?repo=NAME).")
@click.version_option(package_name="statevcs", prog_name="statevcs")
@click.pass_context
def cli(ctx: click.Context, location: str) -> None:
    """statevcs: git for agent state.

    Keep every version of an agent's JSON state, branch experiments, diff, tag and restore.

    \b
    Example:
      statevcs init demo && cd demo
      echo '{"agent": {"status": "idle"}}' > state.json
      statevcs commit -m "first state"
    """
    if location != "." and not is_url(location):
        # As git -C: run as if started there, so every path argument is relative to it too.
        if not os.path.isdir(location):
            raise NotARepositoryError(f"{location}: no such directory")
        os.chdir(location)
        location = "."
    ctx.obj = AppContext(location)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from . import (
        admin_cmds,
        apply_cmds,
        diff_cmds,
        git_cmds,
        history_cmds,
        maintenance_cmds,
        merge_cmds,
        ref_cmds,
        remote_cmds,
        state_cmds,
    )

    for module in (state_cmds, diff_cmds, history_cmds, ref_cmds, merge_cmds, remote_cmds, maintenance_cmds,
                   admin_cmds, git_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)
    for command in apply_cmds.COMMANDS:
        cli.add_command(command)
    from . import purge_cmds, schema_cmds

    for command in purge_cmds.COMMANDS + schema_cmds.COMMANDS:
        cli.add_command(command)
    from . import bundle_cmds, retention_cmds

    for command in retention_cmds.COMMANDS + bundle_cmds.COMMANDS:
        cli.add_command(command)
    from . import key_cmds

    for command in key_cmds.COMMANDS:
        cli.add_command(command)
    from . import mcp_cmds

    for command in mcp_cmds.COMMANDS:
        cli.add_command(command)
    from . import lg_cmds

    for command in lg_cmds.COMMANDS:
        cli.add_command(command)


_register()


def _error(message: str) -> None:
    """The one way an error reaches the user: one ``error:`` line on stderr, every control
    character in it (from a ref name, a path, a message) shown escaped."""
    click.echo(f"error: {safe(message)}", err=True)


#: Commands that take git's ``-N`` shorthand for ``-n N``.
_COUNT_SHORTHAND = {"log"}


def expand_count_shorthand(args: list[str]) -> list[str]:
    """``statevcs log -3`` as ``statevcs log --max-count=3`` (click has no numeric options)."""
    out, i, command = [], 0, None
    while i < len(args):
        arg = args[i]
        if command is None:
            if arg == "-C" and i + 1 < len(args):
                out += [arg, args[i + 1]]
                i += 2
                continue
            if not arg.startswith("-"):
                command = arg
        elif command in _COUNT_SHORTHAND:
            if arg == "--":
                return out + args[i:]
            if len(arg) > 1 and arg[0] == "-" and arg[1:].isdigit():
                arg = f"--max-count={int(arg[1:])}"
        out.append(arg)
        i += 1
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: ``error: ...`` on stderr and exit 2 for usage errors, 3 for other failures."""
    args = expand_count_shorthand(list(sys.argv[1:] if argv is None else argv))
    for position, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 reach Python as lone surrogates
            _error(f"argument {position} ({safe(arg)}) is not UTF-8 text")
            sys.exit(EXIT_USAGE)
    try:
        code = cli.main(args=args, prog_name="statevcs", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # plain `statevcs`: the help, not an error
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli)))
        sys.exit(0)
    except click.UsageError as exc:
        hint = f" (see 'statevcs {exc.ctx.command_path.split(' ', 1)[1]} --help')" if exc.ctx and " " in exc.ctx.command_path else " (see 'statevcs --help')"
        _error(f"{exc.format_message()}{hint}")
        sys.exit(EXIT_USAGE)
    except click.Abort:
        _error("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        _error(exc.format_message())
        sys.exit(exc.exit_code if exc.exit_code != 1 else EXIT_ERROR)
    except StateVCSError as exc:
        _error(str(exc))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        _error("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (e.g. `statevcs log | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        _error(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug: say so in one line; the traceback only on request
        if os.environ.get("STATEVCS_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (set STATEVCS_DEBUG=1 for a traceback)")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
