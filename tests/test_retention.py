"""Retention on every store: branch expiry (gc removes only expired branches, with a reflog
entry saying why), prune (squash old history; kept states identical; refused when shared),
and stats."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from statevcs import Repository
from statevcs.errors import InvalidAgeError, InvalidPruneError, RefConflictError, SharedHistoryError
from statevcs.model.tree import read_tree
from statevcs.porcelain.upkeep.retention import EXPIRY_REF, expire_branches

from .cli_helpers import fails, run

PAST = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _commits(repo: Repository, n: int, branch: str | None = None) -> list:
    return [repo.commit({"n": i, "log": [f"entry {j}" * 30 for j in range(i + 1)]}, message=f"c{i}", branch=branch)
            for i in range(n)]


# ---------------------------------------------------------------- expiry


def test_gc_removes_only_expired_branches(repo):
    _commits(repo, 2)
    repo.create_branch("old", expires=PAST)
    repo.create_branch("later", expires="2h")
    repo.create_branch("dated", expires=timedelta(days=1))
    repo.create_branch("plain")
    assert set(repo.branch_expiries()) == {"old", "later", "dated"}
    assert repo.branch_expiries()["old"].expired and not repo.branch_expiries()["later"].expired
    report = repo.gc()
    assert report.branches_expired == ("old",)
    assert set(repo.branches) == {"main", "later", "dated", "plain"}
    entry = repo.store.reflog("refs/heads/old")[0]
    assert entry.new is None and entry.why.startswith("branch: expired (expiry 2020-01-01T00:00:00.000000Z")
    assert set(repo.branch_expiries()) == {"later", "dated"}
    assert repo.gc().branches_expired == ()


def test_expiry_table_is_one_ref_to_a_node(repo):
    _commits(repo, 1)
    repo.create_branch("tmp", expires="2h")
    value = repo.store.read_ref(EXPIRY_REF)
    table = read_tree(repo.objects, value)
    assert set(table) == {"tmp"} and set(table["tmp"]) == {"expires", "set", "by"}
    assert repo.fsck().ok


def test_current_branch_is_never_expired(repo):
    _commits(repo, 1)
    repo.set_branch_expiry("main", PAST)
    assert repo.gc().branches_expired == ()
    assert "main" in repo.branches and "main" in repo.branch_expiries()


def test_deleted_and_recreated_branch_loses_the_old_expiry(repo):
    _commits(repo, 2)
    repo.create_branch("tmp", expires=PAST)
    repo.delete_branch("tmp", force=True)
    repo.commit({"fresh": True}, message="new tmp", branch="tmp")  # not through create_branch
    assert expire_branches(repo) == ()
    assert "tmp" in repo.branches
    assert repo.store.read_ref(EXPIRY_REF) is None  # the stale entry was dropped
    repo.create_branch("tmp2", expires=PAST)
    repo.create_branch("tmp2", "HEAD~1", force=True)  # re-created without expiry: cleared
    assert "tmp2" not in repo.branch_expiries()


def test_expiry_bad_input(repo):
    _commits(repo, 1)
    with pytest.raises(InvalidAgeError):
        repo.create_branch("x", expires="soonish")
    assert "x" not in repo.branches
    with pytest.raises(RefConflictError):
        repo.create_branch("main", expires="2h")
    assert repo.store.read_ref(EXPIRY_REF) is None


# ---------------------------------------------------------------- prune


def test_prune_keeps_states_of_kept_commits(repo):
    _commits(repo, 6)
    before = list(repo.log("main"))
    report = repo.prune("main", keep=3)
    after = list(repo.log("main"))
    assert len(after) == 4 and report.squashed == 3
    for old, new in zip(before[:3], after[:3]):
        assert (new.root, new.message, new.author, new.timestamp) == (old.root, old.message, old.author, old.timestamp)
        assert new.id != old.id and report.id_map[old.id] == new.id
        assert new.metadata["pruned_from"] == old.id
    root = after[3]
    assert root.parents == () and root.root == before[3].root and root.generation == 1
    assert root.metadata["pruned"]["up_to"] == before[3].id
    assert [c.generation for c in after] == [4, 3, 2, 1]
    why = repo.store.reflog("refs/heads/main")[0].why
    assert why.startswith("prune: squashed 3 commit(s)")
    assert json.loads(why.split("rewrote ", 1)[1]) == report.id_map
    assert repo.store.reflog("HEAD")[0].new == report.new_tip
    assert repo.get() == {"n": 5, "log": [f"entry {j}" * 30 for j in range(6)]}
    assert repo.fsck().ok


def test_prune_since_and_nothing_to_do(repo):
    commits = _commits(repo, 4)
    report = repo.prune("main", since=commits[2].timestamp)
    assert len(report.rewritten) == 2 and report.squashed == 2
    again = repo.prune("main", keep=10)
    assert again.squashed == 0 and again.new_tip == again.old_tip
    with pytest.raises(InvalidPruneError):
        repo.prune("main")
    with pytest.raises(InvalidPruneError):
        repo.prune("main", keep=0)


def test_prune_refused_when_history_is_shared(repo):
    _commits(repo, 5)
    repo.create_tag("v1", "HEAD~3")
    objects = set(repo.store.iter_ids())
    tip = repo.branches["main"]
    with pytest.raises(SharedHistoryError, match="v1 shares its history"):
        repo.prune("main", keep=2)
    assert repo.branches["main"] == tip and set(repo.store.iter_ids()) == objects
    report = repo.prune("main", keep=2, force=True)
    assert repo.branches["main"] == report.new_tip != tip
    assert repo.tags["v1"] in objects  # the tag still names the old commit


def test_prune_then_gc_frees_the_old_history(repo):
    _commits(repo, 6)
    old = set(c.id for c in repo.log("main"))
    repo.prune("main", keep=1)
    repo.gc(prune="now", expire="now", expire_unreachable="now")
    left = set(repo.store.iter_ids())
    assert not (old & left)
    assert len(list(repo.log("main"))) == 2 and repo.fsck().ok


def test_prune_linearises_merges(repo):
    _commits(repo, 2)
    repo.create_branch("feature")
    repo.commit({"f": 1}, message="feature work", branch="feature")
    repo.commit({"n": 9, "log": []}, message="main work")
    merged = repo.merge("feature", strategy="source_wins")
    repo.delete_branch("feature", force=True)
    report = repo.prune("main", keep=1)
    head = repo.head()
    assert head.parents == (report.root,) and head.root == repo.objects.commit(merged.commit.id).root


# ---------------------------------------------------------------- stats


def test_stats(repo):
    for i in range(3):
        repo.commit({"small": i, "big": {"rows": [f"row {j} " * 10 for j in range(40 + i)]}}, message=f"c{i}")
    repo.create_branch("b", "HEAD~1")
    s = repo.stats(top=3)
    assert s.objects == len(set(repo.store.iter_ids())) and s.kinds["commit"] == 3
    assert s.raw_bytes > 0 and s.stored_bytes > 0
    assert s.branch_commits == {"b": 2, "main": 3}
    assert [p.path for p in s.largest_paths][:3] == ["", "/big", "/big/rows"]
    assert s.largest_paths[0].bytes >= s.largest_paths[1].bytes > 1000


# ---------------------------------------------------------------- command line


@pytest.fixture
def demo(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    for i in range(4):
        (d / "state.json").write_text(json.dumps({"n": i}))
        run(d, "commit", "-m", f"c{i}")
    return d


def test_cli_branch_expiry_and_gc(demo):
    assert "(expires " in run(demo, "branch", "tmp", "--expire-after", "2h").out
    run(demo, "branch", "gone", "--expire-after", "1s")
    listing = run(demo, "branch").out
    assert "tmp" in listing and "expires 20" in listing
    assert [b["expires"] is not None for b in run(demo, "branch", "--json").json()["branches"]] == [True, False, True]
    with Repository.open(str(demo)) as repo:
        repo.set_branch_expiry("gone", PAST)
    assert "[expired " in run(demo, "branch").out
    run(demo, "gc")
    assert [b["name"] for b in run(demo, "branch", "--json").json()["branches"]] == ["main", "tmp"]
    assert "branch: expired" in run(demo, "reflog", "refs/heads/gone").out
    fails(demo, 2, "branch", "--expire-after", "2h")
    fails(demo, 2, "branch", "x", "--expire-after", "whenever")  # a bad option value: a usage error


def test_cli_a_bad_age_is_a_usage_error_everywhere(demo):
    """docs/cli.md: a bad option value is a usage error (exit 2), and nothing changes."""
    before = run(demo, "branch").out, run(demo, "log", "--oneline").out, run(demo, "reflog").out
    for args in (["gc", "--prune=banana"], ["gc", "--expire", "banana"], ["gc", "--expire-unreachable", "-1d"],
                 ["reflog-expire", "--expire=banana"], ["prune", "main", "--since", "banana"],
                 ["prune", "main", "--since", "never"], ["branch", "x", "--expire-after", "banana"],
                 ["branch", "x", "--expire-after", "-2h"], ["log", "--since", "banana"]):
        r = fails(demo, 2, *args)
        assert "Invalid value for" in r.err, (args, r.err)
    assert (run(demo, "branch").out, run(demo, "log", "--oneline").out, run(demo, "reflog").out) == before


def test_cli_prune_and_stats(demo):
    run(demo, "tag", "v0", "HEAD~3")
    r = fails(demo, 3, "prune", "main", "--keep", "2")
    assert "v0 shares its history" in r.err and "--force" in r.err
    fails(demo, 2, "prune", "main")
    run(demo, "tag", "-d", "v0")
    before = run(demo, "log", "--oneline").out.splitlines()
    out = run(demo, "prune", "main", "--keep", "2").out
    lines = out.splitlines()
    assert lines[0].startswith("Squashed 2 commit(s) of main into") and len(lines) == 3
    assert all(" -> " in line for line in lines[1:])
    after = run(demo, "log", "--oneline").out.splitlines()
    assert [line.split(" ", 1)[1] for line in after[:2]] == [line.split(" ", 1)[1] for line in before[:2]]
    assert "Working state clean" in run(demo, "status").out
    data = run(demo, "stats", "--json").json()
    assert data["branch_commits"] == {"main": 3} and data["objects"] >= 3 and data["largest_paths"][0]["path"] == ""
    assert "commits per branch:" in run(demo, "stats").out
