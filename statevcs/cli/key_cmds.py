"""Commands for encryption keys: keygen (docs/encryption.md)."""

from __future__ import annotations

import click


@click.command()
def keygen() -> None:
    """Print a new random 256-bit key (64 hex digits) for an encrypted repository.

    Keep it outside the repository: whoever holds the key and a copy of the database can
    read everything. Losing it loses the repository's contents.

    \b
    Example:
      statevcs keygen > ~/.statevcs-key && chmod 600 ~/.statevcs-key
      statevcs init --encrypt --key-file ~/.statevcs-key vault
    """
    from ..store.keys import generate_key

    click.echo(generate_key())


COMMANDS = [keygen]
