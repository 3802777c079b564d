"""Encryption at rest (docs/encryption.md): the store contract through EncryptedStore on every
backend, no plaintext in the database files, keys, remotes between plain and encrypted
repositories, fsck and tamper detection."""

from __future__ import annotations

import pytest

from statevcs.store.encrypted import EncryptedStore, open_encrypted
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
