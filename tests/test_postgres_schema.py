"""The PostgreSQL schema is versioned and migrated forward explicitly."""

from __future__ import annotations

import uuid

import pytest

from statevcs import NotARepositoryError, Repository
from statevcs.store.postgres import SCHEMA_VERSION, migrate

from .conftest import POSTGRES_URL, require_postgres


@pytest.fixture
def schema_url():
    """A URL whose connections use a fresh, empty PostgreSQL schema (dropped afterwards)."""
    require_postgres()
    import psycopg

    name = f"svcs_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    admin.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{name}", name
    admin.execute(f"DROP SCHEMA {name} CASCADE")
    admin.close()


def test_init_creates_and_records_the_schema(schema_url):
    import psycopg

    url, name = schema_url
    with pytest.raises(NotARepositoryError, match="no statevcs repositories"):
        Repository.open(url + "&repo=a")
    repo = Repository.init(url + "&repo=a")
    repo.commit({"x": 1})
    with psycopg.connect(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM statevcs_schema ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        assert migrate(conn) == SCHEMA_VERSION  # already current: nothing to do
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,))}
        assert {"statevcs_objects", "statevcs_refs", "statevcs_reflog", "statevcs_repos"} <= tables
    Repository.init(url + "&repo=b").close()  # a second repository reuses the schema
    repo.close()


def test_newer_schema_is_refused(schema_url):
    import psycopg

    url, _ = schema_url
    Repository.init(url + "&repo=a").close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO statevcs_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(NotARepositoryError, match="schema version"):
        Repository.open(url + "&repo=a")
    with pytest.raises(NotARepositoryError, match="schema version"):
        Repository.init(url + "&repo=b")


def _names(url):
    import psycopg

    with psycopg.connect(url) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM statevcs_repos"))


def test_a_repository_name_too_long_is_refused_before_anything_is_made(schema_url):
    from urllib.parse import quote

    url, _ = schema_url
    Repository.init(url + "&repo=a").close()
    for name in ("r" * 8000, "é" * 513, "a\x00b"):  # 8,000 bytes, 1,026 bytes, a NUL
        for _ in range(2):  # and again: the first attempt left nothing behind
            with pytest.raises(NotARepositoryError, match="at most 1,024 UTF-8 bytes, without NUL"):
                Repository.init(f"{url}&repo={quote(name)}")
        with pytest.raises(NotARepositoryError, match="at most 1,024"):
            Repository.open(f"{url}&repo={quote(name)}")
    assert _names(url) == ["a"]
    longest = Repository.init(f"{url}&repo={quote('é' * 512)}")  # exactly 1,024 bytes
    longest.commit({"n": 1}, "fits")
    longest.close()
    assert _names(url) == ["a", "é" * 512]


def test_a_failed_init_leaves_no_repository(schema_url):
    from statevcs.errors import InvalidKeyError

    url, _ = schema_url
    Repository.init(url + "&repo=a").close()
    with pytest.raises(InvalidKeyError):
        Repository.init(url + "&repo=sealed", key="not a key")  # refused after the name was registered
    assert _names(url) == ["a"]
    Repository.init(url + "&repo=sealed", key="11" * 32).close()
    assert _names(url) == ["a", "sealed"]


def test_cli_init_with_a_name_too_long_is_one_error_line(schema_url, tmp_path):
    from .cli_helpers import fails

    url, _ = schema_url
    long_url = url + "&repo=" + "r" * 8000
    for _ in range(2):
        r = fails(tmp_path, 3, "init", long_url)
        assert "is 8,000 bytes long" in r.err and "at most 1,024 UTF-8 bytes" in r.err
    fails(tmp_path, 3, "-C", long_url, "log")
