"""Replay examples/mcp_session.json against ``statevcs mcp``, as an agent's MCP client would.

Creates a repository holding the session's starting state (in DIR, or a temporary
directory), starts ``statevcs -C DIR mcp`` over stdio, makes each call in one session and
prints it with its answer, checking each answer against the session's expectations.
Exits 1 at the first answer that differs. Needs ``pip install "statevcs[mcp]"``.

    python examples/mcp_session.py [DIR]      # DIR must not hold a repository yet
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys
import tempfile
from typing import Any

import anyio
from mcp import Client, Implementation, StdioServerParameters
from mcp.client.stdio import stdio_client

from statevcs import Repository

SESSION = pathlib.Path(__file__).with_name("mcp_session.json")


def holds(answer: Any, expected: Any) -> bool:
    """Whether ``answer`` has every key of ``expected`` with that value (dicts recursively)."""
    if isinstance(expected, dict):
        return isinstance(answer, dict) and all(k in answer and holds(answer[k], v) for k, v in expected.items())
    return answer == expected


def short(value: Any, limit: int = 160) -> str:
    """Compact JSON for the transcript, commit ids cut to 10 digits, long answers cut."""
    text = re.sub(r"\b([0-9a-f]{10})[0-9a-f]{54}\b", r"\1", json.dumps(value, ensure_ascii=False))
    return text if len(text) <= limit else text[: limit - 4] + " ..."


async def replay(directory: str, session: dict[str, Any]) -> bool:
    server = StdioServerParameters(command=sys.executable, args=["-m", "statevcs", "-C", directory, "mcp"],
                                   env=dict(os.environ))
    async with Client(stdio_client(server), client_info=Implementation(name="example-agent", version="1.0")) as client:
        for number, call in enumerate(session["calls"], 1):
            print(f"\n{number}. {call['note']}\n   -> {call['tool']} {short(call['arguments'])}")
            result = await client.call_tool(call["tool"], call["arguments"])
            text = "".join(getattr(c, "text", "") for c in result.content)
            print(f"   <- {'error: ' if result.is_error else ''}{short(result.structured_content)}")
            if "expect_error" in call:
                ok = result.is_error and text.startswith(call["expect_error"])
            else:
                ok = not result.is_error and holds(result.structured_content, call["expect"])
            if not ok:
                wanted = call.get("expect_error") or short(call.get("expect"))
                print(f"   !! expected {wanted}", file=sys.stderr)
                return False
    return True


def main(argv: list[str]) -> int:
    session = json.loads(SESSION.read_text(encoding="utf-8"))
    directory = argv[0] if argv else tempfile.mkdtemp(prefix="statevcs-mcp-")
    with Repository.init(directory, author="example") as repo:
        repo.commit(session["state"], "first state")
    print(f"repository: {directory}")
    if not anyio.run(replay, directory, session):
        return 1
    print("\nhistory of main:")
    with Repository.open(directory) as repo:
        for commit in repo.log("main"):
            print(f"  {commit.short_id} {commit.author:20} {commit.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
