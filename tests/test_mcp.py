"""statevcs mcp: every tool, driven over stdio by the mcp client library against a real
server subprocess; the repository is checked afterwards through the Python API."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("mcp")

from statevcs import Repository  # noqa: E402

from .conftest import ROOT  # noqa: E402
from .mcp_helpers import READ_TOOLS, TOOL_NAMES, make_repo, run, server_env, snapshot, stdio_session  # noqa: E402

START = {"agent": {"status": "idle", "notes": ["sys"]}, "budget": 10}


def test_every_tool_is_listed_with_an_input_schema_and_a_description(tmp_path):
    repo = make_repo(tmp_path / "r", START)

    async def body():
        async with stdio_session(repo) as s:
            tools = {t.name: t for t in (await s.client.list_tools()).tools}
            assert set(tools) == TOOL_NAMES
            for tool in tools.values():
                assert tool.description and len(tool.description) > 40
                assert tool.input_schema["type"] == "object"
                assert tool.annotations.read_only_hint == (tool.name in READ_TOOLS)
            diff = tools["diff"].input_schema
            assert {"from", "to"} <= set(diff["required"]) and "from" in diff["properties"]
            assert tools["merge"].input_schema["properties"]["strategy"]["enum"] == ["merge", "source_wins",
                                                                                      "target_wins"]
            assert s.client.server_info.name == "statevcs"
        async with stdio_session(repo, "--read-only") as s:
            assert {t.name for t in (await s.client.list_tools()).tools} == READ_TOOLS

    run(body)


def test_a_session_branch_try_diff_merge_tag_and_restore(tmp_path):
    repo = make_repo(tmp_path / "r", START)
    first = Repository.open(repo).rev_parse("main")

    async def body():
        async with stdio_session(repo, name="planner") as s:
            got = await s.ok("get")
            assert got == {"revision": "HEAD", "commit": first, "pointer": "", "value": START}
            assert (await s.ok("get", {"revision": "main", "pointer": "/agent/status"}))["value"] == "idle"
            assert await s.ok("branches") == {"current": "main",
                                              "branches": [{"name": "main", "commit": first, "current": True}]}
            made = await s.ok("branch", {"name": "try/plan-b", "from": "main"})
            assert made == {"branch": "try/plan-b", "commit": first}
            patch = [{"op": "replace", "path": "/agent/status", "value": "running"},
                     {"op": "add", "path": "/agent/notes/-", "value": "plan b"}]
            tried = await s.ok("commit_patch", {"branch": "try/plan-b", "patch": patch, "message": "try plan b"})
            assert tried["parent"] == first and tried["branch"] == "try/plan-b"
            # `from` is a tool argument name, not a Python one: a real call, not only the schema.
            diff = await s.ok("diff", {"from": "main", "to": "try/plan-b"})
            assert diff["from"] == first and diff["to"] == tried["commit"] and diff["count"] == 2
            assert {"op": "replace", "path": "/agent/status", "value": "running"} in diff["changes"]
            text = await s.ok("diff", {"from": "main", "to": "try/plan-b", "format": "text",
                                       "path": "/agent/status"})
            assert text["text"] == '~ /agent/status: "idle" -> "running"\n'
            table = await s.ok("diff", {"from": "main", "to": "try/plan-b", "format": "markdown"})
            assert "| `/agent/status` |" in table["text"]
            merged = await s.ok("merge", {"source": "try/plan-b", "into": "main"})
            assert merged == {"status": "fast-forward", "into": "main", "commit": tried["commit"]}
            assert (await s.ok("merge", {"source": "try/plan-b", "into": "main"}))["status"] == "up-to-date"
            tagged = await s.ok("tag", {"name": "known-good", "revision": "main", "message": "plan b works"})
            assert tagged == {"tag": "known-good", "commit": tried["commit"], "annotated": True}
            await s.ok("commit_patch", {"branch": "main", "message": "overspend",
                                        "patch": [{"op": "replace", "path": "/budget", "value": -5}]})
            one = await s.ok("restore", {"revision": "known-good", "branch": "main", "pointers": ["/budget"]})
            assert (await s.ok("get", {"pointer": "/budget"}))["value"] == 10
            await s.ok("commit_patch", {"branch": "main", "message": "wreck",
                                        "patch": [{"op": "remove", "path": "/agent"}]})
            whole = await s.ok("restore", {"revision": "known-good", "branch": "main"})
            assert whole["restored_from"] == tried["commit"]
            log = await s.ok("log", {"revision": "main", "limit": 3})
            assert log["commits"][0]["id"] == whole["commit"] and log["more"] is True
            changed = await s.ok("log", {"revision": "main", "path": "/budget"})
            assert [c["id"] for c in changed["commits"]][:1] == [one["commit"]]
            return tried["commit"], whole["commit"]

    tried, last = run(body)
    with Repository.open(repo) as r:
        assert r.get("main") == {"agent": {"status": "running", "notes": ["sys", "plan b"]}, "budget": 10}
        assert r.rev_parse("main") == last
        head = r.resolve("main")
        assert head.author == "mcp:planner" and head.metadata["restored_from"] == tried
        assert r.tag_object("known-good").message == "plan b works"
        assert r.tags["known-good"] == tried


def _diverged(path):
    repo = make_repo(path, {"status": "idle", "messages": ["sys", "u1"], "budget": 1, "owner": "ann"})
    with Repository.open(repo, author="tester") as r:
        r.create_branch("experiment")
        r.commit({"status": "done", "messages": ["SYS2", "u1", "a-theirs"], "budget": 3, "owner": "ann"},
                 "theirs", branch="experiment")
        r.commit({"status": "running", "messages": ["sys", "u1", "a-ours"], "budget": 2, "owner": "bob"}, "ours")
    return repo


def test_merge_conflicts_come_back_as_data_and_resolve_commits_the_merge(tmp_path):
    repo = _diverged(tmp_path / "r")
    main_before = snapshot(repo)[0]["main"]

    async def body():
        async with stdio_session(repo) as s:
            out = await s.ok("merge", {"source": "experiment", "into": "main", "message": "take the experiment"})
            assert out["status"] == "conflicts" and out["into"] == "main"
            by = {c["pointer"]: c for c in out["conflicts"]}
            assert set(by) == {"/status", "/messages", "/budget"}
            assert by["/budget"] == {"pointer": "/budget", "kind": "modify/modify", "base": 1, "ours": 2, "theirs": 3}
            assert by["/messages"]["kind"] == "array"
            assert snapshot(repo)[0]["main"] == main_before  # nothing committed yet
            listed = await s.ok("conflicts")
            assert listed["unresolved"] == 3 and listed["source"] == "experiment"
            assert {c["pointer"] for c in listed["conflicts"]} == {"/status", "/messages", "/budget"}
            assert "combine" in await s.fails("resolve", {"pointer": "/budget", "side": "both"})
            assert "exactly one" in await s.fails("resolve", {"pointer": "/budget"})
            assert "no conflict at '/owner'" in await s.fails("resolve", {"pointer": "/owner", "side": "ours"})
            step = await s.ok("resolve", {"pointer": "/messages", "side": "both"})
            assert step["resolved"] == "/messages" and "commit" not in step
            await s.ok("resolve", {"pointer": "/status", "side": "theirs"})
            listed = await s.ok("conflicts")
            assert [c["resolved"] for c in listed["conflicts"]].count(True) == 2 and listed["unresolved"] == 1
            assert {"pointer": "/status", "kind": "modify/modify", "base": "idle", "ours": "running",
                    "theirs": "done", "resolved": True, "resolution": {"side": "theirs"}} in listed["conflicts"]
            done = await s.ok("resolve", {"pointer": "/budget", "value": 5})
            assert done["status"] == "merged" and done["remaining"] == []
            assert "no merge" in await s.fails("conflicts")
            return done["commit"]

    commit = run(body)
    with Repository.open(repo) as r:
        merged = r.resolve("main")
        assert merged.id == commit and len(merged.parents) == 2 and merged.message == "take the experiment"
        assert r.get("main") == {"status": "done", "messages": ["SYS2", "u1", "a-ours", "a-theirs"], "budget": 5,
                                 "owner": "bob"}
        assert merged.metadata["merge"]["resolved"] == ["/budget", "/messages", "/status"] or \
            sorted(merged.metadata["merge"]["resolved"]) == ["/budget", "/messages", "/status"]


def test_merge_abort_and_strategies(tmp_path):
    repo = _diverged(tmp_path / "r")
    before = snapshot(repo)

    async def body():
        async with stdio_session(repo) as s:
            await s.ok("merge", {"source": "experiment", "into": "main"})
            assert "waiting" in await s.fails("merge", {"source": "experiment", "into": "main"})
            aborted = await s.ok("merge_abort")
            assert aborted["aborted"]["into"] == "main" and aborted["aborted"]["source"] == "experiment"
            assert "no merge" in await s.fails("merge_abort")
            assert snapshot(repo) == before
            won = await s.ok("merge", {"source": "experiment", "into": "main", "strategy": "source_wins"})
            assert won["status"] == "merged"
            return won["commit"]

    run(body)
    with Repository.open(repo) as r:
        assert r.get("main", "/budget") == 3 and r.get("main", "/owner") == "bob"


def test_a_resolution_made_before_the_branch_moved_is_not_committed_blindly(tmp_path):
    repo = _diverged(tmp_path / "r")

    async def body():
        async with stdio_session(repo) as s:
            await s.ok("merge", {"source": "experiment", "into": "main"})
            await s.ok("resolve", {"pointer": "/messages", "side": "ours"})
            await s.ok("resolve", {"pointer": "/status", "side": "ours"})
            with Repository.open(repo, author="other") as r:  # another writer moves main meanwhile
                r.commit_patch([{"op": "replace", "path": "/status", "value": "paused"}], branch="main",
                               message="pause")
            step = await s.ok("resolve", {"pointer": "/budget", "side": "ours"})
            assert "commit" not in step and step["remaining"] == ["/status"] and "moved" in step["note"]
            status = next(c for c in (await s.ok("conflicts"))["conflicts"] if c["pointer"] == "/status")
            assert status["ours"] == "paused" and status["resolved"] is False
            done = await s.ok("resolve", {"pointer": "/status", "side": "ours"})
            assert done["status"] == "merged"

    run(body)
    with Repository.open(repo) as r:
        assert r.get("main", "/status") == "paused" and r.get("main", "/budget") == 2


def test_the_author_is_the_client_unless_given(tmp_path):
    repo = make_repo(tmp_path / "r", START)
    patch = [{"op": "replace", "path": "/budget", "value": 11}]

    async def body():
        async with stdio_session(repo, name="agent-7") as s:
            await s.ok("commit_patch", {"branch": "main", "patch": patch, "message": "a"})
            await s.ok("branch", {"name": "side"})
        async with stdio_session(repo, "--author", "planner@team", name="agent-7") as s:
            await s.ok("commit_patch", {"branch": "side", "message": "b",
                                        "patch": [{"op": "replace", "path": "/budget", "value": 12}]})

    run(body)
    with Repository.open(repo) as r:
        assert r.resolve("main").author == "mcp:agent-7"
        assert r.resolve("side").author == "planner@team"
        assert r.reflog("side")[-1].who == "mcp:agent-7"  # the branch was created by the client


def test_commit_patch_takes_the_patch_as_json_text_and_checks_with_test_ops(tmp_path):
    repo = make_repo(tmp_path / "r", START)

    async def body():
        async with stdio_session(repo) as s:
            text = '[{"op": "test", "path": "/budget", "value": 10}, {"op": "replace", "path": "/budget", "value": 9}]'
            await s.ok("commit_patch", {"branch": "main", "patch": text, "message": "spend 1"})
            failed = await s.fails("commit_patch", {"branch": "main", "patch": text, "message": "again"})
            assert failed.startswith("PatchTestFailedError:") and "the value is 9" in failed

    run(body)
    assert Repository.open(repo).get("main", "/budget") == 9


def test_the_example_session_replays(tmp_path):
    """examples/mcp_session.json, replayed by examples/mcp_session.py, gets the answers it expects."""
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "mcp_session.py"), str(tmp_path / "r")],
                       capture_output=True, text=True, env=server_env(), timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "   <- error: " in p.stdout and "Merge try/skim into main" in p.stdout
    with Repository.open(str(tmp_path / "r")) as r:
        assert r.get("main") == {"agent": {"status": "idle", "plan": "skim the docs"}, "budget": 10, "memory": [
            "user wants a summary", "user prefers bullet points", "skimming saves budget"]}
        assert set(r.branches) == {"main", "try/skim", "try/guess"}


def test_several_waiting_merges_are_told_apart_by_into(tmp_path):
    repo = _diverged(tmp_path / "r")
    with Repository.open(repo, author="tester") as r:
        r.create_branch("side", "main")

    async def body():
        async with stdio_session(repo, name="second") as s:
            assert (await s.ok("merge", {"source": "experiment", "into": "main"}))["status"] == "conflicts"
            assert (await s.ok("merge", {"source": "experiment", "into": "side"}))["status"] == "conflicts"
            assert "merges into main, side are waiting: say which with into" in await s.fails("conflicts")
            assert (await s.ok("conflicts", {"into": "side"}))["into"] == "side"
            assert (await s.ok("merge_abort", {"into": "side"}))["aborted"]["into"] == "side"
            with Repository.open(repo) as r:
                r.create_branch("gone", "main")
            await s.ok("merge", {"source": "experiment", "into": "gone", "strategy": "merge"})
            with Repository.open(repo) as r:
                r.delete_branch("gone", force=True)
            for pointer in ("/messages", "/budget"):
                await s.ok("resolve", {"pointer": pointer, "side": "ours", "into": "gone"})
            assert "was deleted while its merge waited" in await s.fails(
                "resolve", {"pointer": "/status", "side": "ours", "into": "gone"})
            assert "no merge into 'gone'" in await s.fails("conflicts", {"into": "gone"})
            for pointer in ("/messages", "/budget", "/status"):
                last = await s.ok("resolve", {"pointer": pointer, "side": "theirs"})
            assert last["status"] == "merged"

    run(body)
    with Repository.open(repo) as r:
        assert set(r.branches) == {"main", "experiment", "side"}
        assert r.resolve("main").author == "mcp:second" and r.get("main", "/budget") == 3


def test_an_agent_can_start_from_an_empty_repository(tmp_path):
    Repository.init(str(tmp_path / "r")).close()

    async def body():
        async with stdio_session(tmp_path / "r") as s:
            assert "RevisionNotFoundError" in await s.fails("get")
            assert await s.ok("branches") == {"current": "main", "branches": []}
            first = await s.ok("commit_patch", {"branch": "main", "message": "hello", "patch": [
                {"op": "add", "path": "/agent", "value": {"status": "idle"}}]})
            assert first["parent"] is None
            assert (await s.ok("get"))["value"] == {"agent": {"status": "idle"}}
            assert "no branch named 'other'" in await s.fails("commit_patch", {
                "branch": "other", "message": "m", "patch": [{"op": "add", "path": "/x", "value": 1}]})

    run(body)
