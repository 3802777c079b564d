"""The mcp command: serve the repository to AI agents over the Model Context Protocol.

The SDK (the ``mcp`` extra) is imported only when the command runs, so no other command
pays for it or needs it.
"""

from __future__ import annotations

import ipaddress

import click

from ..integrations.mcp.shaping import DEFAULT_MAX_BYTES, MIN_MAX_BYTES
from .context import AppContext, pass_app, safe

LOOPBACK = "127.0.0.1"


def parse_http(value: str) -> tuple[str, int]:
    """``PORT``, ``:PORT``, ``HOST:PORT`` or ``[IPV6]:PORT`` as (host, port); the host defaults to loopback."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "", value
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{value!r} is not [HOST:]PORT (a port is 0 to 65535)", param_hint="--http")
    return host or LOOPBACK, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command(name="mcp")
@click.option("--http", "http", default=None, metavar="[HOST:]PORT",
              help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (HOST: 127.0.0.1 unless given).")
@click.option("--read-only", "read_only", is_flag=True, help="Offer only the tools that read; refuse every write.")
@click.option("--allow-branch", "allow_branches", multiple=True, metavar="PATTERN",
              help="Write only to branches matching PATTERN (a glob: 'agent/*'); repeatable. Default: any branch.")
@click.option("--author", default=None, help="Author of the server's commits (default: mcp:CLIENT, the client's name).")
@click.option("--max-response", "max_bytes", type=click.IntRange(min=MIN_MAX_BYTES), default=DEFAULT_MAX_BYTES,
              show_default=True, metavar="BYTES",
              help="Largest answer in bytes of JSON; bigger values are paged.")
@pass_app
def mcp(app: AppContext, http: str | None, read_only: bool, allow_branches: tuple[str, ...], author: str | None,
        max_bytes: int) -> None:
    """Serve this repository to AI agents over MCP (the Model Context Protocol).

    Agents get tools to read (get, log, diff, branches, conflicts) and, unless
    --read-only, to write (commit_patch, branch, tag, merge, resolve, merge_abort,
    restore), plus resources statevcs://REV/POINTER and statevcs://log/BRANCH that
    notify subscribers when a branch moves. Every commit goes through the repository's
    rules. Stdio by default (the client starts this command); --http serves many
    clients. Needs the mcp extra: pip install "statevcs[mcp]". See docs/mcp.md.

    \b
    Example:
      statevcs -C ~/agent-state mcp
      statevcs mcp --allow-branch 'try/*' --author planner
      statevcs mcp --http 8765 --read-only
    """
    address = parse_http(http) if http is not None else None
    try:
        from ..integrations.mcp.server import serve
    except ImportError as exc:
        raise click.ClickException(f"statevcs mcp needs the mcp extra: pip install \"statevcs[mcp]\" ({exc})") from None
    repo = app.repo
    location = repo.workdir or app.location
    if address is not None and not is_loopback(address[0]):
        click.echo(f"warning: serving on {safe(address[0])}: anyone who can reach it can read this repository "
                   "(and write, without --read-only); there is no authentication", err=True)
    serve(repo, location, http=address, read_only=read_only, allow_branches=allow_branches, author=author,
          max_bytes=max_bytes,
          announce=lambda url: click.echo(f"statevcs mcp: serving {safe(location)} at {url}", err=True))


COMMANDS = [mcp]
