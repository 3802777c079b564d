"""Commands for encryption keys: keygen (docs/encryption.md)."""

from __future__ import annotations

import click

from .context import safe
from .params import PATH


@click.command()
@click.option("-o", "--output", metavar="FILE", default=None, type=PATH,
              help="Write the key to FILE, a new file readable by you only (mode 600), instead of printing it.")
def keygen(output: str | None) -> None:
    """Print a new random 256-bit key (64 hex digits) for an encrypted repository, or write
    it to a new file with --output.

    Keep it outside the repository: whoever holds the key and a copy of the database can
    read everything. Losing it loses the repository's contents. A key file others can read
    is refused, as ssh refuses such private keys.

    \b
    Example:
      statevcs keygen --output ~/.statevcs-key
      statevcs init --encrypt --key-file ~/.statevcs-key vault
    """
    from ..store.keys import generate_key, write_key_file

    if output is None:
        click.echo(generate_key())
        return
    write_key_file(output)
    click.echo(f"Wrote a new key to {safe(output)} (mode 600: readable by you only)")


COMMANDS = [keygen]
