"""Entry point: the command group, global options and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys

import click

from ..errors import StateVCSError
from .context import EXIT_ERROR, EXIT_USAGE, AppContext


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    ctx.obj = AppContext(location)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from . import (
        diff_cmds,
        history_cmds,
        maintenance_cmds,
        merge_cmds,
        ref_cmds,
        remote_cmds,
        state_cmds,
    )

    for module in (state_cmds, diff_cmds, history_cmds, ref_cmds, merge_cmds, remote_cmds, maintenance_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: ``error: ...`` on stderr and exit 2 for usage errors, 3 for other failures."""
    try:
        code = cli.main(args=argv, prog_name="statevcs", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # plain `statevcs`: the help, not an error
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli)))
        sys.exit(0)
    except click.UsageError as exc:
        hint = f" (see 'statevcs {exc.ctx.command_path.split(' ', 1)[1]} --help')" if exc.ctx and " " in exc.ctx.command_path else " (see 'statevcs --help')"
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code if exc.exit_code != 1 else EXIT_ERROR)
    except StateVCSError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (e.g. `statevcs log | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        click.echo(f"error: {exc.strerror or exc}{': ' + exc.filename if exc.filename else ''}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug: say so in one line; the traceback only on request
        if os.environ.get("STATEVCS_DEBUG"):
            raise
        click.echo(f"error: internal error: {type(exc).__name__}: {exc} (set STATEVCS_DEBUG=1 for a traceback)",
                   err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
