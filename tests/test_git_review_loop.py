"""Review through git with no force push (issue 19): export, a reviewer commits in git, the
commits come back into statevcs, the agent goes on, export again; the git branch only ever
fast-forwards. With the real git binary, through the real command line."""

from __future__ import annotations

import json
import os

import pytest

pygit2 = pytest.importorskip("pygit2")

from statevcs import MergeConflictError, Repository  # noqa: E402
from statevcs.gitbridge.export import export  # noqa: E402
from statevcs.gitbridge.review import sync  # noqa: E402

from .cli_helpers import fails, run  # noqa: E402
from .test_git_bridge import git  # noqa: E402


def reviewer_commits(review, path: str, value, message: str) -> str:
    """A reviewer edits one file of the export with plain git and commits; returns the git id."""
    with open(os.path.join(review, path), "w") as f:
        f.write(json.dumps(value, indent=4) + "\n")  # their own formatting: any JSON reads back
    git(review, "add", path)
    git(review, "commit", "-q", "-m", message, env={"GIT_AUTHOR_NAME": "Rita Reviewer"})
    return git(review, "rev-parse", "HEAD").stdout.strip()


def is_ancestor(cwd, a: str, b: str) -> bool:
    return git(cwd, "merge-base", "--is-ancestor", a, b, check=False).returncode == 0


def refs_of(cwd) -> str:
    return git(cwd, "for-each-ref", "--format=%(refname) %(objectname)").stdout


@pytest.fixture
def loop(tmp_path):
    """An agent repository whose main was exported to ./review (split per agent)."""
    agents = tmp_path / "agents"
    run(tmp_path, "init", str(agents))
    (agents / "state.json").write_text(json.dumps(
        {"agents": {"alice": {"status": "idle", "budget": 10}, "bob": {"status": "idle"}}}))
    run(agents, "commit", "-m", "the team")
    run(agents, "git", "export", "../review", "--split", "/agents/*")
    return agents, tmp_path / "review"


def test_the_full_review_loop_never_forces(loop):
    agents, review = loop
    # 1. the reviewer fixes a value in the pull request branch
    fix = reviewer_commits(review, "agents/alice.json", {"budget": 12, "status": "idle"}, "alice needs 12")
    # 2. back into statevcs: only git moved, so main fast-forwards and the working file follows
    out = run(agents, "git", "sync", "../review").out
    assert "Imported 1 commit(s)" in out and "Exported 0 new commit(s)" in out
    assert json.loads((agents / "state.json").read_text())["agents"]["alice"]["budget"] == 12
    assert run(agents, "log", "-1", "--json").json()["commits"][0]["author"] == "Rita Reviewer <t@example.com>"
    # 3. the agent goes on; export again: git fast-forwards over the reviewer's commit
    run(agents, "set", "/agents/bob/status", '"busy"')
    run(agents, "commit", "-m", "bob works")
    run(agents, "git", "sync", "../review")
    tip = git(review, "rev-parse", "main").stdout.strip()
    assert is_ancestor(review, fix, tip)
    # 4. both sides move: the reviewer again, the agent meanwhile
    fix2 = reviewer_commits(review, "agents/alice.json", {"budget": 15, "status": "idle"}, "alice needs 15")
    run(agents, "set", "/agents/bob/status", '"done"')
    run(agents, "commit", "-m", "bob done")
    out = run(agents, "git", "sync", "../review").out
    assert "Merge git/main into main" in out and "Exported 2 new commit(s)" in out
    tip = git(review, "rev-parse", "main").stdout.strip()
    assert is_ancestor(review, fix, tip) and is_ancestor(review, fix2, tip)
    # both sides' changes are there, in git and in statevcs
    alice = json.loads((review / "agents" / "alice.json").read_text())
    bob = json.loads((review / "agents" / "bob.json").read_text())
    assert alice["budget"] == 15 and bob["status"] == "done"
    assert run(agents, "cat", "main:/agents", "--compact").out == \
        '{"alice":{"budget":15,"status":"idle"},"bob":{"status":"done"}}\n'
    assert git(review, "status", "--porcelain").stdout == ""  # the checkout followed
    # the statevcs ids are in the trailers, and map both ways
    ids = git(review, "log", "--format=%(trailers:key=Statevcs-Id,valueonly)", "-1", "main").stdout.strip()
    head = run(agents, "log", "-1", "--json").json()["commits"][0]["id"]
    assert ids == head
    assert run(agents, "git", "map", "../review", "HEAD").out == f"{head} {tip}\n"
    assert run(agents, "git", "map", "../review", tip[:8]).out == f"{head} {tip}\n"
    assert run(agents, "git", "map", "../review", fix).out.endswith(f" {fix}\n")
    # nothing left to do: a sync changes nothing
    assert run(agents, "git", "sync", "../review").out.startswith("Exported 0 new commit(s)")
    assert git(review, "rev-parse", "main").stdout.strip() == tip


def test_import_then_merge_then_export_by_hand(loop):
    agents, review = loop
    fix = reviewer_commits(review, "agents/alice.json", {"budget": 11, "status": "idle"}, "fix")
    run(agents, "set", "/agents/bob/status", '"busy"')
    run(agents, "commit", "-m", "agent moved on")
    out = run(agents, "git", "import", "../review").out
    assert "main has moved on both sides: git's is git/main" in out
    assert "statevcs merge git/main" in out and "statevcs git sync ../review --branch main" in out
    assert run(agents, "cat", "git/main:/agents/alice/budget").out == "11\n"
    assert run(agents, "cat", "main:/agents/alice/budget").out == "10\n"  # the branch did not move
    run(agents, "merge", "git/main")
    run(agents, "git", "export", "../review")  # no --force
    assert is_ancestor(review, fix, "main")
    assert json.loads((review / "agents" / "bob.json").read_text()) == {"status": "busy"}


def test_a_conflict_in_the_round_trip_goes_through_resolve(loop):
    agents, review = loop
    reviewer_commits(review, "agents/alice.json", {"budget": 20, "status": "idle"}, "20")
    run(agents, "set", "/agents/alice/budget", "30")
    run(agents, "commit", "-m", "30")
    head = run(agents, "log", "-1", "--json").json()["commits"][0]["id"]
    git_before = refs_of(review)
    r = run(agents, "git", "sync", "../review", check=False)
    assert r.code == 1 and "CONFLICT (modify/modify) /agents/alice/budget" in r.out
    assert "'statevcs git sync ../review' exports it" in r.err and "Traceback" not in r.err
    assert refs_of(review) == git_before  # nothing half-written: git is as it was,
    assert run(agents, "log", "-1", "--json").json()["commits"][0]["id"] == head  # the branch too
    assert run(agents, "status", "-s").out == "U /agents/alice/budget\n"
    fails(agents, 3, "git", "sync", "../review")  # a merge is in progress
    run(agents, "resolve", "/agents/alice/budget", "--value", "25")
    run(agents, "merge", "--continue")
    run(agents, "git", "sync", "../review")
    assert json.loads((review / "agents" / "alice.json").read_text())["budget"] == 25
    assert git(review, "log", "--format=%s", "-1").stdout.strip() == "Merge git/main into main"


def test_sync_settles_overlaps_with_x(loop):
    agents, review = loop
    reviewer_commits(review, "agents/alice.json", {"budget": 20, "status": "idle"}, "20")
    run(agents, "set", "/agents/alice/budget", "30")
    run(agents, "commit", "-m", "30")
    run(agents, "git", "sync", "../review", "-X", "theirs")
    assert run(agents, "cat", "HEAD:/agents/alice/budget").out == "20\n"


def test_files_a_reviewer_adds_beside_the_state_stay(loop):
    agents, review = loop
    (review / ".gitattributes").write_text("*.json diff=statevcs\n")
    git(review, "add", ".gitattributes")
    git(review, "commit", "-q", "-m", "attributes")
    run(agents, "set", "/agents/bob/status", '"busy"')
    run(agents, "commit", "-m", "agent")
    run(agents, "git", "sync", "../review")  # a merge: the state did not change on git's side
    assert ".gitattributes" in git(review, "ls-files").stdout.split()
    run(agents, "set", "/agents/bob/status", '"done"')
    run(agents, "commit", "-m", "agent again")
    run(agents, "git", "sync", "../review")  # a fast-forward on top of the merge
    assert ".gitattributes" in git(review, "ls-files").stdout.split()


def test_a_git_repository_no_export_wrote_is_refused(loop, tmp_path):
    agents, _ = loop
    code = tmp_path / "code"
    git(tmp_path, "init", "-q", "-b", "main", str(code))
    (code / "README.md").write_text("code\n")
    git(code, "add", "README.md")
    git(code, "commit", "-q", "-m", "code")
    before, ours = refs_of(code), run(agents, "git", "map", "../review").out
    for args in (["git", "sync", "../code"], ["git", "export", "../code"]):
        r = fails(agents, 3, *args)
        assert "no statevcs export wrote" in r.err and ".statevcs-layout.json" in r.err
    assert refs_of(code) == before and run(agents, "branch").out.count("\n") == 1
    assert run(agents, "git", "map", "../review").out == ours
    fails(agents, 3, "git", "map", "../code")  # nothing recorded for it


def test_a_rewritten_git_branch_is_refused_until_forced(loop):
    agents, review = loop
    run(agents, "set", "/agents/bob/status", '"busy"')
    run(agents, "commit", "-m", "agent")
    run(agents, "git", "sync", "../review")
    git(review, "reset", "-q", "--hard", "HEAD~1")  # the reviewer rewrites the branch
    reviewer_commits(review, "agents/bob.json", {"status": "rewritten"}, "rewritten")
    main, tracking = (run(agents, "log", "-1", "--json", rev).json()["commits"][0]["id"] for rev in ("main", "git/main"))
    for args in (["git", "sync", "../review"], ["git", "import", "../review"]):
        r = fails(agents, 3, *args)
        assert "its history was rewritten" in r.err and "statevcs git import --force ../review" in r.err
    assert [run(agents, "log", "-1", "--json", rev).json()["commits"][0]["id"] for rev in ("main", "git/main")] == \
        [main, tracking]  # nothing moved
    run(agents, "git", "import", "../review", "--force")
    assert run(agents, "cat", "main:/agents/bob/status").out == '"rewritten"\n'


def test_sync_through_a_url_pushes_without_force(tmp_path):
    hosted = tmp_path / "hosted.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(hosted))
    git(hosted, "config", "receive.denyNonFastForwards", "true")  # a force push would fail here
    url = hosted.as_uri()
    agents = tmp_path / "agents"
    run(tmp_path, "init", str(agents))
    (agents / "state.json").write_text('{"plan": {"steps": 1}, "notes": {"a": 1}}')
    run(agents, "commit", "-m", "one")
    run(agents, "git", "sync", url)  # the first sync is an export
    git(tmp_path, "clone", "-q", url, str(tmp_path / "pr"))
    reviewer_commits(tmp_path / "pr", "notes.json", {"a": 2}, "reviewed")
    git(tmp_path / "pr", "push", "-q", "origin", "main")
    run(agents, "set", "/plan/steps", "2")
    run(agents, "commit", "-m", "two")
    run(agents, "git", "sync", url)
    git(tmp_path / "pr", "pull", "-q", "--ff-only")  # the reviewer's clone fast-forwards too
    assert json.loads((tmp_path / "pr" / "plan.json").read_text()) == {"steps": 2}
    assert json.loads((tmp_path / "pr" / "notes.json").read_text()) == {"a": 2}


def test_sync_from_python_on_a_postgres_repository(tmp_path):
    from .conftest import postgres_url, require_postgres, track_postgres

    require_postgres()
    url = track_postgres(postgres_url())
    repo = Repository.init(url, author="agent")
    try:
        repo.commit({"a": 1, "b": 1}, "one")
        target = str(tmp_path / "review")
        export(repo, target)
        fix = reviewer_commits(target, "a.json", 2, "a is 2")
        repo.commit({"a": 1, "b": 2}, "b is 2")
        report = sync(repo, target)
        assert report.merged is not None and report.merged.kind == "merge"
        assert repo.get() == {"a": 2, "b": 2} and is_ancestor(target, fix, "main")
        reviewer_commits(target, "b.json", 3, "b is 3")
        repo.commit({"a": 1, "b": 4}, "b is 4 here")
        head, git_refs = repo.head().id, refs_of(target)
        with pytest.raises(MergeConflictError):
            sync(repo, target)
        assert repo.head().id == head and refs_of(target) == git_refs  # neither side moved
        assert repo.get("git/main")["b"] == 3  # git's side is kept, as after a fetch
    finally:
        repo.close()
