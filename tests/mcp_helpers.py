"""Drive ``statevcs mcp`` as an agent's client would: the server is a real subprocess, the
client is the ``mcp`` library's, over stdio or streamable HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterator

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from statevcs import Repository

#: Every tool of docs/mcp.md; the names are the contract.
TOOL_NAMES = {"get", "log", "diff", "commit_patch", "branch", "branches", "tag", "merge", "conflicts", "resolve",
              "merge_abort", "restore"}
READ_TOOLS = {"get", "log", "diff", "branches", "conflicts"}
#: Longest a whole client session may take before a test fails instead of hanging.
SESSION_TIMEOUT = 90


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STATEVCS_DEBUG"}
    env.update(STATEVCS_AUTHOR="tester", **extra)
    return env


@dataclass
class Answer:
    """One tool call's result: the structured JSON, whether it is an error, the text."""

    data: Any
    error: bool
    text: str


@dataclass
class Session:
    """A connected client, with the notifications it has received."""

    client: Client
    updated: list[str] = field(default_factory=list)

    async def call(self, name: str, args: dict[str, Any] | None = None) -> Answer:
        result = await self.client.call_tool(name, args or {})
        text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
        return Answer(result.structured_content, result.is_error, text)

    async def ok(self, name: str, args: dict[str, Any] | None = None) -> Any:
        answer = await self.call(name, args)
        assert not answer.error, f"{name} {args} failed: {answer.text}"
        assert json.loads(answer.text) == answer.data  # the text content carries the same JSON
        return answer.data

    async def fails(self, name: str, args: dict[str, Any] | None = None) -> str:
        answer = await self.call(name, args)
        assert answer.error, f"{name} {args} should have failed, it returned {answer.text[:300]}"
        assert "Traceback" not in answer.text
        assert answer.data["error"]["message"] in answer.text
        return answer.text


@asynccontextmanager
async def stdio_session(location: Any, *options: str, name: str = "tester", mode: str = "auto",
                        errlog: Any = None) -> AsyncIterator[Session]:
    """``statevcs -C LOCATION mcp OPTIONS`` as a subprocess, with a connected client."""
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "statevcs", "-C", str(location), "mcp", *options], env=server_env())
    holder: list[Session] = []

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        if isinstance(root, types.ResourceUpdatedNotification) and holder:
            holder[0].updated.append(root.params.uri)

    log = errlog if errlog is not None else sys.stderr
    async with Client(stdio_client(params, errlog=log), mode=mode, message_handler=on_message,
                      client_info=types.Implementation(name=name, version="1.0")) as client:
        holder.append(Session(client))
        yield holder[0]


@asynccontextmanager
async def http_session(url: str, name: str = "tester") -> AsyncIterator[Session]:
    async with Client(url, client_info=types.Implementation(name=name, version="1.0")) as client:
        yield Session(client)


@contextmanager
def http_server(location: Any, *options: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``statevcs mcp --http 127.0.0.1:0`` running; yields its URL (from its start-up line)."""
    process = subprocess.Popen([sys.executable, "-m", "statevcs", "-C", str(location), "mcp", "--http",
                                "127.0.0.1:0", *options], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=server_env())
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"at (http://\S+/mcp)$", line.strip())
        assert found, f"no start-up line: {line!r} (exit {process.poll()})"
        yield found.group(1), process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(fn: Any, *args: Any) -> Any:
    """Run an async test body with a deadline."""
    async def bounded() -> Any:
        with anyio.fail_after(SESSION_TIMEOUT):
            return await fn(*args)

    return anyio.run(bounded)


def snapshot(location: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Branches and tags: what must stay the same when a call is refused."""
    with Repository.open(str(location)) as repo:
        return dict(repo.branches), dict(repo.tags)


def make_repo(path: Any, state: Any, message: str = "first state") -> str:
    """A directory repository with one commit on main; returns its path."""
    repo = Repository.init(str(path), author="tester")
    with repo:
        repo.commit(state, message)
    return str(path)


async def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    """Poll until ``predicate()`` holds (a notification arrived), failing after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await anyio.sleep(0.05)
