"""Commands around a repository rather than its history: shell completion, destroy."""

from __future__ import annotations

import os
import shutil

import click

from ..errors import NotARepositoryError
from ..store.paths import DIR_NAME, is_url
from .context import AppContext, pass_app, safe
from .params import PATH

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, branch, tag and remote names).

    \b
    Example:
      statevcs completion bash > ~/.local/share/bash-completion/completions/statevcs
      eval "$(statevcs completion zsh)"          # in ~/.zshrc
      statevcs completion fish > ~/.config/fish/completions/statevcs.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # every name in SHELLS is one click knows
    root = click.get_current_context().find_root().command  # the statevcs group
    click.echo(cls(root, {}, "statevcs", "_STATEVCS_COMPLETE").source())


# ------------------------------------------------------------------ destroy
@click.command()
@click.argument("location", metavar="URL_OR_DIR", type=PATH)
@click.option("--yes", is_flag=True, help="Really delete it: every commit, branch and tag.")
@pass_app
def destroy(app: AppContext, location: str, yes: bool) -> None:
    """Delete a repository for good: a PostgreSQL one (URL with ?repo=NAME) or a directory's .statevcs.

    The working file of a directory repository is left in place. Refuses without --yes.

    \b
    Example:
      statevcs destroy "postgresql://db.internal/statevcs?repo=old-experiment" --yes
      statevcs destroy ./scratch --yes
    """
    from ..store.locate import open_store

    if is_url(location):
        if not location.startswith(("postgresql://", "postgres://")):
            raise click.UsageError(f"destroy takes a PostgreSQL URL or a directory, not {location!r}")
        store = open_store(location)  # NotARepositoryError when no such repository exists
        try:
            if not yes:
                raise click.UsageError(f"this deletes {location} and all its history; add --yes to do it")
            store.destroy()  # type: ignore[attr-defined]
        finally:
            store.close()
        click.echo(f"Destroyed {safe(location)}")
        return
    path = location if os.path.isabs(location) else os.path.join(app.location, location)
    meta = os.path.join(path, DIR_NAME)
    if not os.path.isdir(meta):
        raise NotARepositoryError(f"{path} holds no statevcs repository (no {DIR_NAME} directory there)")
    if not yes:
        raise click.UsageError(f"this deletes {meta} and all its history; add --yes to do it")
    shutil.rmtree(meta)
    click.echo(f"Destroyed {safe(meta)} (the working file is left as it was)")


COMMANDS = [completion, destroy]
