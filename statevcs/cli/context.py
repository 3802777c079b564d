"""What every command shares: the lazily opened repository, colour, JSON output, exit codes."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from ..porcelain.repo import Repository

#: Exit codes (documented in docs/cli.md).
EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3

JSON_VERSION = 1


@dataclass
class AppContext:
    """Opened once per invocation; the repository only when a command asks for it."""

    location: str = "."
    _repo: Repository | None = field(default=None, repr=False)

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = Repository.open(self.location)
        return self._repo

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def pass_app(f: Any) -> Any:
    return click.pass_obj(f)


def short(oid: str | None) -> str:
    return oid[:10] if oid else "-"


def styled(text: str, **style: Any) -> str:
    return click.style(text, **style) if use_color() else text
