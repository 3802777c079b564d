"""Git commit and tag objects written byte by byte, so the same statevcs history gives the
same git ids on any machine, and read back.

A git commit made from a statevcs commit carries, after ``committer``, one extra header
``statevcs`` whose value is canonical JSON of what git cannot hold exactly: the statevcs
commit id, the author string, the time to the microsecond and the metadata (and the message
when git's form of it had to differ). git keeps unknown headers, ``git log`` does not show
them and ``git fsck --strict`` accepts them. Its message ends with a trailer
``Statevcs-Id: <id>`` that git users see (``git log``, ``git interpret-trailers``); import
takes it off again. Author and committer are both the statevcs author; the time is the
commit's, in UTC; nothing comes from the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..model.canonical import canonical_str, loads
from ..model.objects import format_time, parse_time

HEADER = "statevcs"
#: The trailer of an exported commit's message naming its statevcs commit.
TRAILER = "Statevcs-Id"
_NAME_EMAIL = re.compile(r"^\s*([^<>\n]*?)\s*<([^<>\n]*)>\s*$")
_EMAIL = re.compile(r"^[^\s<>@]+@[^\s<>]+$")


def signature(who: str, when: datetime) -> str:
    """``Name <email> SECONDS +0000`` for a statevcs author string and time (pure)."""
    match = _NAME_EMAIL.match(who)
    if match and match.group(1):
        name, email = match.group(1), match.group(2)
    elif _EMAIL.match(who):
        name, email = who.split("@", 1)[0], who
    else:
        name, email = who, ""
    name = re.sub(r"[<>\x00\n]", "", name).strip() or "unknown"
    email = re.sub(r"[<>\x00\n\s]", "", email)
    seconds = max(0, int((when - _EPOCH).total_seconds() // 1))
    return f"{name} <{email}> {seconds} +0000"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def git_message(message: str) -> str:
    """The message as git holds it (a NUL byte cannot be in a commit message)."""
    return message.replace("\x00", "\\0")


def with_trailer(message: str, commit_id: str) -> str:
    """A commit message as exported: git's form of it, a blank line, ``Statevcs-Id: <id>``.

    The blank line is always added after a message that is not empty, so ``strip_trailer``
    gives back exactly the message whatever it ends with."""
    return (message + "\n\n" if message else "") + f"{TRAILER}: {commit_id}\n"


def strip_trailer(message: str, commit_id: object) -> str:
    """The message ``with_trailer`` was given (unchanged when it does not end with that trailer)."""
    end = f"{TRAILER}: {commit_id}\n"
    if not isinstance(commit_id, str) or not message.endswith(end):
        return message
    rest = message[: -len(end)]
    if rest == "":
        return rest
    return rest[:-2] if rest.endswith("\n\n") else message


def commit_bytes(tree: str, parents: list[str], author: str, when: datetime, message: str,
                 extra: dict[str, Any]) -> bytes:
    """The raw git commit for a statevcs commit (``extra`` goes into the ``statevcs`` header;
    its ``id`` into the message's trailer)."""
    sig = signature(author, when)
    lines = [f"tree {tree}"] + [f"parent {p}" for p in parents]
    lines += [f"author {sig}", f"committer {sig}", f"{HEADER} {canonical_str(extra)}"]
    return ("\n".join(lines) + "\n\n" + with_trailer(git_message(message), extra["id"])).encode("utf-8")


def tag_bytes(target: str, name: str, tagger: str, when: datetime, message: str, extra: dict[str, Any]) -> bytes:
    """The raw annotated git tag for a statevcs annotated tag."""
    lines = [f"object {target}", "type commit", f"tag {name}", f"tagger {signature(tagger, when)}",
             f"{HEADER} {canonical_str(extra)}"]
    return ("\n".join(lines) + "\n\n" + git_message(message)).encode("utf-8")


def commit_extra(commit_id: str, author: str, when: datetime, message: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """What the ``statevcs`` header of a commit holds."""
    extra: dict[str, Any] = {"id": commit_id, "author": author, "time": format_time(when), "metadata": metadata}
    if git_message(message) != message:
        extra["message"] = message
    return extra


@dataclass(frozen=True)
class GitObjectInfo:
    """A git commit or tag read back: headers, message and the ``statevcs`` header if any."""

    headers: list[tuple[str, str]]
    message: str
    extra: dict[str, Any] | None

    def first(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


def parse_object(raw: bytes) -> GitObjectInfo:
    """Split a raw commit or tag into headers (continuation lines joined) and message."""
    text = raw.decode("utf-8", errors="replace")
    head, _, message = text.partition("\n\n")
    headers: list[tuple[str, str]] = []
    for line in head.split("\n"):
        if line.startswith(" ") and headers:
            k, v = headers[-1]
            headers[-1] = (k, v + "\n" + line[1:])
        elif line:
            k, _, v = line.partition(" ")
            headers.append((k, v))
    extra = None
    value = next((v for k, v in headers if k == HEADER), None)
    if value is not None:
        try:
            parsed = loads(value)
            extra = parsed if isinstance(parsed, dict) else None
        except ValueError:
            extra = None
    return GitObjectInfo(headers, message, extra)


def person(sig: str) -> tuple[str, datetime]:
    """(``Name <email>``, time) of a git signature line value."""
    match = re.match(r"^(.*?<[^>]*>)\s+(-?\d+)\s+([+-]\d{4})\s*$", sig)
    if not match:
        return sig.strip(), _EPOCH
    return match.group(1), datetime.fromtimestamp(int(match.group(2)), timezone.utc)


def extra_time(extra: dict[str, Any] | None, fallback: datetime) -> datetime:
    """The exact time a ``statevcs`` header records, else git's."""
    if extra and isinstance(extra.get("time"), str):
        try:
            return parse_time(extra["time"])
        except ValueError:
            pass
    return fallback
