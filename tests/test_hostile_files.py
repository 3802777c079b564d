"""Broken files in .statevcs/ and a broken working file: the readers raise only the
library's own errors (one `error:` line on the command line), never an internal error."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statevcs import Repository, StateVCSError
from statevcs.porcelain.merging.merges import repository_policies
from statevcs.porcelain.worktree.merge_state import MergeState

from .cli_helpers import run

FILES = ["config.json", "attributes", "MERGE_STATE.json", "WORKTREE.json", "../state.json"]

_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_contents = st.one_of(
    st.binary(max_size=64),
    _json_like.map(lambda v: __import__("json").dumps(v).encode()),
    st.sampled_from([b"", b"\xff\xfe", b"{", b'{"remotes": []}', b'{"working_file": 5}', b"[1,2]",
                     b'{"base": 7}', b'{"version": 1, "base": null}', b"/x union\n/y nonsense\n",
                     b'"\\ud800"', b'{"a": 1, "a": 2}', b"NaN", b'{"source": 1}']),
)


@pytest.fixture(scope="module")
def repo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile") / "r"
    run(d.parent, "init", "r")
    (d / "state.json").write_text('{"a": 1}')
    run(d, "commit", "-m", "first")
    return d


def _read_everything(path: str) -> None:
    repo = Repository.open(path)
    try:
        repo.config()
        repository_policies(repo, None)
        MergeState.load(repo.meta_dir)
        repo.working_file.base()
        repo.working_file.read()
        repo.working_status()
    finally:
        repo.close()


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(FILES), content=_contents)
def test_readers_raise_only_library_errors(repo_dir, name, content):
    path = os.path.join(repo_dir, ".statevcs", name)
    original = open(path, "rb").read() if os.path.exists(path) else None
    try:
        with open(path, "wb") as f:
            f.write(content)
        try:
            _read_everything(str(repo_dir))
        except StateVCSError:
            pass
    finally:
        if original is None:
            os.unlink(path)
        else:
            with open(path, "wb") as f:
                f.write(original)


@pytest.mark.parametrize("name,content", [
    ("config.json", b'{"remotes": []}'), ("config.json", b"\xff"), ("attributes", b"\xff\xfe"),
    ("MERGE_STATE.json", b"garbage"), ("MERGE_STATE.json", b'{"version": 1}'), ("WORKTREE.json", b"{"),
    ("../state.json", b'{"a": "\\udfff"}'), ("../state.json", b"\xff"),
])
def test_the_cli_answers_broken_files_with_one_error_line(tmp_path, name, content):
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"a": 1}')
    run(d, "commit", "-m", "first")
    with open(d / ".statevcs" / name, "wb") as f:
        f.write(content)
    for args in (["status"], ["commit", "-m", "x"], ["merge", "main"], ["diff"]):
        r = run(d, *args, check=False)
        assert "internal error" not in r.err and "Traceback" not in r.err, (args, r.err)
        if r.code != 0:
            lines = r.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (args, r.err)
    if name == "MERGE_STATE.json":  # the way out always works
        run(d, "merge", "--abort")
        assert run(d, "status").code == 0


# ---------------------------------------------------------------- paths whose bytes are not UTF-8
@pytest.fixture
def odd_dir(tmp_path):
    """A directory named with bytes that are not UTF-8 (legal on POSIX, as git allows)."""
    name = os.fsdecode(b"nonutf8_\xff\xfe")  # lone surrogates stand for the bytes (PEP 383)
    try:
        (tmp_path / name).mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes UTF-8 names only")
    return tmp_path / name


def test_a_repository_in_a_directory_whose_name_is_not_utf8(odd_dir, tmp_path):
    from .cli_helpers import fails

    repo, clone, odd_file = odd_dir / "r", odd_dir / "c", os.fsdecode(b"p\xff.json")
    run(tmp_path, "init", str(repo))
    (repo / "state.json").write_text('{"a": 1}')
    run(repo, "commit", "-m", "from inside")
    run(tmp_path, "-C", str(repo), "commit", "-m", "with -C", "--allow-empty")
    assert run(tmp_path, "-C", str(repo), "log", "--oneline").out.count("\n") == 2
    (odd_dir / "x.json").write_text('{"b": 2}')
    run(tmp_path, "-C", str(repo), "commit", "-f", str(odd_dir / "x.json"), "-m", "from a file")
    run(tmp_path, "clone", str(repo), str(clone))
    (odd_dir / odd_file).write_text('[{"op": "add", "path": "/c", "value": 3}]')
    run(tmp_path, "-C", str(clone), "apply", str(odd_dir / odd_file))  # message: Apply p\xff.json
    assert "Apply p\\xff.json" in run(tmp_path, "-C", str(clone), "log", "--oneline", "-1").out
    run(tmp_path, "-C", str(clone), "push", "origin")
    assert run(tmp_path, "-C", str(repo), "get", "/c").out == "3\n"
    assert "clone: from" in run(tmp_path, "-C", str(clone), "reflog").out
    run(tmp_path, "-C", str(clone), "bundle", "create", str(odd_dir / "b.svb"))
    run(tmp_path, "-C", str(repo), "fetch", str(odd_dir / "b.svb"))  # a remote named by its path
    run(tmp_path, "clone", str(odd_dir / "b.svb"), str(odd_dir / "from-bundle"))
    run(tmp_path, "init", "--working-file", odd_file, str(odd_dir / "w"))
    assert (odd_dir / "w" / odd_file).read_text() == "{}\n"
    # Text is still text: a message, a name or a pointer that is not UTF-8 is a usage error.
    head = run(repo, "log", "--oneline").out
    bad = os.fsdecode(b"bad \xff")
    for args in (["commit", "-m", bad, "--allow-empty"], ["switch", "-c", bad], ["set", "/k", '"' + bad + '"'],
                 ["diff", "--path", "/" + bad], ["tag", bad]):
        r = fails(repo, 2, *args)
        assert "is not UTF-8 text" in r.err and "\\udcff" in r.err, r.err
    assert run(repo, "log", "--oneline").out == head


def test_git_export_and_import_through_a_directory_whose_name_is_not_utf8(odd_dir, tmp_path):
    pytest.importorskip("pygit2")
    run(tmp_path, "init", str(odd_dir / "r"))
    (odd_dir / "r" / "state.json").write_text('{"a": 1}')
    run(odd_dir / "r", "commit", "-m", "one")
    run(odd_dir / "r", "git", "export", str(odd_dir / "g"))
    assert "Exported 0 new commit(s)" in run(odd_dir / "r", "git", "export", str(odd_dir / "g")).out
    run(tmp_path, "init", str(odd_dir / "back"))
    assert "Imported 1 commit(s)" in run(odd_dir / "back", "git", "import", str(odd_dir / "g")).out


# ---------------------------------------------------------------- settings of the wrong type
def _two_branches(tmp_path):
    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    (d / "state.json").write_text('{"users": {"a": 1}}')
    run(d, "commit", "-m", "one")
    run(d, "switch", "-c", "side")
    (d / "state.json").write_text('{"users": {"a": 2}}')
    run(d, "commit", "-m", "two")
    run(d, "switch", "main")
    (d / "state.json").write_text('{"users": {"a": 3}}')
    run(d, "commit", "-m", "three")
    return d


def _unchanged(d):
    return run(d, "log", "--all", "--oneline").out, (d / "state.json").read_text(), run(d, "reflog").out


def test_a_bad_lock_timeout_is_one_error_line(tmp_path):
    from .cli_helpers import fails

    d = _two_branches(tmp_path)
    before = _unchanged(d)
    for value, args in (("abc", ["status"]), ("-1", ["commit", "-m", "x", "--allow-empty"]), ("nan", ["log"]),
                        ("inf", ["merge", "side"]), ("1e999", ["status"]), ("30s", ["status"])):
        r = fails(d, 3, *args, env={"STATEVCS_LOCK_TIMEOUT": value})
        assert f"STATEVCS_LOCK_TIMEOUT={value!r} is not a number of seconds" in r.err and "default of 30" in r.err
    assert _unchanged(d) == before
    run(d, "status", env={"STATEVCS_LOCK_TIMEOUT": "0.5"})
    run(d, "status", env={"STATEVCS_LOCK_TIMEOUT": ""})


def test_a_remote_that_is_not_a_location_is_one_error_line(tmp_path):
    import json

    from .cli_helpers import fails

    d = _two_branches(tmp_path)
    config = json.loads((d / ".statevcs" / "config.json").read_text())
    before = _unchanged(d)
    for value, args in ((5, ["fetch", "origin"]), (None, ["push", "origin"]), (["a"], ["pull", "origin"]),
                        ("", ["remote"])):
        (d / ".statevcs" / "config.json").write_text(json.dumps({**config, "remotes": {"origin": value}}))
        r = fails(d, 3, *args)
        assert f"config.json: remote 'origin' is {value!r}" in r.err and "statevcs remote remove origin" in r.err
    assert _unchanged(d) == before
    run(d, "status")  # the rest of the repository works meanwhile
    run(d, "remote", "remove", "origin")  # and the way out the message names does too
    assert run(d, "remote").out == ""
    (d / ".statevcs" / "config.json").write_text(json.dumps({**config, "working_file": 7}))
    assert '"working_file" is 7, not a file name' in fails(d, 3, "status").err


def test_an_attributes_pattern_that_is_not_a_pointer_is_one_error_line(tmp_path):
    from .cli_helpers import fails

    d = _two_branches(tmp_path)
    (d / ".statevcs" / "attributes").write_text("/users/a ours\nusers/* theirs\n")
    before = _unchanged(d)
    r = fails(d, 3, "merge", "side", "-m", "merge")
    assert "attributes: attributes line 2: pattern 'users/*' must be a JSON Pointer" in r.err
    assert "'/users/* theirs'" in r.err
    assert _unchanged(d) == before
    (d / ".statevcs" / "attributes").write_text("/users/a ours\n/users/* theirs\n")
    run(d, "merge", "side", "-m", "merge")


# ---------------------------------------------------------------- text in the store that is not UTF-8
def _patch_db(d, sql: str) -> None:
    """Write into the SQLite store behind statevcs's back: CAST(x'..' AS TEXT) stores any bytes."""
    import sqlite3

    con = sqlite3.connect(d / ".statevcs" / "statevcs.db")
    con.execute(sql)
    con.commit()
    con.close()


def _patch_moves(d, old: bytes, new: bytes) -> None:
    """Replace bytes in every pack's reflog entries behind statevcs's back, in whichever form
    they are stored (JSON text, or the schema 5 BLOB: a lead, then a stored form)."""
    import sqlite3

    from statevcs.store.stored import pack, unpack

    con = sqlite3.connect(d / ".statevcs" / "statevcs.db")
    con.text_factory = bytes
    for p, moves, kind in con.execute("SELECT p, moves, typeof(moves) FROM packs WHERE moves IS NOT NULL").fetchall():
        if kind == b"text":
            con.execute("UPDATE packs SET moves = CAST(? AS TEXT) WHERE p = ?", (moves.replace(old, new), p))
            continue
        lead, _, stored = moves.partition(b"\0")
        con.execute("UPDATE packs SET moves = ? WHERE p = ?",
                    (lead + b"\0" + pack(unpack(stored, "moves").replace(old, new)), p))
    con.commit()
    con.close()


def test_text_in_the_store_that_is_not_utf8_reads_escaped(tmp_path):
    from .cli_helpers import fails

    run(tmp_path, "init", "r")
    d = tmp_path / "r"
    run(d, "commit", "-m", "one", "--allow-empty")
    main = run(d, "log", "--json").json()["commits"][0]["id"]
    _patch_db(d, f"INSERT INTO refs (name, value) VALUES (CAST(x'{b'refs/heads/b'.hex()}ff' AS TEXT), '{main}')")  # a name
    _patch_moves(d, b"commit: o", b"commit: o\xff")  # every reason
    for args in (["branch"], ["gc"], ["reflog"], ["reflog", "main"], ["status"], ["log"]):
        r = run(d, *args)
        assert "internal error" not in r.err and "Traceback" not in r.err, (args, r.err)
    assert "b\\xff" in run(d, "branch").out  # readable, escaped
    assert "commit: o\\xff" in run(d, "reflog").out
    r = run(d, "fsck", check=False)
    assert r.code == 1 and "ref refs/heads/b\\xff has an invalid name" in r.out
    # HEAD naming a branch whose name is not UTF-8: readable; a commit refuses to create it.
    _patch_db(d, f"UPDATE refs SET value = CAST(x'{b'ref: refs/heads/m'.hex()}ff' AS TEXT) WHERE name = 'HEAD'")
    for args in (["status"], ["log"], ["branch"], ["gc"], ["reflog"]):
        r = run(d, *args, check=False)
        assert "internal error" not in r.err and "Traceback" not in r.err and r.code in (0, 3), (args, r.err)
    assert "On branch m\\xff" in run(d, "status").out
    branches = run(d, "branch").out
    r = fails(d, 3, "commit", "-m", "two", "--allow-empty")
    assert "HEAD names refs/heads/m\\xff" in r.err and "statevcs switch BRANCH" in r.err
    assert run(d, "branch").out == branches  # nothing created
    assert "HEAD names refs/heads/m\\xff" in run(d, "fsck", check=False).out
    run(d, "switch", "main")  # the way out
    run(d, "commit", "-m", "two", "--allow-empty")
