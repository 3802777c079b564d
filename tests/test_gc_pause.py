"""Reads of whole states run with Python's cyclic collector paused (statevcs/gcpause.py):
no collection walks the containers a read is building, and the collector is left as the
caller had it, after a damaged read too, and when the caller had turned it off."""

from __future__ import annotations

import gc
import threading

import pytest

from statevcs import Repository
from statevcs.errors import CorruptObjectError
from statevcs.gcpause import gc_paused
from statevcs.model.tree import read_tree
from statevcs.store.memory import MemoryStore


@pytest.fixture
def collections():
    """Counts the collector's runs while the test's block runs."""
    seen: list[int] = []

    def count(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(count)
    yield seen
    gc.callbacks.remove(count)


@pytest.fixture
def big(repo):
    """A state of about 18,000 containers, on every store."""
    state = {"agents": [{"id": i, "memory": [{"role": "user", "text": f"m {i} {k}"} for k in range(5)]}
                        for i in range(3000)]}
    return repo, repo.commit(state), state


def test_a_big_read_runs_no_collection_and_leaves_the_collector_on(big, collections):
    repo, commit, state = big
    assert gc.isenabled()
    repo.objects.forget()
    before = len(collections)
    value = read_tree(repo.objects, commit.root)
    after = len(collections)
    assert after - before <= 1  # at most the one that follows the read (18,000 containers made)
    assert gc.isenabled() and value == state
    # The same containers built with the collector on trigger it again and again: the count
    # above could fail.
    rebuilt = [{"id": a["id"], "memory": [dict(m) for m in a["memory"]]} for a in state["agents"]]
    assert len(collections) - after > 5 and len(rebuilt) == 3000


def test_a_caller_that_turned_the_collector_off_keeps_it_off(big):
    repo, commit, state = big
    gc.disable()
    try:
        assert repo.get(commit.id) == state
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_damaged_read_leaves_the_collector_on():
    repo = Repository(MemoryStore(), None)
    commit = repo.commit({"a": [f"value {i}" * 20 for i in range(100)]})
    repo.store._objects[commit.root] = b"\x00obj1 damaged"  # bytes that are not the id's, behind the store's back
    repo.objects.forget()
    with pytest.raises(CorruptObjectError):
        read_tree(repo.objects, commit.root)
    assert gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_collector_on():
    ready, release = threading.Event(), threading.Event()

    def other():
        with gc_paused():
            ready.set()
            release.wait(5)

    t = threading.Thread(target=other)
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not turn it on under the outer one
        t.start()
        ready.wait(5)
    release.set()
    t.join(5)
    assert gc.isenabled()


def test_a_langgraph_history_is_read_with_the_collector_paused(tmp_path, collections):
    pytest.importorskip("langgraph.checkpoint.conformance")
    from langchain_core.messages import HumanMessage

    from statevcs.integrations.langgraph import StateVCSSaver

    from .langgraph_graphs import tool_graph

    with StateVCSSaver.from_conn_string(str(tmp_path / "lg")) as saver:
        graph = tool_graph(saver)
        config = {"configurable": {"thread_id": "t"}}
        for i in range(12):
            graph.invoke({"messages": [HumanMessage(f"weather in city{i}?", id=f"u{i}")]}, config)
        saver.repo.objects.forget()
        before = len(collections)
        history = list(saver.list(config))
        assert len(collections) - before <= 1  # the one after the read, if any
        assert gc.isenabled() and len(history) == 12 * 5
        counts = [len(h.checkpoint["channel_values"].get("messages", [])) for h in history]
        assert counts[0] == 48 and counts == sorted(counts, reverse=True)
        gc.disable()
        try:
            again = list(saver.list(config))
            assert not gc.isenabled()
        finally:
            gc.enable()
        assert [h.checkpoint["channel_values"] for h in again] == [h.checkpoint["channel_values"] for h in history]
