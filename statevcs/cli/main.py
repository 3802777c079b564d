"""Entry point: the command group, global options and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import NotARepositoryError, StateVCSError
from ..store.paths import is_url
from ..version import __version__
from .context import EXIT_ERROR, EXIT_USAGE, AppContext, safe
from .params import PATH, require_utf8_text

#: git commands statevcs has no equivalent of under that name, and what to use instead.
GIT_ONLY_COMMANDS = {
    "add": "there is no staging area: 'statevcs commit' records the working file",
    "stash": "there is no stash: commit your edits on a branch ('statevcs switch -c NAME', then commit)",
    "checkout": "use 'statevcs switch BRANCH' to change branches, 'statevcs restore REV' to bring back a state",
    "rebase": "there is no rebase: 'statevcs merge' or 'statevcs cherry-pick' bring changes over",
    "rm": "'statevcs unset POINTER' removes a value from the working file",
    "config": "remotes are set with 'statevcs remote'; the repository's settings are in .statevcs/config.json",
    "blame": "'statevcs log --path POINTER' lists the commits that changed a value (-p shows how)",
    "annotate": "'statevcs log --path POINTER' lists the commits that changed a value (-p shows how)",
}

#: git options statevcs has no namesake of, per command ("*": any command), and what to use.
GIT_ONLY_OPTIONS: dict[tuple[str, str], str] = {
    ("commit", "-a"): "there is no staging area: 'statevcs commit' records the whole working file",
    ("commit", "--all"): "there is no staging area: 'statevcs commit' records the whole working file",
    ("commit", "--amend"): "commits are immutable: 'statevcs reset --soft HEAD~1', then commit again",
    ("diff", "--cached"): "there is no staging area: 'statevcs diff' shows the working file's changes",
    ("diff", "--staged"): "there is no staging area: 'statevcs diff' shows the working file's changes",
    ("diff", "--name-status"): "use --name-only (pointers) or --stat (pointers and what happened to each)",
    ("show", "--name-status"): "use --name-only (pointers) or --stat (pointers and what happened to each)",
    ("log", "--pretty"): "use --oneline, or --json for every field",
    ("log", "--name-only"): "use --stat: the pointers each commit changed",
    ("tag", "-a"): "a tag is annotated when it has a message: 'statevcs tag NAME -m MSG'",
    ("switch", "-C"): "'statevcs branch -f NAME REV' moves a branch, then 'statevcs switch NAME'",
    ("branch", "-a"): "remote-tracking branches are REMOTE/BRANCH revisions ('statevcs log --all' shows them)",
    ("branch", "--all"): "remote-tracking branches are REMOTE/BRANCH revisions ('statevcs log --all' shows them)",
    ("merge", "--squash"): "use 'statevcs merge --path PTR' to take part of a branch, or 'statevcs cherry-pick REV'",
    ("merge", "--no-edit"): "merges never open an editor: the message is 'Merge SOURCE into BRANCH' unless -m",
    ("status", "-b"): "'statevcs status' always names the branch",
}


#: Every command: name -> (module under statevcs.cli, attribute). A command's module is
#: imported only when the command runs (or help lists it), so start-up stays small.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("maintenance_cmds", "init"),
    "clone": ("remote_cmds", "clone"),
    "status": ("state_cmds", "status"),
    "cat": ("state_cmds", "cat"),
    "get": ("state_cmds", "get"),
    "set": ("state_cmds", "set_"),
    "unset": ("state_cmds", "unset"),
    "commit": ("state_cmds", "commit"),
    "apply": ("apply_cmds", "apply"),
    "refresh": ("state_cmds", "refresh_cmd"),
    "log": ("history_cmds", "log"),
    "show": ("history_cmds", "show"),
    "diff": ("diff_cmds", "diff_cmd"),
    "reflog": ("history_cmds", "reflog"),
    "merge-base": ("merge_cmds", "merge_base"),
    "branch": ("ref_cmds", "branch"),
    "switch": ("ref_cmds", "switch"),
    "tag": ("ref_cmds", "tag"),
    "merge": ("merge_cmds", "merge"),
    "conflicts": ("merge_cmds", "conflicts"),
    "resolve": ("merge_cmds", "resolve"),
    "cherry-pick": ("merge_cmds", "cherry_pick"),
    "revert": ("merge_cmds", "revert"),
    "restore": ("ref_cmds", "restore"),
    "reset": ("ref_cmds", "reset"),
    "remote": ("remote_cmds", "remote"),
    "fetch": ("remote_cmds", "fetch"),
    "pull": ("remote_cmds", "pull"),
    "push": ("remote_cmds", "push"),
    "watch": ("remote_cmds", "watch"),
    "bundle": ("bundle_cmds", "bundle"),
    "git": ("git_cmds", "git_group"),
    "merge-file": ("git_cmds", "merge_file_cmd"),
    "mcp": ("mcp_cmds", "mcp"),
    "lg": ("lg_cmds", "lg"),
    "gc": ("maintenance_cmds", "gc"),
    "fsck": ("maintenance_cmds", "fsck"),
    "stats": ("retention_cmds", "stats"),
    "prune": ("retention_cmds", "prune"),
    "reflog-expire": ("maintenance_cmds", "reflog_expire"),
    "purge": ("purge_cmds", "purge"),
    "schema": ("schema_cmds", "schema"),
    "keygen": ("key_cmds", "keygen"),
    "completion": ("admin_cmds", "completion"),
    "destroy": ("admin_cmds", "destroy"),
}

#: How ``statevcs --help`` groups the commands, by task (as git's help does).
SECTIONS: list[tuple[str, list[str]]] = [
    ("Start a repository", ["init", "clone"]),
    ("Work on the state", ["status", "cat", "get", "set", "unset", "commit", "apply", "refresh"]),
    ("Look at history", ["log", "show", "diff", "reflog", "merge-base"]),
    ("Branches and merging", ["branch", "switch", "tag", "merge", "conflicts", "resolve", "cherry-pick", "revert",
                              "restore", "reset"]),
    ("Share with other repositories", ["remote", "fetch", "pull", "push", "watch", "bundle"]),
    ("Review in git", ["git", "merge-file"]),
    ("Let agents version their own state", ["mcp", "lg"]),
    ("Look after a repository", ["gc", "fsck", "stats", "prune", "reflog-expire", "purge", "schema", "keygen",
                                 "completion", "destroy"]),
]


class StateVCSGroup(click.Group):
    """The command group: commands load on first use, help lists them by task, and an
    unknown command gets a hint only when one clearly fits."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *sorted(self.commands)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        import importlib

        command = getattr(importlib.import_module(f"{__package__}.{entry[0]}"), entry[1])
        require_utf8_text(command)  # every plain string parameter is text; paths are declared PATH
        self.commands[name] = command
        return command  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands by task, each with the first sentence of its help (never cut short)."""
        listed = [name for _, names in SECTIONS for name in names]
        sections = SECTIONS + [("Other commands", [n for n in self.list_commands(ctx) if n not in listed])]
        for title, names in sections:
            rows = []
            for name in names:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=1000)))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

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
@click.option("-C", "location", default=".", metavar="DIR_OR_URL", type=PATH,
              help="Run as if started in DIR (the repository is found at or above it), or use the "
                   "repository at a store URL (postgresql://HOST/DB?repo=NAME).")
@click.version_option(__version__, prog_name="statevcs")
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


def _see_help(exc: click.UsageError) -> str:
    path = exc.ctx.command_path if exc.ctx else ""
    return f" (see 'statevcs {path.split(' ', 1)[1]} --help')" if " " in path else " (see 'statevcs --help')"


def _unknown_option(exc: click.NoSuchOption) -> str:
    """An unknown option, with what to use instead: git's options that have another name here
    are answered from GIT_ONLY_OPTIONS; otherwise a near miss only when one is really close."""
    import difflib

    option = exc.option_name
    command = exc.ctx.command.name if exc.ctx and exc.ctx.command else ""
    said = f"no such option {safe(option)!r}"
    hint = GIT_ONLY_OPTIONS.get((command or "", option)) or GIT_ONLY_OPTIONS.get(("*", option))
    if hint:
        return f"{said}: {hint}"
    names = [n for p in (exc.ctx.command.params if exc.ctx else []) for n in getattr(p, "opts", []) +
             getattr(p, "secondary_opts", []) if n.startswith("--")]
    close = difflib.get_close_matches(option, names, n=1, cutoff=0.75) if option.startswith("--") else []
    return f"{said}; did you mean {close[0]!r}?" if close else said


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: ``error: ...`` on stderr and exit 2 for usage errors, 3 for other failures."""
    # Arguments that are not UTF-8 reach Python with lone surrogates (PEP 383): fine in a
    # path, refused (exit 2) in text by the parameter types (params.py).
    args = expand_count_shorthand(list(sys.argv[1:] if argv is None else argv))
    try:
        code = cli.main(args=args, prog_name="statevcs", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # plain `statevcs`: the help, not an error
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli)))
        sys.exit(0)
    except click.NoSuchOption as exc:
        _error(f"{_unknown_option(exc)}{_see_help(exc)}")
        sys.exit(EXIT_USAGE)
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
