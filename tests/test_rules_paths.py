"""Every path that writes a commit or moves a branch checks the state rules (issue 17.5,
docs/rules.md): one table of paths, run on every store where the path exists. Each path
tries to land ``n: "str"`` (the schema wants an integer) or a LangGraph ``count`` of 2 (the
schema allows 1) and must raise RuleViolationError (or, on the command line, exit 3 with the
rule's message), leaving every branch and the working file as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from statevcs import Repository
from statevcs.errors import RuleViolationError
from statevcs.model.refnames import BRANCH_PREFIX

from .conftest import make_store, postgres_url, require_postgres, track_postgres

SCHEMA = {"properties": {"n": {"type": "integer"}, "count": {"maximum": 1}}}
STORES = ["memory", "sqlite", "postgres"]


@dataclass
class Case:
    """A repository with history made before the rules, and the rules set."""

    kind: str
    repo: Repository
    tmp: Any
    location: str | None  # None: not openable by location (memory)
    ids: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        assert self.location is not None
        where = ["-C", self.location]
        env = {**os.environ, "STATEVCS_AUTHOR": "tester"}
        return subprocess.run([sys.executable, "-m", "statevcs", *where, *args], input=stdin, capture_output=True,
                              text=True, env=env, timeout=120, cwd=self.tmp)


def _graph(saver: Any) -> Any:
    sys.path.insert(0, os.path.dirname(__file__))
    from langgraph_graphs import chat_graph

    return chat_graph(saver)


def _chat(saver: Any, thread: str) -> None:
    from langchain_core.messages import HumanMessage

    _graph(saver).invoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": thread}})


def build(kind: str, tmp_path) -> Case:
    location: str | None = None
    if kind == "memory":
        repo = Repository(make_store("memory", tmp_path), None, author="tester")
        repo.store.update_ref("HEAD", "ref: refs/heads/main", None, "tester", "init")
    elif kind == "sqlite":
        location = str(tmp_path / "r")
        repo = Repository.init(location, author="tester")
    else:
        require_postgres()
        location = track_postgres(postgres_url())
        repo = Repository.init(location, author="tester")
    case = Case(kind, repo, tmp_path, location)
    ids = case.ids
    # History made before the rules existed (it is not re-checked).
    ids["c1"] = repo.commit({"n": "s", "m": 0}, "n was text once").id
    ids["c2"] = repo.commit({"n": 1, "m": 0}, "n fixed").id
    repo.commit({"n": 1, "m": 1}, "main moves")
    repo.create_branch("side")
    ids["side"] = repo.commit({"n": "str", "m": 1, "side": 1}, "side breaks n", branch="side").id
    repo.commit({"n": 1, "m": 2}, "main moves on")
    repo.create_branch("ffb")
    ids["ffb"] = repo.commit({"n": "str", "m": 2}, "ahead of main, breaking n", branch="ffb").id
    if kind == "sqlite":
        repo.load_working("HEAD")
    from statevcs.integrations.langgraph import StateVCSSaver

    saver = StateVCSSaver(repo)
    _chat(saver, "t1")  # count 1
    _chat(saver, "t2")
    _chat(saver, "t2")  # count 2: allowed before the rules
    repo.set_schema(SCHEMA)
    return case


def _bad_clone(case: Case, name: str) -> Repository:
    """A directory repository (no rules: they stay in the original) with main one commit past
    the original's main, breaking n."""
    path = str(case.tmp / name)
    if case.location is not None:
        clone = Repository.clone(case.location, path)
    else:  # a memory repository is copied through a bundle
        bundle = str(case.tmp / f"{name}.svb")
        case.repo.bundle_create(bundle)
        clone = Repository.clone(bundle, path)
    clone.commit({"n": "str", "m": 2}, "breaks n")
    return clone


# ---------------------------------------------------------------- the paths
def commit(case: Case) -> None:
    case.repo.commit({"n": "str", "m": 2}, "bad")


def commit_file(case: Case) -> None:
    bad = case.tmp / "bad.json"
    bad.write_text(json.dumps({"n": "str", "m": 2}))
    r = case.cli("commit", "-f", str(bad), "-m", "bad")
    _cli_refused(r)


def update(case: Case) -> None:
    case.repo.update("main", lambda s: {**s, "n": "str"})


def edit(case: Case) -> None:
    with case.repo.edit(message="bad") as tx:
        tx.set("/n", "str")


def commit_patch(case: Case) -> None:
    case.repo.commit_patch([{"op": "replace", "path": "/n", "value": "str"}])


def apply(case: Case) -> None:
    _cli_refused(case.cli("apply", "-", stdin=json.dumps([{"op": "replace", "path": "/n", "value": "str"}])))


def merge(case: Case) -> None:
    case.repo.merge("side")


def merge_fast_forward(case: Case) -> None:
    assert case.repo.is_ancestor("main", "ffb")
    case.repo.merge("ffb")


def cherry_pick(case: Case) -> None:
    case.repo.cherry_pick(case.ids["side"])


def revert(case: Case) -> None:
    case.repo.revert(case.ids["c2"])


def restore(case: Case) -> None:
    case.repo.restore(case.ids["c1"])


def pull(case: Case) -> None:
    clone = _bad_clone(case, "pulled-from")
    clone.close()
    case.repo.pull(str(case.tmp / "pulled-from"), "main")


def bundle_fetch(case: Case) -> None:
    clone = _bad_clone(case, "bundled-from")
    bundle = str(case.tmp / "fetched.svb")
    clone.bundle_create(bundle, ["main"])
    tip = clone.rev_parse("main")
    clone.close()
    case.repo.fetch(bundle)
    case.repo.merge(tip)


def received_push(case: Case) -> None:
    """The receiving side checks the tip it accepts against its own rules (a pre-receive hook)."""
    clone = _bad_clone(case, "pusher")
    try:
        clone.push("origin", "main")
    except RuleViolationError as exc:
        assert str(exc).startswith("the remote refused the push: ") and exc.pointer == "/n", exc
        raise
    finally:
        assert clone.store.read_ref("refs/remotes/origin/main") != clone.rev_parse("main")
        clone.close()


def git_import(case: Case) -> None:
    from statevcs.gitbridge.export import export  # pygit2: a test dependency
    from statevcs.gitbridge.import_ import import_git

    target = case.tmp / "exported"
    export(case.repo, str(target))
    (target / "n.json").write_text('"str"\n')
    env = {**os.environ, "HOME": str(case.tmp), "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "commit", "-qam", "n as text"], cwd=target, check=True, env=env)
    import_git(case.repo, str(target))


def langgraph_saver(case: Case) -> None:
    """A run writes several checkpoints: the one taking the input (count still 1) lands, the
    one where the node makes count 2 is refused, and the thread stays at the last one allowed."""
    from statevcs.integrations.langgraph import StateVCSSaver

    try:
        _chat(StateVCSSaver(case.repo), "t1")  # count 2
    finally:
        case.repo.objects.forget()
        assert case.repo.get("threads/t1")["count"] == 1


def langgraph_copy_thread(case: Case) -> None:
    from statevcs.integrations.langgraph import StateVCSSaver

    saver = StateVCSSaver(case.repo)
    try:
        saver.copy_thread("t2", "t3")
    finally:
        assert not [r for r in case.repo.store.list_refs() if "t3" in r]


def _cli_refused(r: subprocess.CompletedProcess) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 3 and len(lines) == 1 and lines[0].startswith("error: "), (r.returncode, r.stderr)
    assert "/n" in r.stderr and "Traceback" not in r.stderr
    raise RuleViolationError(lines[0])


#: (path, function, stores where the path exists)
PATHS: list[tuple[str, Callable[[Case], None], tuple[str, ...]]] = [
    ("commit", commit, ("memory", "sqlite", "postgres")),
    ("commit -f", commit_file, ("sqlite", "postgres")),
    ("update", update, ("memory", "sqlite", "postgres")),
    ("edit", edit, ("memory", "sqlite", "postgres")),
    ("commit_patch", commit_patch, ("memory", "sqlite", "postgres")),
    ("apply", apply, ("sqlite", "postgres")),
    ("merge", merge, ("memory", "sqlite", "postgres")),
    ("merge (fast-forward)", merge_fast_forward, ("memory", "sqlite", "postgres")),
    ("cherry-pick", cherry_pick, ("memory", "sqlite", "postgres")),
    ("revert", revert, ("memory", "sqlite", "postgres")),
    ("restore", restore, ("memory", "sqlite", "postgres")),
    ("pull", pull, ("memory", "sqlite", "postgres")),
    ("bundle fetch", bundle_fetch, ("memory", "sqlite", "postgres")),
    ("received push", received_push, ("sqlite", "postgres")),  # a remote is opened by location
    ("git import", git_import, ("memory", "sqlite", "postgres")),
    ("LangGraph saver", langgraph_saver, ("memory", "sqlite", "postgres")),
    ("LangGraph copy_thread", langgraph_copy_thread, ("memory", "sqlite", "postgres")),
]


def _branches(repo: Repository) -> dict[str, str]:
    return repo.store.list_refs(BRANCH_PREFIX)


@pytest.mark.parametrize("kind", STORES)
def test_every_path_that_writes_a_branch_checks_the_rules(kind, tmp_path):
    case = build(kind, tmp_path)
    repo = case.repo
    working = (tmp_path / "r" / "state.json").read_text() if kind == "sqlite" else None
    wrong: list[str] = []
    ran = []
    for name, attempt, stores in PATHS:
        if kind not in stores:
            continue
        ran.append(name)
        before = _branches(repo)
        try:
            attempt(case)
        except RuleViolationError as exc:
            if "/n" not in str(exc) and "/count" not in str(exc):
                wrong.append(f"{name}: refused without naming the value: {exc}")
        except Exception as exc:  # listed with the others, so one run shows every path that is wrong
            wrong.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            wrong.append(f"{name}: landed a state the rules refuse")
        repo.objects.forget()
        after = _branches(repo)
        if name == "LangGraph saver":  # its allowed checkpoints land (the row checks the thread)
            before.pop("refs/heads/threads/t1")
            after.pop("refs/heads/threads/t1")
        if after != before:
            wrong.append(f"{name}: moved a branch")
            for ref in set(before) | set(after):  # put it back, so the next path starts from the same place
                if ref in before and after.get(ref) != before[ref]:
                    repo.store.update_ref(ref, before[ref])
                elif ref not in before:
                    repo.store.delete_ref(ref)
        if working is not None and (tmp_path / "r" / "state.json").read_text() != working:
            wrong.append(f"{name}: changed the working file")
            (tmp_path / "r" / "state.json").write_text(working)
    assert wrong == [], wrong
    assert len(ran) == sum(kind in stores for _, _, stores in PATHS) >= 13
    # What the rules allow still lands, through the same paths.
    repo.commit({"n": 2, "m": 2}, "fine")
    assert repo.get("main") == {"n": 2, "m": 2}
    repo.close()
