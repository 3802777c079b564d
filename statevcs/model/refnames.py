"""Ref names: git's check-ref-format rules and the refs/ namespaces."""

from __future__ import annotations

from ..errors import InvalidRefNameError
from ..limits import ENV_MAX_REF_NAME_BYTES, max_ref_name_bytes

HEAD = "HEAD"
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
REMOTE_PREFIX = "refs/remotes/"

_FORBIDDEN = set(" ~^:?*[\\")


def check_name(name: str, what: str = "ref name") -> str:
    """Return ``name`` if git would accept it as (part of) a ref name, else raise.

    On top of git's rules: no C1 control characters (U+0080-U+009F, which terminals act
    on), nothing that is not Unicode text (lone surrogates), and at most
    ``max_ref_name_bytes()`` UTF-8 bytes (default 1024; PostgreSQL's NOTIFY carries names)."""
    if not isinstance(name, str) or not name:
        raise InvalidRefNameError(f"invalid {what}: empty")

    def bad(reason: str) -> InvalidRefNameError:
        shown = name if len(name) <= 80 else name[:60] + "..."
        return InvalidRefNameError(f"invalid {what} {ascii(shown)}: {reason}")

    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise bad("not Unicode text (a lone surrogate)") from None
    limit = max_ref_name_bytes()
    if size > limit:
        raise bad(f"longer than {limit} bytes ({size}; {ENV_MAX_REF_NAME_BYTES} changes the limit)")

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
        if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            raise bad("must not contain control characters")
        if ch in _FORBIDDEN:
            raise bad(f"must not contain {ch!r}")
    for part in name.split("/"):
        if part.startswith("."):
            raise bad("no component may start with '.'")
        if part.endswith(".lock"):
            raise bad("no component may end with '.lock'")
    return name


def check_ref(ref: str) -> str:
    """Return a full ref name (``refs/...`` or ``HEAD``) if it is valid, else raise; for names
    that come from elsewhere (a remote), which must pass the same rules as local ones."""
    if ref == HEAD:
        return ref
    if not isinstance(ref, str) or not ref.startswith("refs/"):
        raise InvalidRefNameError(f"invalid ref name {ascii(ref)[:80]}: must start with 'refs/'")
    return check_name(ref)


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
