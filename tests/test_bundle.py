"""Bundles: one verifiable backup file; created from and fetched into every store; clone and
fetch read it as a remote; a truncated, tampered or incomplete bundle is refused, nothing imported."""

from __future__ import annotations

import os

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statevcs import Repository
from statevcs.errors import CorruptObjectError, InvalidBundleError, ReadOnlyStoreError
from statevcs.porcelain.transfer.remotes import fetch
from statevcs.store.bundle import MAGIC, BundleStore, read_bundle, write_bundle

from .cli_helpers import fails, run


def _history(repo: Repository) -> None:
    for i in range(5):
        repo.commit({"n": i, "notes": [f"note {j} " * 20 for j in range(i + 3)]}, message=f"c{i}")
    repo.create_tag("v1", "HEAD~2", message="first release")
    repo.create_tag("light", "HEAD~1")
    repo.create_branch("side", "HEAD~3")
    repo.commit({"side": True}, message="side work", branch="side")


def _roots(repo: Repository, rev: str) -> list[tuple[str, str]]:
    return [(c.root, c.message) for c in repo.log(rev)]


def test_round_trip_through_every_store(repo, tmp_path):
    _history(repo)
    path = str(tmp_path / "backup.svb")
    report = repo.bundle_create(path)
    assert set(report.refs) == {"HEAD", "refs/heads/main", "refs/heads/side", "refs/tags/v1", "refs/tags/light"}
    assert not report.thin and report.size == os.path.getsize(path)
    checked = Repository.verify_bundle(path)
    assert checked.objects == report.objects and checked.refs == report.refs
    # Fetch into a fresh repository on the same kind of store as the fixture's (memory here).
    other = Repository.memory(author="t")
    got = fetch(other, path)
    assert got.transfer.objects == report.objects
    for name in ("main", "side"):
        oid = repo.branches[name]
        assert other.store.has(oid) and _roots(other, oid) == _roots(repo, name)
    assert other.tags == repo.tags
    # And the other way: a bundle fetched into the fixture's store.
    repo2_path = str(tmp_path / "again.svb")
    other.create_branch("copy", repo.branches["side"])
    other.bundle_create(repo2_path, ["copy"])
    fetch(repo, repo2_path)
    assert repo.store.read_ref("refs/tags/v1") is not None


def test_clone_from_bundle_gives_same_refs_and_roots(tmp_path):
    src = Repository.init(str(tmp_path / "src"), author="t")
    _history(src)
    path = str(tmp_path / "b.svb")
    src.bundle_create(path)
    clone = Repository.clone(path, str(tmp_path / "dst"))
    tracking = {k.split("/", 3)[3]: v for k, v in clone.store.list_refs("refs/remotes/origin/").items()}
    assert tracking == src.branches
    assert clone.branches == {"main": src.branches["main"]} and clone.current_branch == "main"
    assert clone.tags == src.tags
    for name in src.branches:
        assert _roots(clone, src.branches[name]) == _roots(src, name)
    assert clone.get() == src.get()
    assert clone.fsck().ok


def _tampered(path: str, how: str) -> None:
    data = bytearray(open(path, "rb").read())
    if how == "flip":
        data[len(data) // 2] ^= 0x40
    elif how == "flip-header":
        data[3] ^= 0x01
    elif how == "truncate":
        del data[len(data) - 7:]
    elif how == "truncate-half":
        del data[len(data) // 2:]
    elif how == "append":
        data += b"garbage"
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("how", ["flip", "flip-header", "truncate", "truncate-half", "append"])
def test_tampered_bundle_is_refused_and_imports_nothing(repo, tmp_path, how):
    src = Repository.memory(author="t")
    _history(src)
    path = str(tmp_path / "b.svb")
    src.bundle_create(path)
    _tampered(path, how)
    with pytest.raises(InvalidBundleError) as exc:
        Repository.verify_bundle(path)
    assert "not a usable bundle" in str(exc.value)
    before = set(repo.store.iter_ids()), repo.store.list_refs()
    with pytest.raises(InvalidBundleError):
        fetch(repo, path)
    assert (set(repo.store.iter_ids()), repo.store.list_refs()) == before
    with pytest.raises(InvalidBundleError):
        Repository.clone(path, str(tmp_path / "clone"))
    assert not os.path.exists(tmp_path / "clone")


def test_object_that_does_not_hash_to_its_id_is_refused(tmp_path):
    """A bundle re-checksummed after an object was changed: the object's own hash catches it."""
    src = Repository.memory(author="t")
    commit = src.commit({"a": 1}, message="one")
    ids = [commit.root, commit.id]
    raw = {oid: src.store.get(oid) for oid in ids}
    raw[commit.root] = raw[commit.root].replace(b"1", b"2")
    path = str(tmp_path / "forged.svb")
    write_bundle(path, {"refs/heads/main": commit.id}, (), ids, raw.__getitem__)
    with pytest.raises(InvalidBundleError, match="does not hash to its id"):
        read_bundle(path)


def test_incomplete_bundle_is_refused_by_verify_and_fetch(repo, tmp_path):
    src = Repository.memory(author="t")
    a = src.commit({"a": 1}, message="one")
    b = src.commit({"a": 2}, message="two")
    path = str(tmp_path / "holey.svb")
    ids = [b.root, b.id]  # the parent commit and its root are missing, and not listed as prerequisites
    write_bundle(path, {"refs/heads/main": b.id}, (), ids, src.store.get)
    with pytest.raises(InvalidBundleError, match="incomplete"):
        Repository.verify_bundle(path)
    with pytest.raises(CorruptObjectError):
        fetch(repo, path)
    assert list(repo.store.iter_ids()) == [] and a.id not in repo.store.list_refs().values()


def test_thin_bundle_needs_its_prerequisites(repo, tmp_path):
    src = Repository.memory(author="t")
    _history(src)
    full, thin = str(tmp_path / "full.svb"), str(tmp_path / "thin.svb")
    src.bundle_create(full, ["v1"])
    report = src.bundle_create(thin, ["main"], exclude=["v1"])
    assert report.thin and report.prerequisites == (src.rev_parse("v1"),)
    with pytest.raises(InvalidBundleError, match="thin bundle"):
        Repository.verify_bundle(thin)
    with pytest.raises(InvalidBundleError, match="neither in the bundle nor in this repository"):
        Repository.verify_bundle(thin, repo)
    with pytest.raises(CorruptObjectError, match="prerequisites"):
        fetch(repo, thin)
    assert list(repo.store.iter_ids()) == []
    fetch(repo, full)
    assert Repository.verify_bundle(thin, repo).thin
    fetch(repo, thin)
    main = src.branches["main"]
    assert repo.store.has(main) and _roots(repo, main) == _roots(src, "main")


def test_bundle_store_is_read_only_and_names_bad_files(tmp_path):
    src = Repository.memory(author="t")
    src.commit({"a": 1}, message="one")
    path = str(tmp_path / "b.svb")
    src.bundle_create(path)
    store = BundleStore(path)
    with pytest.raises(ReadOnlyStoreError):
        store.update_ref("refs/heads/x", src.branches["main"])
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(InvalidBundleError, match="magic"):
        read_bundle(str(other))
    version = tmp_path / "future.svb"
    version.write_bytes(MAGIC + b"\x00\x00\x00\x09" + b"x" * 40)
    with pytest.raises(InvalidBundleError, match="version 9"):
        read_bundle(str(version))
    (tmp_path / "empty.svb").write_bytes(b"")
    with pytest.raises(InvalidBundleError, match="magic"):
        read_bundle(str(tmp_path / "empty.svb"))


def test_cli_bundle_flows(tmp_path):
    run(tmp_path, "init", "src")
    src = tmp_path / "src"
    for i in range(3):
        (src / "state.json").write_text(f'{{"n": {i}}}')
        run(src, "commit", "-m", f"c{i}")
    run(src, "tag", "v1")
    out = run(src, "bundle", "create", "../b.svb").out
    assert "Wrote ../b.svb: 3 ref(s)" in out
    out = run(tmp_path, "bundle", "verify", "b.svb").out
    assert "b.svb is okay: 3 ref(s)" in out and "(complete)" in out
    assert run(tmp_path, "bundle", "verify", "b.svb", "--json").json()["ok"] is True
    run(tmp_path, "clone", "b.svb", "dst")
    assert run(tmp_path / "dst", "log", "--oneline").out == run(src, "log", "--oneline").out
    # fetch FILE, directly and through a named remote
    (src / "state.json").write_text('{"n": 9}')
    run(src, "commit", "-m", "c9")
    run(src, "bundle", "create", "../b2.svb", "main")
    run(tmp_path / "dst", "remote", "add", "backup", "../b2.svb")
    out = run(tmp_path / "dst", "fetch", "backup").out
    assert "refs/remotes/backup/main" in out
    assert run(tmp_path / "dst", "log", "--oneline", "backup/main").out == run(src, "log", "--oneline").out
    assert run(tmp_path / "dst", "fetch", "../b2.svb").out.strip() == "Already up to date."
    r = fails(tmp_path / "dst", 3, "push", "--force", "backup", "main")
    assert "read-only" in r.err
    # tampered: refused with one error line; the clone leaves nothing behind
    data = (tmp_path / "b.svb").read_bytes()
    (tmp_path / "bad.svb").write_bytes(data[:-10])
    assert "checksum does not match" in fails(tmp_path, 3, "bundle", "verify", "bad.svb").err
    assert "nothing was imported" in fails(tmp_path, 3, "clone", "bad.svb", "bad").err
    assert not (tmp_path / "bad").exists()
    before = run(tmp_path / "dst", "log", "--oneline", "backup/main").out
    fails(tmp_path / "dst", 3, "fetch", "../bad.svb")
    assert run(tmp_path / "dst", "log", "--oneline", "backup/main").out == before


def test_cli_thin_bundle(tmp_path):
    run(tmp_path, "init", "src")
    src = tmp_path / "src"
    for i in range(3):
        (src / "state.json").write_text(f'{{"n": {i}}}')
        run(src, "commit", "-m", f"c{i}")
    out = run(src, "bundle", "create", "../thin.svb", "main", "--exclude", "HEAD~1").out
    assert "thin: needs 1 commit(s)" in out
    assert "thin bundle" in fails(tmp_path, 3, "bundle", "verify", "thin.svb").err
    assert "present here" in run(src, "bundle", "verify", "../thin.svb").out


_blobs = st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=8, unique=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blobs=_blobs, position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_format_round_trips_and_any_flipped_bit_is_refused(tmp_path, blobs, position, bit):
    objects = {blake3.blake3(b).hexdigest(): b for b in blobs}
    ids = list(objects)
    refs = {"refs/heads/main": ids[0], "HEAD": "ref: refs/heads/main"}
    path = str(tmp_path / "p.svb")
    write_bundle(path, refs, ids[1:2], ids, objects.__getitem__)
    contents = read_bundle(path)
    assert (contents.refs, contents.objects, contents.prerequisites) == (refs, objects, tuple(ids[1:2]))
    data = bytearray(open(path, "rb").read())
    data[position % len(data)] ^= 1 << bit
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(InvalidBundleError):
        read_bundle(path)


def test_a_bundle_over_the_total_size_limit_is_refused(repo, tmp_path, monkeypatch):
    for i in range(4):
        repo.commit({"big": [f"{i}-" + "x" * 600] * 3}, message=f"c{i}")
    path = str(tmp_path / "big.bundle")
    repo.bundle_create(path)
    assert read_bundle(path)  # whole under the default limit
    monkeypatch.setenv("STATEVCS_MAX_BUNDLE_SIZE", "2048")
    with pytest.raises(InvalidBundleError, match="bundle size limit"):
        read_bundle(path)


def _raw_bundle(path, ref_pairs, objects, prerequisites=()):
    """A bundle written byte by byte (what write_bundle never makes: a ref twice, say)."""
    import struct

    import zstandard

    from statevcs.store.bundle import _HEADER

    body = struct.pack(">I", len(ref_pairs))
    for name, value in ref_pairs:
        for text in (name, value):
            data = text.encode()
            body += struct.pack(">H", len(data)) + data
    body += struct.pack(">I", len(prerequisites)) + b"".join(bytes.fromhex(p) for p in prerequisites)
    body += struct.pack(">Q", len(objects))
    for oid, raw in objects:
        body += bytes.fromhex(oid) + struct.pack(">I", len(raw)) + raw
    data = _HEADER + zstandard.ZstdCompressor().compress(body)
    with open(path, "wb") as f:
        f.write(data + blake3.blake3(data).digest())
    return str(path)


def _refused_everywhere(repo, tmp_path, path, *needles):
    """verify, fetch and clone refuse the bundle with one message holding every needle; nothing lands."""
    with pytest.raises(InvalidBundleError) as info:
        Repository.verify_bundle(path)
    for needle in needles:
        assert needle in str(info.value)
    assert path in str(info.value) and "\\x" not in str(info.value)
    before = set(repo.store.iter_ids()), repo.store.list_refs()
    with pytest.raises(InvalidBundleError):
        fetch(repo, path)
    assert (set(repo.store.iter_ids()), repo.store.list_refs()) == before
    with pytest.raises(InvalidBundleError):
        Repository.clone(path, str(tmp_path / "clone"))
    assert not os.path.exists(tmp_path / "clone")


def _two_commits():
    src = Repository.memory(author="t")
    one = src.commit({"n": 1}, message="one")
    two = src.commit({"n": 2}, message="two")
    return src, one, two, [(o, src.store.get(o)) for o in (one.root, one.id, two.root, two.id)]


def test_a_bundle_listing_a_ref_twice_is_refused(repo, tmp_path):
    src, one, two, objects = _two_commits()
    path = _raw_bundle(tmp_path / "dup.svb", [("refs/heads/main", two.id), ("refs/heads/main", one.id)], objects)
    _refused_everywhere(repo, tmp_path, path, "lists the ref refs/heads/main twice")
    # The same ref once, or two refs at one commit, are fine.
    ok = _raw_bundle(tmp_path / "ok.svb", [("refs/heads/main", two.id), ("refs/heads/copy", two.id)], objects)
    assert set(read_bundle(ok).refs) == {"refs/heads/main", "refs/heads/copy"}


def test_an_encrypted_row_in_a_plain_bundle_is_refused_at_verify(repo, tmp_path):
    from statevcs.model.objects import encode_commit
    from statevcs.store.stored import SEALED_MAGIC

    src, one, two, objects = _two_commits()
    fake = "ab" * 32  # a sealed row verifies under any id: its keyed hash takes the id as key
    body = b"anything at all"
    sealed = SEALED_MAGIC + blake3.blake3(body, key=bytes.fromhex(fake)).digest() + body
    as_tag = _raw_bundle(tmp_path / "tag.svb", [("refs/heads/main", one.id), ("refs/tags/x", fake)],
                         objects + [(fake, sealed)])
    _refused_everywhere(repo, tmp_path, as_tag, f"object {fake} is an encrypted-at-rest row")
    commit, raw = encode_commit(fake, (), 1, "x", one.timestamp, "a root that is sealed", {})
    as_root = _raw_bundle(tmp_path / "root.svb", [("refs/heads/main", commit.id)], [(fake, sealed), (commit.id, raw)])
    _refused_everywhere(repo, tmp_path, as_root, f"object {fake} is an encrypted-at-rest row")


def test_cli_bundle_refusals_name_the_bundle_and_the_path_given(tmp_path):
    src, one, two, objects = _two_commits()
    _raw_bundle(tmp_path / "dup.svb", [("refs/heads/main", two.id), ("refs/heads/main", one.id)], objects)
    assert "dup.svb is not a usable bundle: it lists the ref refs/heads/main twice" in \
        fails(tmp_path, 3, "bundle", "verify", "dup.svb").err
    run(tmp_path, "init", "r")
    run(tmp_path / "r", "commit", "-m", "one")
    r = fails(tmp_path / "r", 3, "bundle", "create", str(tmp_path / "missing" / "dir" / "b.svb"))
    assert f"cannot write the bundle (No such file or directory): {tmp_path / 'missing' / 'dir' / 'b.svb'}" in r.err
    assert ".bundle-" not in r.err and not (tmp_path / "missing").exists()
