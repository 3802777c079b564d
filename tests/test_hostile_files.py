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
