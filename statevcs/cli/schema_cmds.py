"""schema: the JSON Schema every commit must satisfy (docs/rules.md)."""

from __future__ import annotations

import click

from ..errors import InvalidRulesError
from ..model.canonical import loads
from .context import AppContext, CommandFamily, echo_json, pass_app, safe

_BRANCH_HELP = "Only for this branch (it takes the place of the repository's schema there)."


@click.group(cls=CommandFamily)
def schema() -> None:
    """Set, show or unset the JSON Schema that every commit's state must satisfy (on one
    branch, or on all). A commit, merge, update, restore, revert or cherry-pick whose state
    breaks it is refused with the pointer and the rule, and exit code 3. Kept in the
    repository itself (refs/meta/schema), so PostgreSQL repositories have it too.

    \b
    Example:
      statevcs schema set schema.json
      statevcs schema set strict.json --branch main
      statevcs schema show --branch main
      statevcs schema unset --branch main
    """


@schema.command("set")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("-b", "--branch", default=None, metavar="BRANCH", help=_BRANCH_HELP)
@pass_app
def schema_set(app: AppContext, file: "click.utils.LazyFile", branch: str | None) -> None:
    """Store the JSON Schema in FILE (- for stdin). Existing commits are not re-checked.

    \b
    Example:
      statevcs schema set schema.json
    """
    try:
        value = loads(file.read())
    except ValueError as exc:  # not JSON, or nested too deep to parse
        raise InvalidRulesError(f"{file.name} is not valid JSON: {exc}") from None
    app.repo.set_schema(value, branch)
    click.echo(f"Schema set for {'branch ' + safe(branch) if branch else 'the repository'}")


@schema.command("show")
@click.option("-b", "--branch", default=None, metavar="BRANCH", help="The schema commits on BRANCH are checked against.")
@pass_app
def schema_show(app: AppContext, branch: str | None) -> None:
    """Print the schema commits are checked against (on BRANCH, default the current one):
    the branch's own, else the repository's, else .statevcs/schema.json.

    \b
    Example:
      statevcs schema show --branch main
    """
    repo = app.repo
    name = branch or repo.current_branch
    value = repo.schema(name, effective=True)
    if value is None:
        click.echo(f"no schema: commits on {safe(name or 'HEAD')} are not checked")
        return
    echo_json(value)


@schema.command("unset")
@click.option("-b", "--branch", default=None, metavar="BRANCH", help="Drop BRANCH's own schema only.")
@pass_app
def schema_unset(app: AppContext, branch: str | None) -> None:
    """Drop the stored schema of the repository (or of BRANCH).

    \b
    Example:
      statevcs schema unset
    """
    what = f"branch {safe(branch)}" if branch else "the repository"
    if not app.repo.unset_schema(branch):
        raise click.ClickException(f"no schema is set for {what}: nothing to remove ('statevcs schema show' "
                                   "shows the one commits are checked against)")
    click.echo(f"Schema removed for {what}")


COMMANDS = [schema]
