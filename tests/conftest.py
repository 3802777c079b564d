"""Shared fixtures: every repository test runs against every store."""

from __future__ import annotations

import json
import os
import pathlib
import uuid

import pytest
from hypothesis import HealthCheck, settings

from statevcs import Repository
from statevcs.store.memory import MemoryStore
from statevcs.store.sqlite import SQLiteStore

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DATA = pathlib.Path(__file__).resolve().parent / "data"

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

STORES = ["memory", "sqlite", "postgres"]

#: The database the tests use (the CI machine's ``test``); they leave the schemas it has alone.
DATABASE_URL = os.environ.get("STATEVCS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def url_in_schema(schema: str) -> str:
    """DATABASE_URL with its connections in PostgreSQL schema ``schema`` (search_path)."""
    sep = "&" if "?" in DATABASE_URL else "?"
    return f"{DATABASE_URL}{sep}options=-csearch_path%3D{schema}"


#: Every PostgreSQL test of this run works in a schema of its own, made at the start and
#: dropped at the end: whatever other runs (or other versions of statevcs) left in the
#: database's tables neither reaches the tests nor is touched by them.
TEST_SCHEMA = f"svtest_{os.getpid()}_{uuid.uuid4().hex[:8]}"
POSTGRES_URL = url_in_schema(TEST_SCHEMA)


def _postgres_answer() -> str | None:
    """None when the test server answers (and this run's schema is made), else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[test]')"
    try:
        conn = psycopg.connect(DATABASE_URL, connect_timeout=3, autocommit=True)
    except Exception as exc:  # any failure to connect
        return f"no PostgreSQL server answers at {DATABASE_URL}: {str(exc).splitlines()[0]}"
    try:
        conn.execute(f"CREATE SCHEMA {TEST_SCHEMA}")
    except Exception as exc:  # e.g. a role without CREATE on the database
        return f"cannot make the tests' schema in {DATABASE_URL}: {str(exc).splitlines()[0]}"
    finally:
        conn.close()
    return None


def pytest_sessionfinish(session, exitstatus):
    """Drop this run's schema (workers of other runs keep theirs)."""
    if _PG_PROBLEM is not None:
        return
    import psycopg

    try:
        with psycopg.connect(DATABASE_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {TEST_SCHEMA} CASCADE")
    except Exception:  # the server went away: the schema is left, named for this run
        pass


_PG_PROBLEM = _postgres_answer()


def require_postgres() -> None:
    """Skip with the reason where no server answers; under CI that is a failure."""
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs PostgreSQL: {_PG_PROBLEM}")
    pytest.skip(_PG_PROBLEM)


def postgres_url(name: str | None = None) -> str:
    """A URL for a fresh, uniquely named repository in the test database."""
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}repo={name or 'test-' + uuid.uuid4().hex[:12]}"


_created: list = []


def make_store(kind: str, tmp_path: pathlib.Path):
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(str(tmp_path / "statevcs.db"), create=True)
    if kind == "postgres":
        require_postgres()
        from statevcs.store.postgres import PostgresStore

        store = PostgresStore(postgres_url(), create=True)
        _created.append(store.location)
        return store
    raise ValueError(kind)


@pytest.fixture(autouse=True)
def _drop_postgres_repositories():
    """Every PostgreSQL repository a test made is deleted afterwards."""
    yield
    while _created:
        url = _created.pop()
        try:
            from statevcs.store.postgres import PostgresStore

            store = PostgresStore(url)
        except Exception:
            continue
        store.destroy()
        store.close()


def track_postgres(url: str) -> str:
    _created.append(url)
    return url


@pytest.fixture(params=STORES)
def repo(request, tmp_path):
    """An empty repository (HEAD on unborn main) on each store."""
    store = make_store(request.param, tmp_path)
    r = Repository(store, None, author="tester")
    store.update_ref("HEAD", "ref: refs/heads/main", None, "tester", "init")
    yield r
    r.close()


@pytest.fixture
def fixture_state():
    def load(name: str):
        with open(FIXTURES / name, encoding="utf-8") as f:
            return json.load(f)

    return load
