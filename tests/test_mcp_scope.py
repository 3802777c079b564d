"""statevcs mcp refuses what it must, clearly, and keeps serving: --read-only, --allow-branch,
the repository's rules, and bad input (each a tool error naming the problem, the
repository unchanged, no traceback anywhere)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("mcp")

from statevcs import Repository  # noqa: E402

from .cli_helpers import fails  # noqa: E402
from .mcp_helpers import make_repo, run, snapshot, stdio_session  # noqa: E402

START = {"agent": {"status": "idle", "notes": []}, "budget": 10}
PATCH = [{"op": "replace", "path": "/budget", "value": 1}]


def test_read_only_refuses_every_write_and_still_reads(tmp_path):
    repo = make_repo(tmp_path / "r", START)
    before = snapshot(repo)
    writes = [("commit_patch", {"branch": "main", "patch": PATCH, "message": "m"}), ("branch", {"name": "x"}),
              ("tag", {"name": "t", "revision": "main"}), ("merge", {"source": "main", "into": "main"}),
              ("restore", {"revision": "main", "branch": "main"}), ("resolve", {"pointer": "/a", "side": "ours"}),
              ("merge_abort", {})]

    async def body():
        async with stdio_session(repo, "--read-only") as s:
            for name, args in writes:
                text = await s.fails(name, args)
                assert text == f"ScopeError: {name} writes, and this server is read-only (started with --read-only)"
            assert (await s.ok("get", {"pointer": "/budget"}))["value"] == 10
            assert (await s.ok("log"))["commits"][0]["message"] == "first state"

    run(body)
    assert snapshot(repo) == before


def test_allow_branch_limits_writes_to_matching_branches(tmp_path):
    repo = make_repo(tmp_path / "r", START)

    async def body():
        async with stdio_session(repo, "--allow-branch", "try/*", "--allow-branch", "scratch") as s:
            refused = await s.fails("commit_patch", {"branch": "main", "patch": PATCH, "message": "m"})
            assert refused == ("ScopeError: commit_patch would write to branch 'main', which this server may not "
                               "write to (it may write to branches matching try/*, scratch)")
            assert "'other'" in await s.fails("branch", {"name": "other"})
            await s.ok("branch", {"name": "try/a"})
            await s.ok("branch", {"name": "scratch"})
            await s.ok("commit_patch", {"branch": "try/a", "patch": PATCH, "message": "cheaper"})
            assert "ScopeError" in await s.fails("merge", {"source": "try/a", "into": "main"})
            assert "ScopeError" in await s.fails("restore", {"revision": "try/a", "branch": "main"})
            assert (await s.ok("merge", {"source": "try/a", "into": "scratch"}))["status"] == "fast-forward"
            await s.ok("tag", {"name": "cheap", "revision": "try/a"})  # tags move no branch

    run(body)
    branches, tags = snapshot(repo)
    assert set(branches) == {"main", "try/a", "scratch"} and set(tags) == {"cheap"}
    with Repository.open(repo) as r:
        assert r.get("main", "/budget") == 10 and r.get("scratch", "/budget") == 1


def test_every_write_goes_through_the_repository_rules(tmp_path):
    pytest.importorskip("jsonschema")
    repo = make_repo(tmp_path / "r", START)
    with Repository.open(repo) as r:
        r.set_schema({"properties": {"budget": {"type": "integer", "minimum": 0}}})
        r.create_branch("try")
        r.commit_patch([{"op": "replace", "path": "/agent/status", "value": "done"}], branch="try", message="d")
    (tmp_path / "r" / ".statevcs" / "attributes").write_text("/agent/status transitions idle>running running>done\n")
    before = snapshot(repo)

    async def body():
        async with stdio_session(repo) as s:
            answer = await s.call("commit_patch", {"branch": "main", "message": "overspend",
                                                   "patch": [{"op": "replace", "path": "/budget", "value": -1}]})
            assert answer.error and answer.text.startswith("RuleViolationError: state rule violated at /budget")
            assert answer.data["error"]["pointer"] == "/budget" and "schema" in answer.data["error"]["rule"]
            skipped = await s.fails("commit_patch", {"branch": "main", "message": "skip", "patch": [
                {"op": "replace", "path": "/agent/status", "value": "done"}]})
            assert "'idle' -> 'done' is not an allowed transition" in skipped
            assert "RuleViolationError" in await s.fails("merge", {"source": "try", "into": "main"})
            assert "RuleViolationError" in await s.fails("restore", {"revision": "try", "branch": "main",
                                                                     "pointers": ["/agent/status"]})
            assert (await s.ok("get", {"pointer": "/budget"}))["value"] == 10

    run(body)
    assert snapshot(repo) == before


def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(tmp_path):
    repo = make_repo(tmp_path / "r", START)
    with Repository.open(repo) as r:
        r.create_tag("v1")
    before = snapshot(repo)
    bad = [
        (("get", {"revision": "nope"}), "RevisionNotFoundError: unknown revision 'nope'"),
        (("diff", {"from": "main", "to": "nope~2"}), "RevisionNotFoundError"),
        (("get", {"pointer": "agent"}), "InvalidPointerError: invalid JSON Pointer 'agent'"),
        (("get", {"pointer": "/agent/missing"}),
         "PathNotFoundError: /agent/missing: no key 'missing' at /agent in HEAD"),
        (("get", {"revision": "v1", "pointer": "/agent/notes/0"}),
         "/agent/notes/0: /agent/notes is an array of 0 items; '0' is not one of its indexes"),
        (("get", {"pointer": "/budget/x"}), "/budget/x: /budget is a number, not an object or array"),
        (("log", {"path": "budget"}), "InvalidPointerError"),
        (("commit_patch", {"branch": "main", "patch": [{"op": "jump", "path": "/a"}], "message": "m"}),
         "InvalidPatchError: operation 0 has op 'jump'"),
        (("commit_patch", {"branch": "main", "patch": "[{not json", "message": "m"}),
         "InvalidPatchError: the patch is not valid JSON"),
        (("commit_patch", {"branch": "main", "patch": [{"op": "remove", "path": "/agent/notes/3"}], "message": "m"}),
         "PatchConflictError: operation 0 (remove /agent/notes/3) does not apply"),
        (("commit_patch", {"branch": "main", "patch": PATCH, "message": "m", "parent": "x"}),
         "ToolArgumentError: commit_patch has no argument 'parent'"),
        (("commit_patch", {"branch": "nope", "patch": PATCH, "message": "m"}), "no branch named 'nope'"),
        (("commit_patch", {"branch": "main", "patch": PATCH}), "ToolArgumentError: commit_patch needs the argument"
                                                                " 'message'"),
        (("commit_patch", {"branch": "main", "patch": {"op": "add"}, "message": "m"}),
         "argument 'patch' must be an array of patch operations, not an object"),
        (("log", {"limit": "ten"}), "argument 'limit' must be an integer, not a string"),
        (("log", {"limit": 0}), "argument 'limit' must be at least 1"),
        (("diff", {"from": "main", "to": "main", "format": "html"}), "must be one of patch, text, markdown"),
        (("branch", {"name": "bad..name"}), "InvalidRefNameError"),
        (("branch", {"name": "main"}), "RefExistsError: a branch named 'main' already exists"),
        (("tag", {"name": "v1", "revision": "main"}), "RefExistsError: a tag named 'v1' already exists"),
        (("merge", {"source": "main", "into": "nope"}), "no branch named 'nope'"),
        (("merge", {"source": "nope", "into": "main"}), "RevisionNotFoundError"),
        (("restore", {"revision": "v1", "branch": "main"}), "NothingToCommitError"),
        (("resolve", {"pointer": "/a", "side": "ours"}), "NoMergeInProgressError"),
        (("get", {"offset": -1}), "argument 'offset' must be at least 0"),
        (("teleport", {}), "ToolArgumentError: no tool named 'teleport'"),
    ]

    async def body():
        with open(tmp_path / "stderr.txt", "w") as err:
            async with stdio_session(repo, "--allow-branch", "main", "--allow-branch", "nope", errlog=err) as s:
                for (name, args), expected in bad:
                    assert expected in await s.fails(name, args), (name, args)
                    assert (await s.ok("get", {"pointer": "/budget"}))["value"] == 10  # still serving
                assert "may not write to" in await s.fails("branch", {"name": "elsewhere"})

    run(body)
    assert snapshot(repo) == before
    assert (tmp_path / "stderr.txt").read_text() == ""  # no traceback, no noise


def test_command_line_errors_are_one_line_with_the_documented_exit_code(tmp_path):
    repo = make_repo(tmp_path / "r", START)
    assert "--http" in fails(repo, 2, "mcp", "--http", "localhost:http").err
    assert "x>=2000" in fails(repo, 2, "mcp", "--max-response", "10").err
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", 3, "mcp")


def test_other_commands_and_import_statevcs_do_not_load_the_mcp_sdk():
    code = ("import sys, statevcs, statevcs.cli.main\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', 'uvicorn', 'starlette')]\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_the_mcp_extra_the_command_says_how_to_get_it(tmp_path):
    repo = make_repo(tmp_path / "r", START)
    code = ("import sys\n"
            "sys.modules['mcp'] = sys.modules['mcp_types'] = None  # as if not installed\n"
            "from statevcs.cli.main import main\n"
            "main(['-C', sys.argv[1], 'mcp'])\n")
    p = subprocess.run([sys.executable, "-c", code, repo], capture_output=True, text=True, timeout=60)
    assert p.returncode == 3 and p.stdout == ""
    assert p.stderr.startswith('error: statevcs mcp needs the mcp extra: pip install "statevcs[mcp]"')
    assert len(p.stderr.splitlines()) == 1
