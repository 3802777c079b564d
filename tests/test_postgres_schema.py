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
