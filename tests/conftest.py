"""Shared fixtures: every repository test runs against every store."""

from __future__ import annotations

import json
import os
import pathlib

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

STORES = ["memory", "sqlite"]


def make_store(kind: str, tmp_path: pathlib.Path):
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(str(tmp_path / "statevcs.db"), create=True)
    raise ValueError(kind)


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
