"""Resource addresses: ``statevcs://{revision}/{pointer}`` for state, ``statevcs://log/{branch}``
for history, and which branch each one follows (its change notifications come when that
branch moves).

The pointer is the JSON Pointer without its leading ``/`` (``statevcs://main/agent/status``
is ``/agent/status`` at ``main``; ``statevcs://main`` the whole state). Parts are
percent-decoded, so a revision holding ``/`` (a branch ``try/a``) is written
``statevcs://try%2Fa/...``; in the log address everything after ``log/`` is the branch.
A branch named ``log`` is read as ``statevcs://refs%2Fheads%2Flog``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from ...errors import StateVCSError
from ...model.refnames import BRANCH_PREFIX

if TYPE_CHECKING:
    from .tools import StateTools

SCHEME = "statevcs://"
STATE_TEMPLATE = SCHEME + "{revision}/{pointer}"
LOG_TEMPLATE = SCHEME + "log/{branch}"
#: Commits a log resource shows (newest first).
LOG_LENGTH = 50
#: Branches listed as resources (two resources each); the templates reach every other.
LISTED_BRANCHES = 100
_SUFFIX = re.compile(r"[~^]|@\{")


class InvalidURIError(StateVCSError, ValueError):
    """A resource address this server does not serve."""


@dataclass(frozen=True)
class Address:
    """A parsed resource address: ``kind`` "state" (revision, pointer) or "log" (revision is the branch)."""

    kind: str
    revision: str
    pointer: str = ""


def parse(uri: str) -> Address:
    if not uri.startswith(SCHEME):
        raise InvalidURIError(f"{uri!r} is not a statevcs resource (they start with {SCHEME})")
    rest = uri[len(SCHEME):]
    if rest.startswith("log/"):
        branch = unquote(rest[len("log/"):])
        if not branch:
            raise InvalidURIError(f"{uri!r} names no branch: {LOG_TEMPLATE}")
        return Address("log", branch)
    head, _, path = rest.partition("/")
    revision = unquote(head)
    if not revision:
        raise InvalidURIError(f"{uri!r} names no revision: {STATE_TEMPLATE}")
    return Address("state", revision, "/" + unquote(path) if path else "")


def state_uri(revision: str, pointer: str = "") -> str:
    return SCHEME + quote(revision, safe="~^@{}") + quote(pointer, safe="/~")


def log_uri(branch: str) -> str:
    return SCHEME + "log/" + quote(branch, safe="/")


def followed_branch(address: Address, head_branch: str | None) -> str | None:
    """The branch whose moves change what ``address`` shows (None for a tag or a commit id:
    such a resource never changes; the caller checks the name is a branch)."""
    if address.kind == "log":
        return address.revision
    base = _SUFFIX.split(address.revision, 1)[0]
    if base in ("HEAD", "@", ""):
        return head_branch
    return base[len(BRANCH_PREFIX):] if base.startswith(BRANCH_PREFIX) else base


def read(tools: "StateTools", uri: str) -> str:
    """The JSON text of a resource: a state's value (or, too big for one answer, the first
    page of it, as the ``get`` tool returns), or a branch's newest commits."""
    address = parse(uri)
    if address.kind == "log":
        return _compact(tools.tool_log(address.revision, limit=LOG_LENGTH))
    result = tools.tool_get(address.revision, address.pointer)
    return _compact(result["value"] if "value" in result else result)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def listing(tools: "StateTools") -> list[dict[str, Any]]:
    """The state and the history of each branch (the first LISTED_BRANCHES of them)."""
    out = []
    for name in sorted(tools.repo.branches)[:LISTED_BRANCHES]:
        out.append({"uri": state_uri(name), "name": f"{name} state",
                    "description": f"The state at the head of branch {name} (JSON)."})
        out.append({"uri": log_uri(name), "name": f"{name} history",
                    "description": f"The newest {LOG_LENGTH} commits of branch {name} (JSON)."})
    return out


TEMPLATES = (
    {"uri_template": STATE_TEMPLATE, "name": "state",
     "description": "The state at a revision (branch, tag, HEAD, commit id, main~1), or the value at a JSON "
                    "Pointer in it written without its leading slash: statevcs://main/agent/status. A "
                    "revision holding '/' is percent-encoded (try%2Fa). Too big for one answer: the first "
                    "page, as the get tool returns it. Subscribing to a branch's resource notifies each move."},
    {"uri_template": LOG_TEMPLATE, "name": "history",
     "description": f"The newest {LOG_LENGTH} commits of a branch, newest first: {{revision, commits: [{{id, "
                    "message, author, timestamp, parents}]}. Subscribing notifies each move of the branch."},
)


__all__ = ["Address", "InvalidURIError", "LOG_TEMPLATE", "STATE_TEMPLATE", "TEMPLATES", "followed_branch",
           "listing", "log_uri", "parse", "read", "state_uri"]
