"""Export to git and import back, with real pygit2 and the real git binary, on every store."""

from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pygit2 = pytest.importorskip("pygit2")

from statevcs import Repository  # noqa: E402
from statevcs.errors import GitBridgeError  # noqa: E402
from statevcs.gitbridge.export import TreeWriter, export, target_key  # noqa: E402
from statevcs.gitbridge.idmap import PREFIX, load_map  # noqa: E402
from statevcs.gitbridge.import_ import StateReader, import_git  # noqa: E402
from statevcs.gitbridge.layout import (  # noqa: E402
    LAYOUT_FILE,
    Layout,
    decode_key,
    dir_name,
    encode_key,
    file_name,
    files_of,
)
from statevcs.model.canonical import strict_equal  # noqa: E402

from .cli_helpers import fails, run  # noqa: E402
from .conftest import make_store  # noqa: E402
from .strategies import json_values, keys  # noqa: E402


def git(cwd, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real git, with a home of its own (no user configuration leaks in)."""
    full = {**os.environ, "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T",
            "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
            **(env or {})}
    p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=full)
    if check and p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {p.returncode}: {p.stdout} {p.stderr}")
    return p


def build_history(repo: Repository) -> None:
    """Two branches that edit different agents, a merge, annotated and lightweight tags,
    keys that need escaping, metadata, and a state that is not an object."""
    team = {"agents": {"alice": {"status": "idle", "memory": ["m1"]}, "bob": {"status": "busy", "tokens": 10}},
            "team": {"name": "red", "budget": 1.5}, ".hidden": True, "a/b~c": [1, "two", None],
            "": "empty key", "x.json": {"nested": {"deep": 1}}, "ünï": "text\nwith lines"}
    repo.commit(team, "first state", metadata={"run": 1})
    repo.create_tag("v0")
    repo.create_branch("experiment")
    exp = {**team, "agents": {**team["agents"], "alice": {"status": "running", "memory": ["m1", "m2"]}}}
    repo.commit(exp, "alice runs", branch="experiment")
    main = {**team, "agents": {**team["agents"], "bob": {"status": "done", "tokens": 12}}, "team": {}}
    repo.commit(main, "bob done\n\nwith a body")
    repo.create_tag("v1", message="release one")
    repo.merge("experiment")
    repo.create_branch("scalar")
    repo.commit([1, 2, {"three": 3}], "an array state", branch="scalar")
    repo.commit("just text", "a scalar state", branch="scalar")


def graph(repo: Repository) -> dict[str, tuple]:
    """Every commit reachable from a branch or tag: id -> (root, parents, author, time, message, metadata)."""
    out: dict[str, tuple] = {}
    stack = list(repo.branches.values()) + list(repo.tags.values())
    while stack:
        oid = stack.pop()
        if oid in out:
            continue
        c = repo.objects.commit(oid)
        out[oid] = (c.root, c.parents, c.author, c.timestamp, c.message, c.metadata)
        stack.extend(c.parents)
    return out


@pytest.fixture
def target(tmp_path):
    return str(tmp_path / "exported")


# ---------------------------------------------------------------- layout


@given(keys)
def test_key_names_round_trip_and_are_safe(key):
    name = encode_key(key)
    assert decode_key(name) == key
    for entry in (file_name(key), dir_name(key)):
        assert "/" not in entry and entry not in (".", "..", ".git") and not entry.startswith(".")
    assert file_name(key) != dir_name(key) and decode_key(dir_name(key)) == key


@given(st.lists(keys, min_size=2, max_size=6, unique=True))
def test_a_file_and_a_directory_never_share_a_name(names):
    files = {file_name(k) for k in names}
    dirs = {dir_name(k) for k in names}
    assert not files & dirs


def _tree_of(g, files: dict[str, bytes]):
    """A git tree of {path: bytes} (the plain reference layout)."""
    index = pygit2.Index()
    for path, data in files.items():
        index.add(pygit2.IndexEntry(path, g.create_blob(data), pygit2.GIT_FILEMODE_BLOB))
    return index.write_tree(g)


@settings(max_examples=60)
@given(json_values, st.sampled_from([(), ("/*",), ("/a/*",), ("/*/*",), ("/a", "/b/*/c/*")]))
def test_every_state_reads_back_from_its_files(tmp_path_factory, value, split):
    g = pygit2.init_repository(str(tmp_path_factory.mktemp("layout")), bare=True)
    tree = _tree_of(g, files_of(value, Layout.make(list(split))))
    assert strict_equal(StateReader(g).state(str(tree)), value)


def test_split_pattern_makes_one_file_per_agent(repo, target):
    repo.commit({"agents": {"alice": {"s": 1}, "bob": {"s": 2}, "eve": "not an object", "zed": {}}, "team": []})
    export(repo, target, split=["/agents/*"])
    files = git(target, "ls-files").stdout.split()
    assert files == [LAYOUT_FILE, "agents/alice.json", "agents/bob.json", "agents/eve.json", "agents/zed.json",
                     "team.json"]
    assert open(os.path.join(target, "agents", "alice.json")).read() == '{\n  "s": 1\n}\n'


# ---------------------------------------------------------------- export and import


def test_export_then_import_gives_the_same_history(repo, tmp_path, target):
    build_history(repo)
    report = export(repo, target, all_refs=True, split=["/agents/*"])
    assert report.written == len(graph(repo))
    git(target, "fsck", "--strict")
    # branches and tags, annotated stay annotated
    assert set(git(target, "for-each-ref", "--format=%(refname) %(objecttype)").stdout.splitlines()) == {
        "refs/heads/main commit", "refs/heads/experiment commit", "refs/heads/scalar commit",
        "refs/tags/v0 commit", "refs/tags/v1 tag"}
    assert git(target, "cat-file", "-p", "v1").stdout.endswith("\n\nrelease one")
    # git log reads like statevcs log: same messages, authors, times, merge parents
    lines = git(target, "log", "--format=%s|%an|%at|%p", "--topo-order", "main").stdout.splitlines()
    ours = list(repo.log("main"))
    assert sorted((line.split("|")[0], int(line.split("|")[2])) for line in lines) == \
        sorted((c.summary, int(c.timestamp.timestamp())) for c in ours)
    assert all(line.split("|")[1] == "tester" for line in lines)
    assert lines[0].startswith("Merge") and len(lines[0].split("|")[3].split()) == 2  # a merge stays a merge
    # import into a fresh repository of the same store kind
    other = Repository(make_store("memory", tmp_path), None, author="someone else")
    other.store.update_ref("HEAD", "ref: refs/heads/main", None, "t", "init")
    imported = import_git(other, target)
    assert imported.commits == len(graph(repo))
    assert other.branches == repo.branches
    assert other.store.list_refs("refs/tags/") == repo.store.list_refs("refs/tags/")
    assert graph(other) == graph(repo)
    assert other.get("scalar") == "just text" and other.get("main") == repo.get("main")


def test_import_into_every_store(repo, tmp_path, target):
    source = Repository.memory(author="Ada <ada@example.com>")
    build_history(source)
    export(source, target, all_refs=True)
    import_git(repo, target)
    assert graph(repo) == graph(source)
    assert repo.branches == source.branches
    again = import_git(repo, target)  # importing again changes nothing
    assert again.refs == {**repo.store.list_refs("refs/heads/"), **repo.store.list_refs("refs/tags/")}


def test_export_is_deterministic_across_repositories_and_machines(tmp_path):
    source = Repository.memory(author="tester")
    build_history(source)
    first = export(source, str(tmp_path / "one"), all_refs=True)
    clone = Repository.memory(author="someone else")  # the same history in another store
    import_git(clone, str(tmp_path / "one"))
    env = {"HOME": str(tmp_path), "GIT_AUTHOR_NAME": "Other", "TZ": "Asia/Tokyo", "GIT_COMMITTER_DATE": "1 +0900"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        second = export(clone, str(tmp_path / "two"), all_refs=True, bare=True)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert first.refs == second.refs


def test_second_export_writes_only_new_commits(repo, target):
    repo.commit({"agents": {"a": {"n": 1}}})
    assert export(repo, target, split=["/agents/*"]).written == 1
    assert repo.store.list_refs(PREFIX)  # the record is kept in the statevcs repository
    repo.commit({"agents": {"a": {"n": 2}}})
    again = export(repo, target)  # the recorded layout is kept without --split
    assert again.written == 1 and again.layout == Layout(("/agents/*",))
    assert export(repo, target).written == 0
    assert git(target, "rev-list", "--count", "main").stdout.strip() == "2"
    assert os.path.exists(os.path.join(target, "agents", "a.json"))  # the checkout follows
    with pytest.raises(GitBridgeError, match="layout of a target never changes"):
        export(repo, target, split=["/other/*"])


def test_export_refuses_to_drop_git_commits_without_force(repo, target):
    first = repo.commit({"n": 1})
    repo.commit({"n": 2})
    export(repo, target)
    repo.reset(first.id)
    with pytest.raises(GitBridgeError, match="--force"):
        export(repo, target)
    export(repo, target, force=True)
    assert git(target, "rev-list", "--count", "main").stdout.strip() == "1"


def test_git_diff_and_blame_read_naturally(repo, target):
    repo.commit({"agents": {"alice": {"status": "idle", "tokens": 1}}}, "start")
    repo.create_branch("experiment")
    repo.commit({"agents": {"alice": {"status": "running", "tokens": 1}}}, "alice runs", branch="experiment")
    export(repo, target, all_refs=True, split=["/agents/*"])
    diff = git(target, "diff", "main..experiment").stdout
    assert '-  "status": "idle",' in diff and '+  "status": "running",' in diff
    assert "agents/alice.json" in diff and "tokens" not in diff.split("@@")[-1].split("\n", 1)[0]
    blame = git(target, "blame", "--line-porcelain", "experiment", "--", "agents/alice.json").stdout
    summaries = [line for line in blame.splitlines() if line.startswith("summary ")]
    assert summaries == ["summary start", "summary alice runs", "summary start", "summary start"]


def test_import_reads_commits_made_in_git(repo, target, tmp_path):
    repo.commit({"agents": {"alice": {"status": "idle"}}}, "start")
    export(repo, target, split=["/agents/*"])
    with open(os.path.join(target, "agents", "bob.json"), "w") as f:
        f.write('{"status": "new", "a": 1}')  # not pretty: any JSON reads
    git(target, "add", "agents/bob.json")
    git(target, "commit", "-q", "-m", "bob joins")
    import_git(repo, target)
    assert repo.get() == {"agents": {"alice": {"status": "idle"}, "bob": {"a": 1, "status": "new"}}}
    assert repo.head().author == "T <t@example.com>" and repo.head().message == "bob joins\n"
    with open(os.path.join(target, "README.md"), "w") as f:
        f.write("not state")
    git(target, "add", "README.md")
    git(target, "commit", "-q", "-m", "readme")
    with pytest.raises(GitBridgeError, match="README.md is not a state file"):
        import_git(repo, target)


def test_import_refuses_a_file_that_is_not_json(repo, target):
    repo.commit({"a": 1})
    export(repo, target)
    with open(os.path.join(target, "a.json"), "w") as f:
        f.write("{oops")
    git(target, "commit", "-qam", "broken")
    with pytest.raises(GitBridgeError, match="a.json is not valid JSON"):
        import_git(repo, target)


# ---------------------------------------------------------------- histories made by hypothesis

ops = st.lists(st.tuples(st.sampled_from(["commit", "branch", "merge", "tag", "atag"]), st.integers(0, 3),
                         json_values), min_size=1, max_size=10)


@settings(max_examples=25)
@given(ops, st.sampled_from([(), ("/*",), ("/*/*",)]))
def test_any_history_round_trips(tmp_path_factory, steps, split):
    repo = Repository.memory(author="tester")
    repo.commit({"start": 0}, "root")
    names = ["main"]
    for n, (op, pick, value) in enumerate(steps):
        name = names[pick % len(names)]
        if op == "commit":
            repo.commit(value, f"commit {n}", branch=name, allow_empty=True)
        elif op == "branch":
            repo.create_branch(f"b{n}", name)
            names.append(f"b{n}")
        elif op == "merge" and name != repo.current_branch:
            repo.merge(name, strategy="target_wins", ff="never")
        elif op in ("tag", "atag"):
            repo.create_tag(f"t{n}", name, message=f"tag {n}" if op == "atag" else None)
    where = tmp_path_factory.mktemp("hist")
    export(repo, str(where / "g"), all_refs=True, bare=True, split=list(split))
    git(where / "g", "fsck", "--strict")
    # each tree, patched from its parent's, is the tree built from scratch
    g = pygit2.Repository(str(where / "g"))
    fresh = TreeWriter(g, repo.objects, Layout.make(list(split)))
    for sv, gid in load_map(repo, target_key(str(where / "g"))).commits.items():
        assert g[gid].tree_id == fresh.root_tree(repo.objects.commit(sv).root)
    back = Repository.memory()
    import_git(back, str(where / "g"))
    assert graph(back) == graph(repo)
    assert back.store.list_refs("refs/heads/") | back.store.list_refs("refs/tags/") == \
        repo.store.list_refs("refs/heads/") | repo.store.list_refs("refs/tags/")
    # git's branches are kept as git/BRANCH on both sides (export and import say where git's branches are)
    assert back.store.list_refs("refs/remotes/git/") == {"refs/remotes/git/" + k[len("refs/heads/"):]: v
                                                        for k, v in repo.store.list_refs("refs/heads/").items()}
    assert repo.store.list_refs("refs/remotes/git/") == back.store.list_refs("refs/remotes/git/")


# ---------------------------------------------------------------- the command line


def test_cli_export_push_and_import(tmp_path):
    work = tmp_path / "work"
    run(tmp_path, "init", str(work))
    (work / "state.json").write_text('{"agents": {"alice": {"status": "idle"}}}')
    run(work, "commit", "-m", "first")
    run(work, "switch", "-c", "experiment")
    (work / "state.json").write_text('{"agents": {"alice": {"status": "busy"}}}')
    run(work, "commit", "-m", "busy")
    out = run(work, "git", "export", str(tmp_path / "review"), "--all", "--split", "/agents/*").out
    assert "Exported 2 new commit(s)" in out
    assert run(work, "git", "export", str(tmp_path / "review"), "--all").out.startswith("Exported 0 new commit(s)")
    # a URL target: exported into a local copy, then pushed with git
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "hosted.git"))
    url = (tmp_path / "hosted.git").as_uri()
    report = run(work, "git", "export", url, "--all", "--json").json()
    assert report["written"] == 2
    assert git(tmp_path / "hosted.git", "rev-parse", "experiment").stdout.strip() == report["refs"]["refs/heads/experiment"]
    git(tmp_path / "hosted.git", "fsck", "--strict")
    # import into a new repository: the working file is loaded
    run(tmp_path, "init", str(tmp_path / "copy"))
    assert "Imported 2 commit(s)" in run(tmp_path / "copy", "git", "import", url).out
    assert run(tmp_path / "copy", "log", "experiment").out == \
        run(work, "log", "experiment").out
    fails(work, 3, "git", "export", str(tmp_path / "review"), "--split", "/x/*")
    fails(work, 3, "git", "import", str(tmp_path / "nowhere"))


def test_cli_export_from_postgres(tmp_path):
    from .conftest import postgres_url, require_postgres, track_postgres

    require_postgres()
    url = track_postgres(postgres_url())
    run(tmp_path, "init", url)
    run(tmp_path, "-C", url, "set", "--help")  # the URL repository answers
    repo = Repository.open(url)
    repo.commit({"agents": {"a": 1}}, "one")
    repo.close()
    run(tmp_path, "-C", url, "git", "export", str(tmp_path / "g"))
    repo = Repository.open(url)
    repo.commit({"agents": {"a": 2}}, "two")
    repo.close()
    assert "Exported 1 new commit(s)" in run(tmp_path, "-C", url, "git", "export", str(tmp_path / "g")).out
    git(tmp_path / "g", "fsck", "--strict")


def test_export_to_a_path_that_cannot_hold_a_repository_is_one_error_line(tmp_path):
    from .cli_helpers import fails, run

    run(tmp_path, "init", "r")
    (tmp_path / "r" / "state.json").write_text('{"a": 1}')
    run(tmp_path / "r", "commit", "-m", "one")
    (tmp_path / "file").write_text("not a directory")
    r = fails(tmp_path / "r", 3, "git", "export", str(tmp_path / "file" / "sub"))
    assert "cannot create a git repository" in r.err


# ---------------------------------------------------------------- hostile or unusual git repositories
def deep_git(path, depth: int, leaf: bytes = b"1\n", reuse: int = 0):
    """A bare git repository whose one commit holds a chain of ``depth`` directories; with
    ``reuse``, the chain's bottom ``reuse`` levels also sit at the top as ``shallow``."""
    g = pygit2.init_repository(str(path), bare=True)
    builder = g.TreeBuilder()
    builder.insert("x.json", g.create_blob(leaf), pygit2.GIT_FILEMODE_BLOB)
    tree = builder.write()
    shared = tree
    for level in range(depth - 1):
        builder = g.TreeBuilder()
        builder.insert("a", tree, pygit2.GIT_FILEMODE_TREE)
        tree = builder.write()
        if level + 2 == reuse:
            shared = tree
    if reuse:
        builder = g.TreeBuilder(g[tree])
        builder.insert("shallow", shared, pygit2.GIT_FILEMODE_TREE)
        tree = builder.write()
    signature = pygit2.Signature("a", "a@example.com")
    g.create_commit("refs/heads/main", signature, signature, "deep", tree, [])
    return str(path)


def nothing_moved(repo):
    return repo.store.list_refs(), sum(1 for _ in repo.store.iter_ids())


@pytest.mark.parametrize("depth", [300, 600, 5000])
def test_import_of_a_tree_deeper_than_the_limit_is_refused(repo, tmp_path, depth):
    source = deep_git(tmp_path / f"deep{depth}", depth)
    before = nothing_moved(repo)
    with pytest.raises(GitBridgeError, match="nests the state deeper than the limit of 256 levels"):
        import_git(repo, source)
    assert nothing_moved(repo) == before


def test_import_depth_counts_directories_and_the_json_inside_them(repo, tmp_path):
    before = nothing_moved(repo)
    # 200 directories, then a file whose JSON nests 100 more levels: 300 in all.
    with pytest.raises(GitBridgeError, match="x.json nests the state deeper"):
        import_git(repo, deep_git(tmp_path / "mixed", 200, leaf=b"[" * 100 + b"]" * 100))
    # The same 100-level tree at the top (fine, read first) and at the bottom of 200 more.
    with pytest.raises(GitBridgeError, match="nests the state deeper"):
        import_git(repo, deep_git(tmp_path / "reused", 300, reuse=100))
    assert nothing_moved(repo) == before
    import_git(repo, deep_git(tmp_path / "fits", 255, leaf=b"[]"))  # 255 directories + [] = 256 levels
    assert repo.get("main", "/a" * 254 + "/x") == []


def test_cli_import_of_a_very_deep_tree_is_one_error_line(tmp_path):
    source = deep_git(tmp_path / "deep", 5000)
    run(tmp_path, "init", "r")
    r = fails(tmp_path / "r", 3, "git", "import", source)
    assert "limit of 256 levels (STATEVCS_MAX_DEPTH)" in r.err
    assert "main" not in run(tmp_path / "r", "branch").out


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_import_into_a_repository_without_head_from_a_detached_git_head(tmp_path, kind):
    source = tmp_path / "detached"
    git(tmp_path, "init", "-q", "-b", "main", str(source))
    (source / "a.json").write_text("1")
    git(source, "add", "a.json")
    git(source, "commit", "-qm", "one")
    (source / "a.json").write_text("2")
    git(source, "commit", "-qam", "two")
    git(source, "checkout", "-q", "--detach", "HEAD~1")
    repo = Repository(make_store(kind, tmp_path), None, author="tester")  # no HEAD at all
    try:
        import_git(repo, str(source))
        assert repo.store.read_ref("HEAD") == repo.head().id  # detached at the commit git's HEAD names
        assert repo.head().message == "one\n" and repo.get() == {"a": 1}
    finally:
        repo.close()
    # Detached at a commit no branch holds (so not imported): HEAD goes to a branch instead.
    (source / "a.json").write_text("3")
    git(source, "commit", "-qam", "three, on no branch")
    repo = Repository(make_store("memory", tmp_path), None, author="tester")
    import_git(repo, str(source))
    assert repo.store.read_ref("HEAD") == "ref: refs/heads/main" and repo.get() == {"a": 2}
