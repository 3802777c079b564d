"""Encryption at rest (docs/encryption.md): the store contract through EncryptedStore on every
backend, no plaintext in the database files, keys, remotes between plain and encrypted
repositories, fsck and tamper detection."""

from __future__ import annotations

import pytest

from statevcs.store.encrypted import open_encrypted
from statevcs.store.keys import generate_key
from statevcs.store.memory import MemoryStore
from statevcs.testing import StoreContract

from .conftest import make_store

KEY = generate_key()
OTHER_KEY = generate_key()


class TestEncryptedMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return open_encrypted(MemoryStore(), KEY, create=True)

    def corrupt(self, store, oid):
        store._corrupt(oid)


class TestEncryptedSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = open_encrypted(make_store("sqlite", tmp_path), KEY, create=True)
        yield s
        s.close()

    def corrupt(self, store, oid):
        store._corrupt(oid)


class TestEncryptedPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = open_encrypted(make_store("postgres", tmp_path), KEY, create=True)
        yield s
        s.close()

    def corrupt(self, store, oid):
        store._corrupt(oid)


# ---------------------------------------------------------------- repositories

import os  # noqa: E402
import sqlite3  # noqa: E402
import stat  # noqa: E402


from statevcs import Repository  # noqa: E402
from statevcs.errors import (  # noqa: E402
    CorruptObjectError,
    InvalidKeyError,
    KeyRequiredError,
    RepositoryExistsError,
    WrongKeyError,
)
from statevcs.store.encrypted import MARKER_REF  # noqa: E402

from .cli_helpers import fails, run  # noqa: E402
from .conftest import STORES, postgres_url, require_postgres, track_postgres  # noqa: E402
from .sqlite_rows import insert_ref, object_rows, set_object_row  # noqa: E402

MARK = "zebra-marker-7731"  # must never appear in an encrypted repository's files or rows
STATE = {
    "user": {"name": MARK, "notes": [f"{MARK} note {i}" for i in range(60)]},  # big: stored compressed
    "small": MARK + "-small",
}


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch):
    for name in ("STATEVCS_KEY", "STATEVCS_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def _fill(repo: Repository) -> None:
    repo.commit(STATE, message=f"message {MARK}", author=f"author {MARK}", metadata={"m": MARK})
    repo.create_tag("v1", message=f"tag {MARK}")
    repo.create_branch("side")


def _sqlite_bytes(workdir) -> bytes:
    """The database files' bytes, and every stored object row that is a zstd frame inflated
    (objects of 64 bytes or more are stored compressed: plaintext must not hide in them)."""
    db = os.path.join(workdir, ".statevcs", "statevcs.db")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    inflated = []
    for _, data in object_rows(conn):  # each object's bytes out of its (maybe compressed) pack
        inflated.append(bytes(data))
    conn.close()
    data = b""
    for suffix in ("", "-wal", "-journal"):
        if os.path.exists(db + suffix):
            with open(db + suffix, "rb") as f:
                data += f.read()
    return data + b"".join(inflated)


def _key_file(tmp_path, key=KEY, name="key") -> str:
    path = tmp_path / name
    path.write_text(key + "\n")
    path.chmod(0o600)  # a key file others can read is refused
    return str(path)


def test_sqlite_file_holds_no_plaintext(tmp_path):
    plain = Repository.init(str(tmp_path / "plain"))
    _fill(plain)
    commit_id = plain.head().id
    plain.close()
    assert MARK.encode() in _sqlite_bytes(tmp_path / "plain")  # the probe finds it when it is there

    repo = Repository.init(str(tmp_path / "enc"), key=KEY)
    _fill(repo)
    ids = [repo.head().id, repo.head().root, *repo.tags.values()]
    assert repo.get()["user"]["name"] == MARK
    repo.close()
    data = _sqlite_bytes(tmp_path / "enc")
    assert MARK.encode() not in data
    for oid in ids + [commit_id]:  # plain ids (and their bytes) are nowhere at rest either
        assert oid.encode() not in data and bytes.fromhex(oid) not in data
    reopened = Repository.open(str(tmp_path / "enc"), key=KEY)
    assert reopened.get() == STATE and reopened.head().message == f"message {MARK}"
    reopened.close()


def test_postgres_rows_hold_no_plaintext():
    require_postgres()
    import psycopg

    from statevcs.store.postgres import split_url

    url = track_postgres(postgres_url())
    repo = Repository.init(url, key=KEY)
    _fill(repo)
    ids = [repo.head().id, repo.head().root]
    repo.close()
    conn_url, name = split_url(url)
    with psycopg.connect(conn_url) as conn:
        rows = conn.execute("SELECT id, data FROM statevcs_objects WHERE repo = %s", (name,)).fetchall()
        rows += conn.execute("SELECT name, value FROM statevcs_refs WHERE repo = %s", (name,)).fetchall()
        rows += conn.execute("SELECT name, old, new, who, why FROM statevcs_reflog WHERE repo = %s",
                             (name,)).fetchall()
    assert len(rows) > 5
    blob = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for r in rows for v in r)
    assert MARK.encode() not in blob
    for oid in ids:
        assert oid.encode() not in blob and bytes.fromhex(oid) not in blob
    assert b"refs/heads/main" in blob  # ref names are metadata kept plain (docs/encryption.md)


def test_equal_states_have_unrelated_ids_at_rest(tmp_path):
    a = Repository.init(str(tmp_path / "a"), key=KEY)
    b = Repository.init(str(tmp_path / "b"), key=OTHER_KEY)
    p = Repository.init(str(tmp_path / "p"))
    for r in (a, b, p):
        r.commit(STATE, message="same")
    roots = {r.head().root for r in (a, b, p)}
    assert len(roots) == 1  # the same plain ids above the store
    rows_a, rows_b = set(a.store.inner.iter_ids()), set(b.store.inner.iter_ids())
    plain_ids = set(p.store.iter_ids())
    assert set(a.store.iter_ids()) >= {roots.pop()}
    assert rows_a and rows_b and not rows_a & rows_b and not rows_a & plain_ids and not rows_b & plain_ids
    for r in (a, b, p):
        r.close()


def test_missing_wrong_and_invalid_keys_fail_at_open_and_write_nothing(tmp_path):
    work = tmp_path / "enc"
    Repository.init(str(work), key=KEY).close()
    before = _sqlite_bytes(work)
    with pytest.raises(KeyRequiredError, match="encrypted"):
        Repository.open(str(work))
    with pytest.raises(WrongKeyError, match="wrong key"):
        Repository.open(str(work), key=OTHER_KEY)
    with pytest.raises(InvalidKeyError):
        Repository.open(str(work), key="not a key")
    assert _sqlite_bytes(work) == before
    Repository.init(str(tmp_path / "plain")).close()
    with pytest.raises(WrongKeyError, match="not encrypted"):
        Repository.open(str(tmp_path / "plain"), key=KEY)
    Repository.open(str(work), key=KEY).close()


def test_key_sources(tmp_path, monkeypatch):
    key_file = _key_file(tmp_path)
    repo = Repository.init(str(tmp_path / "enc"), key_file=key_file)
    repo.commit({"a": 1})
    repo.close()
    Repository.open(str(tmp_path / "enc")).close()  # key_file in the config
    os.unlink(key_file)
    with pytest.raises(InvalidKeyError, match="cannot read key file"):
        Repository.open(str(tmp_path / "enc"))
    monkeypatch.setenv("STATEVCS_KEY", KEY)  # the environment when the file is gone
    assert Repository.open(str(tmp_path / "enc")).get() == {"a": 1}
    monkeypatch.setenv("STATEVCS_KEY", OTHER_KEY)
    with pytest.raises(WrongKeyError):
        Repository.open(str(tmp_path / "enc"))
    import base64

    b64 = base64.b64encode(bytes.fromhex(KEY)).decode()
    assert Repository.open(str(tmp_path / "enc"), key=b64).get() == {"a": 1}


def test_plain_data_is_not_encrypted_in_place():
    from statevcs.store.encrypted import open_encrypted

    store = MemoryStore()
    store.update_ref("HEAD", "ref: refs/heads/main", None)
    with pytest.raises(RepositoryExistsError):
        open_encrypted(store, KEY, create=True)


def test_marker_ref_is_hidden_and_reserved():
    store = open_encrypted(MemoryStore(), KEY, create=True)
    assert store.list_refs() == {} and store.read_ref(MARKER_REF) is None
    assert store.inner.read_ref(MARKER_REF).startswith("statevcs-encryption v1")
    from statevcs.errors import InvalidRefNameError

    with pytest.raises(InvalidRefNameError):
        store.update_ref(MARKER_REF, "0" * 64)


@pytest.mark.parametrize("kind", STORES)
def test_fsck_gc_and_short_ids_on_encrypted_repositories(kind, tmp_path):
    store = open_encrypted(make_store(kind, tmp_path), KEY, create=True)
    repo = Repository(store, None, author="tester")
    store.update_ref("HEAD", "ref: refs/heads/main", None, "tester", "init")
    first = repo.commit({"a": [1, 2, 3], "b": {"c": MARK}}, message="one")
    repo.commit({"a": [1, 2], "b": {}}, message="two")
    assert repo.fsck().ok
    assert repo.rev_parse(first.id[:10]) == first.id
    assert [c.message for c in repo.log()] == ["two", "one"]
    repo.gc(prune="now", expire="now", expire_unreachable="now")
    assert repo.fsck().ok and repo.get() == {"a": [1, 2], "b": {}}
    repo.close()


def test_tampered_rows_are_detected(tmp_path):
    repo = Repository.init(str(tmp_path / "enc"), key=KEY)
    commit = repo.commit(STATE)
    repo.close()
    db = os.path.join(tmp_path, "enc", ".statevcs", "statevcs.db")
    conn = sqlite3.connect(db)
    rows = object_rows(conn, largest_first=True)
    (rid, data), (_, data2) = rows[0], rows[1]
    flipped = bytearray(data)
    flipped[-5] ^= 0x40  # one bit of the ciphertext
    set_object_row(conn, rid, bytes(flipped))
    conn.commit()
    repo = Repository.open(str(tmp_path / "enc"), key=KEY)
    with pytest.raises(CorruptObjectError):
        repo.get(commit.id)
    assert not repo.fsck().ok
    repo.close()
    # A whole row moved under another row's key (binding re-computed by an attacker without
    # the key is the best they can do: it still fails authentication).
    import blake3

    from statevcs.store.stored import SEALED_MAGIC

    assert data2[:len(SEALED_MAGIC)] == SEALED_MAGIC  # the inner store holds sealed rows
    body = data2[len(SEALED_MAGIC) + 32:]
    forged = SEALED_MAGIC + blake3.blake3(body, key=bytes(rid)).digest() + body
    set_object_row(conn, rid, data)
    set_object_row(conn, rid, forged)
    conn.commit()
    repo = Repository.open(str(tmp_path / "enc"), key=KEY)
    with pytest.raises(CorruptObjectError, match="authentication"):
        repo.get(commit.id)
    repo.close()
    # A ref value copied from another ref fails too (the ref name is associated data).
    main, = conn.execute("SELECT value FROM refs WHERE name = 'refs/heads/main'").fetchone()
    insert_ref(conn, "refs/heads/copy", main)
    conn.commit()
    conn.close()
    repo = Repository.open(str(tmp_path / "enc"), key=KEY)
    with pytest.raises(CorruptObjectError):
        repo.store.read_ref("refs/heads/copy")
    repo.close()


# ---------------------------------------------------------------- remotes


def _state_of(path, key=None):
    with Repository.open(str(path), key=key) as r:
        return r.get(), r.head().id, r.tags, r.tag_object("v1")


def test_clone_plain_to_encrypted_and_back(tmp_path):
    src = Repository.init(str(tmp_path / "plain"))
    _fill(src)
    src.close()
    enc = Repository.clone(str(tmp_path / "plain"), str(tmp_path / "enc"), key=KEY)
    enc.close()
    assert MARK.encode() not in _sqlite_bytes(tmp_path / "enc")
    assert _state_of(tmp_path / "enc", KEY) == _state_of(tmp_path / "plain")
    with pytest.raises(KeyRequiredError):
        Repository.clone(str(tmp_path / "enc"), str(tmp_path / "nokey"))
    assert not os.path.exists(tmp_path / "nokey" / ".statevcs")
    # encrypted -> plain: the source's key from the environment
    os.environ["STATEVCS_KEY"] = KEY
    back = Repository.clone(str(tmp_path / "enc"), str(tmp_path / "back"))
    back.close()
    del os.environ["STATEVCS_KEY"]
    assert MARK.encode() in _sqlite_bytes(tmp_path / "back")
    assert _state_of(tmp_path / "back") == _state_of(tmp_path / "plain")
    with Repository.open(str(tmp_path / "enc"), key=KEY) as r:
        assert r.fsck().ok


def test_fetch_and_push_between_differently_keyed_repositories(tmp_path):
    key_a, key_b = _key_file(tmp_path, KEY, "a.key"), _key_file(tmp_path, OTHER_KEY, "b.key")
    a = Repository.init(str(tmp_path / "a"), key_file=key_a)
    a.commit(STATE, message="from a")
    b = Repository.init(str(tmp_path / "b"), key_file=key_b)
    b.add_remote("a", str(tmp_path / "a"))  # a's key from a's own config
    b.fetch("a")
    b.merge("refs/remotes/a/main")
    assert b.get() == STATE
    b.commit({**STATE, "more": MARK}, message="from b")
    b.push("a", "main")
    a.close()
    b.close()
    with Repository.open(str(tmp_path / "a")) as ra, Repository.open(str(tmp_path / "b")) as rb:
        assert ra.get() == rb.get() and ra.head().id == rb.head().id
        assert ra.fsck().ok and rb.fsck().ok
    for name in ("a", "b"):
        assert MARK.encode() not in _sqlite_bytes(tmp_path / name)


def test_push_and_fetch_plain_and_encrypted_with_remote_key_file(tmp_path):
    key_file = _key_file(tmp_path)
    enc = Repository.init(str(tmp_path / "enc"), key=KEY)  # its key recorded nowhere
    enc.close()
    plain = Repository.init(str(tmp_path / "plain"))
    plain.commit(STATE, message="plain")
    plain.add_remote("vault", str(tmp_path / "enc"))
    with pytest.raises(KeyRequiredError):
        plain.push("vault", "main")
    plain.remove_remote("vault")
    plain.add_remote("vault", str(tmp_path / "enc"), key_file=key_file)
    plain.push("vault", "main")  # plain -> encrypted
    with Repository.open(str(tmp_path / "enc"), key=KEY) as e:
        e.commit({**STATE, "x": 1}, message="in vault")
    plain.fetch("vault")  # encrypted -> plain
    plain.merge("refs/remotes/vault/main")
    assert plain.get() == {**STATE, "x": 1}
    plain.close()
    assert MARK.encode() not in _sqlite_bytes(tmp_path / "enc")


# ---------------------------------------------------------------- command line


def test_cli_encrypted_repository(tmp_path):
    key = run(tmp_path, "keygen").out.strip()
    assert len(bytes.fromhex(key)) == 32
    fails(tmp_path, 3, "init", "--encrypt", "nokey")
    assert not (tmp_path / "nokey" / ".statevcs").exists()
    (tmp_path / "k").write_text(key)
    (tmp_path / "k").chmod(0o600)
    run(tmp_path, "init", "--encrypt", "--key-file", "k", "vault")
    work = tmp_path / "vault"
    (work / "state.json").write_text('{"secret": "%s"}' % MARK)
    run(work, "commit", "-m", "one")
    assert MARK in run(work, "get", "/secret").out
    assert run(work, "fsck").code == 0
    (tmp_path / "k").write_text(generate_key())
    r = fails(work, 3, "log")
    assert "key" in r.err
    r = fails(work, 3, "log", env={"STATEVCS_KEY": OTHER_KEY})
    (tmp_path / "k").unlink()
    r = fails(work, 3, "log")
    assert "cannot read key file" in r.err
    assert "one" in run(work, "log", env={"STATEVCS_KEY": key}).out
    assert MARK.encode() not in _sqlite_bytes(work)


def test_cli_clone_into_an_encrypted_copy(tmp_path):
    run(tmp_path, "init", "src")
    (tmp_path / "src" / "state.json").write_text('{"secret": "%s"}' % MARK)
    run(tmp_path / "src", "commit", "-m", "plain")
    run(tmp_path, "keygen", "--output", "k")
    fails(tmp_path, 2, "clone", "src", "nope", "--key-file", "k")
    run(tmp_path, "clone", "src", "vault", "--encrypt", "--key-file", "k")
    assert MARK in run(tmp_path / "vault", "cat", "HEAD", "/secret").out  # the recorded key_file opens it
    db = tmp_path / "vault" / ".statevcs" / "statevcs.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    assert MARK.encode() not in db.read_bytes()
    if not (os.environ.get("STATEVCS_KEY") or os.environ.get("STATEVCS_KEY_FILE")):
        fails(tmp_path, 3, "clone", "src", "v2", "--encrypt")
    assert not (tmp_path / "v2" / ".statevcs").exists()


def test_cli_remote_add_with_a_key_file(tmp_path):
    run(tmp_path, "keygen", "--output", "k")
    run(tmp_path, "init", "--encrypt", "--key-file", "k", "vault")
    (tmp_path / "vault" / "state.json").write_text('{"secret": "%s"}' % MARK)
    run(tmp_path / "vault", "commit", "-m", "sealed")
    run(tmp_path, "init", "plain")
    fails(tmp_path / "plain", 2, "remote", "--key-file", "k")
    run(tmp_path / "plain", "remote", "add", "vault", "../vault", "--key-file", "../k")
    run(tmp_path / "plain", "fetch", "vault")
    assert MARK in run(tmp_path / "plain", "cat", "vault/main", "/secret").out


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_open_to_other_users_is_refused(tmp_path, monkeypatch):
    key_file = _key_file(tmp_path)
    Repository.init(str(tmp_path / "enc"), key_file=key_file).close()
    for mode in (0o644, 0o640, 0o604, 0o620, 0o666):
        os.chmod(key_file, mode)
        with pytest.raises(InvalidKeyError) as info:
            Repository.open(str(tmp_path / "enc"))  # the key_file in its config
        assert f"(mode {mode:04o})" in str(info.value) and f"chmod 600 {key_file}" in str(info.value)
        monkeypatch.setenv("STATEVCS_KEY_FILE", key_file)
        with pytest.raises(InvalidKeyError, match="open to other users"):
            Repository.init(str(tmp_path / f"new{mode:o}"), key_file=key_file)
        assert not (tmp_path / f"new{mode:o}").exists()
        monkeypatch.delenv("STATEVCS_KEY_FILE")
    for mode in (0o600, 0o400):
        os.chmod(key_file, mode)
        Repository.open(str(tmp_path / "enc")).close()


def test_cli_keygen_output_and_a_key_file_others_can_read(tmp_path):
    assert run(tmp_path, "keygen", "--output", "k").out == "Wrote a new key to k (mode 600: readable by you only)\n"
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o600
    key = (tmp_path / "k").read_text()
    assert len(bytes.fromhex(key.strip())) == 32
    r = fails(tmp_path, 3, "keygen", "--output", "k")
    assert "k already exists" in r.err and (tmp_path / "k").read_text() == key  # never overwritten
    run(tmp_path, "init", "--encrypt", "--key-file", "k", "vault")
    (tmp_path / "vault" / "state.json").write_text('{"secret": "%s"}' % MARK)
    run(tmp_path / "vault", "commit", "-m", "one")
    os.chmod(tmp_path / "k", 0o644)
    before = run(tmp_path / "vault", "log", check=False)
    r = fails(tmp_path / "vault", 3, "log")
    assert "is open to other users (mode 0644)" in r.err and "chmod 600" in r.err
    fails(tmp_path / "vault", 3, "log", env={"STATEVCS_KEY_FILE": str(tmp_path / "k")})
    assert "one" in run(tmp_path / "vault", "log", env={"STATEVCS_KEY": key.strip()}).out  # the key itself still opens it
    os.chmod(tmp_path / "k", 0o600)
    assert "one" in run(tmp_path / "vault", "log").out and before.code == 3
