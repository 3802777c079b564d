"""Each store runs the shared contract from statevcs.testing."""

from __future__ import annotations

import pytest

from statevcs.store.memory import MemoryStore
from statevcs.store.sqlite import SQLiteStore
from statevcs.testing import StoreContract

from .conftest import make_store


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()

    def corrupt(self, store, oid):
        store._corrupt(oid)


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = SQLiteStore(str(tmp_path / "db.sqlite"), create=True)
        yield s
        s.close()

    def corrupt(self, store, oid):
        store._corrupt(oid)


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = make_store("postgres", tmp_path)
        yield s
        s.close()

    def corrupt(self, store, oid):
        store._corrupt(oid)
