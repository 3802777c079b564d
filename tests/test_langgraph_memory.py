"""The memory a LangGraph saver keeps: ``from_conn_string`` bounds its repository's object
cache (4 MiB unless ``cache_bytes`` or ``$STATEVCS_CACHE_BYTES`` says otherwise), refuses a
size it cannot use before anything is created, and what a graph sees does not depend on it."""

from __future__ import annotations

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import HumanMessage

from statevcs.errors import InvalidLimitError
from statevcs.integrations.langgraph import AsyncStateVCSSaver, StateVCSSaver
from statevcs.limits import DEFAULT_SAVER_CACHE_BYTES
from statevcs.model.reader import ENTRY_OVERHEAD, ByteLRU

from .conftest import postgres_url, require_postgres, track_postgres
from .langgraph_graphs import delta_graph, tool_graph


def test_a_saver_caches_four_mib_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("STATEVCS_CACHE_BYTES", raising=False)
    with StateVCSSaver.from_conn_string(str(tmp_path / "a")) as saver:
        assert saver.repo.objects.cache_bytes == DEFAULT_SAVER_CACHE_BYTES == 4 << 20
    with StateVCSSaver.from_conn_string(str(tmp_path / "a"), cache_bytes=1 << 20) as saver:
        assert saver.repo.objects.cache_bytes == 1 << 20
    monkeypatch.setenv("STATEVCS_CACHE_BYTES", str(64 << 20))
    with StateVCSSaver.from_conn_string("memory:") as saver:
        assert saver.repo.objects.cache_bytes == 64 << 20


@pytest.mark.parametrize("bad", [-1, 1.5, "4MB", True])
def test_a_cache_size_that_cannot_be_used_is_refused_before_anything_is_made(tmp_path, bad):
    with pytest.raises(InvalidLimitError, match="cache_bytes"):
        with StateVCSSaver.from_conn_string(str(tmp_path / "never"), cache_bytes=bad):
            pass
    assert not (tmp_path / "never").exists()


def test_the_async_saver_takes_the_same_cache_size(tmp_path):
    import asyncio

    async def main() -> int:
        async with AsyncStateVCSSaver.from_conn_string(str(tmp_path / "a"), cache_bytes=2 << 20) as saver:
            return saver.repo.objects.cache_bytes

    assert asyncio.run(main()) == 2 << 20


def _run(location: str, cache_bytes: int | None, delta: bool) -> tuple[list, list]:
    """A few turns of a graph; then what LangGraph reads back: the state and the history."""
    with StateVCSSaver.from_conn_string(location, cache_bytes=cache_bytes) as saver:
        graph = (delta_graph if delta else tool_graph)(saver)
        config = {"configurable": {"thread_id": "t"}}
        for i in range(6):
            graph.invoke({"messages": [HumanMessage(f"weather in city{i}?", id=f"u{i}")]}, config)
        with StateVCSSaver.from_conn_string(location, cache_bytes=cache_bytes) as fresh:
            again = (delta_graph if delta else tool_graph)(fresh)
            messages = [(type(m).__name__, m.content) for m in again.get_state(config).values["messages"]]  # tool ids are random
            history = [(h.config["configurable"]["checkpoint_id"], len(h.values.get("messages", [])), h.next)
                       for h in again.get_state_history(config)]
    return messages, history


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
@pytest.mark.parametrize("delta", [False, True])
def test_what_a_graph_reads_does_not_depend_on_the_cache(kind, delta, tmp_path):
    def where(name: str) -> str:
        if kind == "postgres":
            require_postgres()
            return track_postgres(postgres_url())
        return str(tmp_path / name)

    none_kept = _run(where("none"), 0, delta)
    small = _run(where("small"), 16 << 10, delta)
    default = _run(where("default"), None, delta)
    strip = [[(n, nxt) for _, n, nxt in run[1]] for run in (none_kept, small, default)]
    assert none_kept[0] == small[0] == default[0] and len(default[0]) >= 6
    assert strip[0] == strip[1] == strip[2] and len(strip[0]) > 6


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3000)), max_size=60),
       st.integers(0, 20000), st.integers(0, 20000))
def test_a_resized_cache_keeps_its_bound_and_its_newest_entries(puts, before, after):
    lru = ByteLRU(before)
    for key, size in puts:
        lru.put(str(key), key, size)
    last = {str(k): s for k, s in puts}  # each key's last put decides whether it can be held
    order = [k for k in dict.fromkeys(str(k) for k, _ in reversed(puts)) if last[k] + ENTRY_OVERHEAD <= before]
    lru.resize(after)
    assert lru.used <= after and lru.capacity == after
    kept = [k for k in order if k in lru]
    assert kept == order[: len(kept)]  # what stays is the most recent
    assert lru.used == sum(s + ENTRY_OVERHEAD for k, s in last.items() if k in lru)
    lru.put("new", 1, 10)
    assert lru.used <= after
