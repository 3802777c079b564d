"""statevcs mcp under load and over time: big states paged within the size limit, resources
and change notifications when a branch moves, concurrent clients losing no update (SQLite,
PostgreSQL), and streamable HTTP."""

from __future__ import annotations

import json
import warnings

import anyio
import pytest

pytest.importorskip("mcp")

from mcp.shared.exceptions import MCPError  # noqa: E402

from statevcs import Repository  # noqa: E402

from .conftest import postgres_url, require_postgres, track_postgres  # noqa: E402
from .mcp_helpers import http_server, http_session, make_repo, run, stdio_session, wait_for  # noqa: E402

LIMIT = 20_000


def _big_state(n: int = 3000) -> dict:
    return {"items": {f"k{i:05}": {"text": "x" * 100, "n": i} for i in range(n)},
            "log": "".join(f"line {i}\n" for i in range(8000))}


def test_a_big_state_is_paged_and_every_answer_stays_under_the_limit(tmp_path):
    state = _big_state()
    repo = make_repo(tmp_path / "r", state)
    with Repository.open(repo) as r:
        r.commit_patch([{"op": "replace", "path": f"/items/k{i:05}/n", "value": i + 10_000} for i in range(0, 3000, 2)],
                       branch="main", message="move half " + "why " * 10_000)

    async def body():
        async with stdio_session(repo, "--max-response", str(LIMIT)) as s:
            sizes = []

            async def ok(name, args):
                answer = await s.call(name, args)
                assert not answer.error, answer.text
                sizes.append(len(answer.text.encode()))
                return answer.data

            top = await ok("get", {})
            assert top["truncated"] is True and top["kind"] == "object" and top["length"] == 2
            assert {e["key"]: e.get("kind") for e in top["entries"]} == {"items": "object", "log": "string"}
            keys, offset = [], 0
            while offset is not None:
                page = await ok("get", {"pointer": "/items", "offset": offset})
                for entry in page["entries"]:
                    assert entry["pointer"] == "/items/" + entry["key"]
                    assert entry["value"]["text"] == "x" * 100
                    keys.append(entry["key"])
                offset = page["next_offset"]
            assert keys == sorted(state["items"])
            text, offset = "", 0
            while offset is not None:
                page = await ok("get", {"pointer": "/log", "offset": offset})
                text += page["text"]
                offset = page["next_offset"]
            assert text == state["log"]
            ops, offset = [], 0
            while offset is not None:
                page = await ok("diff", {"from": "main~1", "to": "main", "offset": offset})
                assert page["count"] == 1500
                ops += page["changes"]
                offset = page.get("next_offset")
            assert len(ops) == 1500 and ops[1] == {"op": "replace", "path": "/items/k00002/n", "value": 10_002}
            rendered = await ok("diff", {"from": "main~1", "to": "main", "format": "text"})
            assert rendered["truncated"] is True and rendered["text"].endswith("\n")
            log = await ok("log", {})
            assert log["commits"][0]["message"].endswith("characters in all)")
            assert (await ok("get", {"pointer": "/items/k00004"}))["value"] == {"text": "x" * 100, "n": 10_004}
            assert max(sizes) <= LIMIT

    run(body)


def test_conflict_values_too_big_for_an_answer_are_described(tmp_path):
    repo = make_repo(tmp_path / "r", {"doc": "base"})
    with Repository.open(repo) as r:
        r.create_branch("other")
        r.commit({"doc": "ours " * 20_000}, "ours")
        r.commit({"doc": "theirs " * 20_000}, "theirs", branch="other")

    async def body():
        async with stdio_session(repo, "--max-response", str(LIMIT)) as s:
            answer = await s.call("merge", {"source": "other", "into": "main"})
            assert len(answer.text.encode()) <= LIMIT
            conflict = answer.data["conflicts"][0]
            assert conflict["base"] == "base" and conflict["ours"].endswith("(100000 characters in all)")
            await s.ok("resolve", {"pointer": "/doc", "side": "theirs"})

    run(body)
    assert Repository.open(repo).get("main", "/doc") == "theirs " * 20_000


def test_resources_read_state_and_history(tmp_path):
    repo = make_repo(tmp_path / "r", {"agent": {"status": "idle"}})
    with Repository.open(repo) as r:
        r.create_branch("try/a")

    async def body():
        async with stdio_session(repo) as s:
            templates = {t.uri_template for t in (await s.client.list_resource_templates()).resource_templates}
            assert templates == {"statevcs://{revision}/{pointer}", "statevcs://log/{branch}"}
            listed = {r.uri for r in (await s.client.list_resources()).resources}
            assert listed == {"statevcs://main", "statevcs://log/main", "statevcs://try%2Fa", "statevcs://log/try/a"}

            async def read(uri):
                return json.loads((await s.client.read_resource(uri)).contents[0].text)

            assert await read("statevcs://main") == {"agent": {"status": "idle"}}
            assert await read("statevcs://main/agent/status") == "idle"
            assert await read("statevcs://try%2Fa/agent") == {"status": "idle"}
            assert (await read("statevcs://log/try/a"))["commits"][0]["message"] == "first state"
            for uri, reason in [("http://main/agent", "not a statevcs resource"),
                                ("statevcs://nope/agent", "unknown revision 'nope'"),
                                ("statevcs://main/agent/missing", "no key 'missing' at /agent")]:
                with pytest.raises(MCPError, match=reason):
                    await s.client.read_resource(uri)
            assert await read("statevcs://HEAD/agent/status") == "idle"  # still serving

    run(body)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_subscribers_are_notified_when_a_branch_moves_whoever_moves_it(tmp_path, store):
    if store == "postgres":  # woken by LISTEN/NOTIFY instead of polling
        require_postgres()
        repo = track_postgres(postgres_url())
        with Repository.init(repo, author="tester") as r:
            r.commit({"n": 0}, "first state")
    else:
        repo = make_repo(tmp_path / "r", {"n": 0})
    uris = ["statevcs://log/main", "statevcs://main/n"]

    async def next_events(sub, count):
        seen = set()
        async for event in sub:
            seen.add(event.uri)
            if len(seen) >= count:
                return seen

    async def body():
        async with stdio_session(repo) as s, s.client.listen(resource_subscriptions=uris) as sub:
            with Repository.open(repo, author="elsewhere") as r:  # another process's commit
                r.commit_patch([{"op": "replace", "path": "/n", "value": 1}], branch="main", message="one")
            assert await next_events(sub, 2) == set(uris)
            await s.ok("commit_patch", {"branch": "main", "message": "two",
                                        "patch": [{"op": "replace", "path": "/n", "value": 2}]})
            assert await next_events(sub, 2) == set(uris)
            assert json.loads((await s.client.read_resource("statevcs://main/n")).contents[0].text) == 2

    run(body)


def test_a_branch_subscribed_before_it_exists_notifies_once_it_does(tmp_path):
    repo = make_repo(tmp_path / "r", {"n": 0})

    async def body():
        async with stdio_session(repo) as s, \
                s.client.listen(resource_subscriptions=["statevcs://log/later", "statevcs://later/n"]) as sub:
            with Repository.open(repo, author="elsewhere") as r:
                r.create_branch("later")
            seen = set()
            async for event in sub:
                seen.add(event.uri)
                if len(seen) == 2:
                    break

    run(body)


def test_subscriptions_of_handshake_era_clients_are_notified_too(tmp_path):
    repo = make_repo(tmp_path / "r", {"n": 0})

    async def body():
        async with stdio_session(repo, mode="legacy") as s:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resources/subscribe is deprecated as of 2026-07-28
                await s.client.subscribe_resource("statevcs://log/main")
            assert s.client.protocol_version == "2025-11-25"
            with Repository.open(repo, author="elsewhere") as r:
                r.commit_patch([{"op": "replace", "path": "/n", "value": 1}], branch="main", message="one")
            await wait_for(lambda: "statevcs://log/main" in s.updated)

    run(body)


async def _append_events(session, branch: str, writer: str, count: int) -> None:
    for i in range(count):
        await session.ok("commit_patch", {"branch": branch, "message": f"{writer} {i}",
                                          "patch": [{"op": "add", "path": "/events/-", "value": f"{writer}-{i}"}]})


def _expect_every_event(location: str, writers: list[str], count: int) -> None:
    with Repository.open(location) as r:
        events = r.get("main", "/events")
        assert sorted(events) == sorted(f"{w}-{i}" for w in writers for i in range(count))
        assert len(list(r.log("main"))) == 1 + len(writers) * count


def _concurrent_stdio_clients(location: str, writers: list[str], count: int) -> None:
    async def one(writer):
        async with stdio_session(location, name=writer) as s:
            await _append_events(s, "main", writer, count)

    async def body():
        async with anyio.create_task_group() as tg:
            for writer in writers:
                tg.start_soon(one, writer)

    run(body)
    _expect_every_event(location, writers, count)


def test_concurrent_clients_on_one_repository_lose_no_update(tmp_path):
    repo = make_repo(tmp_path / "r", {"events": []})
    _concurrent_stdio_clients(repo, ["a", "b", "c"], 12)


def test_concurrent_clients_on_one_postgresql_repository_lose_no_update():
    require_postgres()
    url = track_postgres(postgres_url())
    with Repository.init(url, author="tester") as r:
        r.commit({"events": []}, "first state")
    _concurrent_stdio_clients(url, ["a", "b"], 12)


def test_streamable_http_serves_several_clients_at_once(tmp_path):
    repo = make_repo(tmp_path / "r", {"events": []})
    writers = ["a", "b", "c"]
    with http_server(repo, "--allow-branch", "main") as (url, process):
        assert url.startswith("http://127.0.0.1:")

        async def one(writer):
            async with http_session(url, name=writer) as s:
                await _append_events(s, "main", writer, 8)

        async def body():
            async with anyio.create_task_group() as tg:
                for writer in writers:
                    tg.start_soon(one, writer)
            async with http_session(url, name="checker") as s:
                assert "may not write to" in await s.fails("branch", {"name": "x"})
                assert (await s.ok("diff", {"from": "main~1", "to": "main"}))["count"] == 1
                return (await s.ok("log", {"limit": 1}))["commits"][0]["author"]

        author = run(body)
        assert author in {"mcp:a", "mcp:b", "mcp:c"}
        assert process.poll() is None  # still serving
    # Stopped by SIGTERM: uvicorn shuts down gracefully, then lets the signal end the process.
    assert process.returncode in (0, -15) and process.stderr.read() == ""
    _expect_every_event(repo, writers, 8)
