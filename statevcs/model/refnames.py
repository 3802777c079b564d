"""Ref names: git's check-ref-format rules and the refs/ namespaces."""

from __future__ import annotations

from ..errors import InvalidRefNameError

HEAD = "HEAD"
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
REMOTE_PREFIX = "refs/remotes/"

_FORBIDDEN = set(" ~^:?*[\\")


def check_name(name: str, what: str = "ref name") -> str:
    """Return ``name`` if git would accept it as (part of) a ref name, else raise."""
    if not isinstance(name, str) or not name:
        raise InvalidRefNameError(f"invalid {what}: empty")

    def bad(reason: str) -> InvalidRefNameError:
        return InvalidRefNameError(f"invalid {what} {name!r}: {reason}")

    if name.startswith("-"):
        raise bad("must not start with '-'")
    if name == "@":
        raise bad("'@' alone is reserved")
    if name.startswith("/") or name.endswith("/") or "//" in name:
        raise bad("must not start or end with '/' or contain '//'")
    if name.endswith("."):
        raise bad("must not end with '.'")
    if ".." in name:
        raise bad("must not contain '..'")
    if "@{" in name:
        raise bad("must not contain '@{'")
    for ch in name:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise bad("must not contain control characters")
        if ch in _FORBIDDEN:
            raise bad(f"must not contain {ch!r}")
    for part in name.split("/"):
        if part.startswith("."):
            raise bad("no component may start with '.'")
        if part.endswith(".lock"):
            raise bad("no component may end with '.lock'")
    return name


def check_branch_name(name: str) -> str:
    if name == HEAD:
        raise InvalidRefNameError("invalid branch name 'HEAD': reserved")
    return check_name(name, "branch name")


def check_tag_name(name: str) -> str:
    return check_name(name, "tag name")


def branch_ref(name: str) -> str:
    return BRANCH_PREFIX + check_branch_name(name)


def tag_ref(name: str) -> str:
    return TAG_PREFIX + check_tag_name(name)


def short_name(ref: str) -> str:
    """``refs/heads/main`` -> ``main``; other refs unchanged but for their namespace."""
    for prefix in (BRANCH_PREFIX, TAG_PREFIX, REMOTE_PREFIX):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref
