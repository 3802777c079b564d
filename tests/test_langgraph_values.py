"""What the LangGraph saver stores is readable JSON and loads back exactly: every value type
LangGraph users keep, LangGraph's own channel types, and DeltaChannel (LangGraph 1.2),
through real graphs on the embedded store and on PostgreSQL, compared with InMemorySaver."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pydantic
import pydantic.v1
import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from statevcs.integrations.langgraph import StateVCSSaver
from statevcs.integrations.langgraph.threads import writes_records
from statevcs.integrations.langgraph.typed import TAG

from .conftest import postgres_url, require_postgres, track_postgres
from .langgraph_graphs import delta_graph, fan_graph, typed_graph, typed_values


def _location(kind: str, tmp_path) -> str:
    if kind == "postgres":
        require_postgres()
        return track_postgres(postgres_url())
    return str(tmp_path / f"repo-{uuid.uuid4().hex[:8]}")


def opaque_leaves(value: Any, path: str = "") -> list[str]:
    """Pointers of the opaque (base64) leaves in a stored JSON value."""
    if isinstance(value, dict):
        if isinstance(value.get(TAG), dict):
            return [path]
        return [p for k, v in value.items() for p in opaque_leaves(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in opaque_leaves(v, f"{path}/{i}")]
    return []


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (a tuple is not a list here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (pydantic.BaseModel, pydantic.v1.BaseModel)):
        return same(dict(a.__dict__), dict(b.__dict__))
    if dataclasses.is_dataclass(a):
        return same(dataclasses.asdict(a), dataclasses.asdict(b))
    if isinstance(a, (set, frozenset)):
        return a == b and sorted(map(type, a), key=str) == sorted(map(type, b), key=str)
    return a == b


def writes_states(repo) -> list[Any]:
    return [writes_records(repo, v) for v in repo.store.list_refs("refs/langgraph/writes/").values()]


# ---------------------------------------------------------------- every value type
@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_every_value_type_round_trips_through_a_real_graph_with_its_type_and_reads_as_json(kind, tmp_path):
    config = {"configurable": {"thread_id": "typed"}}
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path)) as saver:
        graph = typed_graph(saver)
        for _ in range(3):
            graph.invoke({}, config)
        values = graph.get_state(config).values
        assert same(values, typed_values(3)), values
        history = [h.values for h in graph.get_state_history(config) if h.values]
        assert all(same(h, typed_values(h["turn"])) for h in history)
        assert {h["turn"] for h in history} == {1, 2, 3}

        repo = saver.repo
        stored = repo.get("threads/typed")
        assert opaque_leaves(stored) == []
        assert stored["when"] == {"$lg": "datetime", "v": "2024-05-01T12:00:03+00:00"}
        assert stored["profile"]["class"] == "tests.langgraph_graphs:Profile"
        assert stored["profile"]["v"]["notes"][0]["v"]["text"] == "n3"
        assert stored["legacy"]["$lg"] == "pydantic.v1" and stored["point"]["$lg"] == "dataclass"
        assert stored["budget"]["spent"] == {"$lg": "decimal", "v": "3.25"}  # a TypedDict is a plain object
        assert stored["blob"] == {"$lg": "bytes", "b64": "AwD/"} and stored["pair"] == {"$lg": "tuple", "v": [3, "two"]}
        changed = {p["path"]: p.get("value") for p in repo.diff("threads/typed~3", "threads/typed").patch}
        assert changed["/when/v"] == "2024-05-01T12:00:03+00:00" and changed["/amount/v"] == "3.30"


def test_a_class_the_serializer_does_not_allow_loads_as_its_plain_payload():
    """Loading a class follows LangGraph's allowlist: strict mode refuses test classes, and
    (as LangGraph's serializer does) the value comes back as its plain JSON payload."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from statevcs.integrations.langgraph.codec import decode_value, encode_value

    from .langgraph_graphs import Point

    encoded = encode_value(Point(1.0, 2.0), JsonPlusSerializer())
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    assert decode_value(encoded, strict) == {"x": 1.0, "y": 2.0, "label": "calm"}
    allowed = JsonPlusSerializer(allowed_msgpack_modules=[Point, ("tests.langgraph_graphs", "Mood")])
    assert decode_value(encoded, allowed) == Point(1.0, 2.0)


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_sends_joins_reducers_and_interrupts_are_readable_and_resume_as_with_inmemorysaver(kind, tmp_path):
    config = {"configurable": {"thread_id": "fan"}}
    theirs = fan_graph(InMemorySaver())
    expected = theirs.invoke({"items": [1, 2, 3]}, config)
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path)) as saver:
        graph = fan_graph(saver)
        waiting = graph.invoke({"items": [1, 2, 3]}, config)
        assert waiting["__interrupt__"][0].value == expected["__interrupt__"][0].value == {"results": 5}
        assert waiting["results"] == [(1, 2), (2, 4), (3, 6), ("left", 0), ("right", 0)]  # tuples stay tuples
        repo = saver.repo
        for commit in repo.log("threads/fan"):
            assert opaque_leaves(repo.get(commit)) == [], commit.message
        assert repo.get("threads/fan~2", "/__pregel_tasks/0") == {"$lg": "send", "node": "work", "arg": {"item": 1}}
        assert repo.get("threads/fan", "/join:left+right:summarize") == {"$lg": "set", "v": ["left", "right"]}
        pending = writes_states(repo)  # the interrupt, readable
        assert len(pending) == 1 and pending[0][0]["value"]["v"][0]["class"] == "langgraph.types:Interrupt"
        assert opaque_leaves(pending) == []
        done = graph.invoke(Command(resume="yes"), config)
        assert done["summary"] == theirs.invoke(Command(resume="yes"), config)["summary"] == "5 results, yes"
        assert writes_states(repo) == []  # superseded pending writes are gone


# ---------------------------------------------------------------- DeltaChannel
TURNS = ["hello", "how are you", "forget q-1", "tell me more", "reset", "and now", "one more", "last"]


def _delta_run(saver, turns=TURNS, thread="d") -> Any:
    graph = delta_graph(saver)
    config = {"configurable": {"thread_id": thread}}
    for i, text in enumerate(turns):
        graph.invoke({"messages": [HumanMessage(text, id=f"q{i}")]}, config)
    return graph, config


def _contents(values: dict) -> list[tuple[str, str]]:
    return [(m.id, m.content) for m in values.get("messages", [])]


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_delta_channel_is_a_readable_log_that_loads_back_as_inmemorysaver_gives(kind, tmp_path):
    theirs, config = _delta_run(InMemorySaver())
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path)) as saver:
        ours, _ = _delta_run(saver)
        assert _contents(ours.get_state(config).values) == _contents(theirs.get_state(config).values)
        ours_history = [_contents(h.values) for h in ours.get_state_history(config)]
        theirs_history = [_contents(h.values) for h in theirs.get_state_history(config)]
        assert ours_history == theirs_history and len(ours_history) == 3 * len(TURNS) + 0

        repo = saver.repo
        heads = list(repo.log("threads/d"))
        for commit in heads:
            state = repo.get(commit)
            assert opaque_leaves(state) == []
            if "messages" in state:
                assert state["messages"][0]["$lg"] == "delta"
        log = repo.get("threads/d", "/messages")
        texts = [w["kwargs"]["content"] for entry in log[1:] for w in (entry if isinstance(entry, list) else [entry])
                 if isinstance(w, dict) and "kwargs" in w]
        assert "delta reply 2 to and now" in texts  # the messages themselves, as JSON
        # "forget" removes a message (not a plain append) and "reset" overwrites: each starts
        # a log from its snapshot; other snapshots repeat the log and are not stored.
        seeded = [c for c in heads if "seed" in (repo.get(c).get("messages") or [{}])[0]]
        assert seeded and all(repo.get(c, "/messages/0/seed") for c in seeded)
        assert repo.get("threads/d", "/messages/0/seed/0/kwargs/content") == "fresh start"


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_each_delta_step_appends_the_new_messages_and_the_diff_shows_them(kind, tmp_path):
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path)) as saver:
        _delta_run(saver, ["hello", "how are you", "what next"])
        repo = saver.repo
        patch = repo.diff("threads/d~3", "threads/d").patch  # one turn: the input, then the reply
        assert [p["op"] for p in patch if p["path"].startswith("/messages")] == ["add", "add"]
        added = [p["value"] for p in patch if p["path"].startswith("/messages/")]
        assert [m[0]["kwargs"]["content"] for m in added] == ["what next", "delta reply 5 to what next"]


def test_a_fork_by_time_travel_on_a_delta_channel_gives_what_inmemorysaver_gives(tmp_path):
    def fork(saver):
        graph, config = _delta_run(saver, ["one", "two", "three"])
        past = next(h for h in graph.get_state_history(config) if h.metadata["step"] == 2)  # after "one"'s reply
        graph.invoke({"messages": [HumanMessage("instead", id="x")]}, past.config)
        return graph, config

    theirs, config = fork(InMemorySaver())
    with StateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
        ours, _ = fork(saver)
        assert _contents(ours.get_state(config).values) == _contents(theirs.get_state(config).values)
        assert [m for _, m in _contents(ours.get_state(config).values)] == [
            "one", "delta reply 1 to one", "instead", "delta reply 3 to instead"]


def test_delta_history_comes_from_one_checkpoint_not_an_ancestor_walk(tmp_path):
    with StateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
        graph, config = _delta_run(saver, ["a", "b", "c"])
        head = graph.get_state(config).config
        history = saver.get_delta_channel_history(config=head, channels=["messages"])["messages"]
        flat = [m for _, _, w in history["writes"] for m in (w if isinstance(w, list) else [w])]
        assert [m.content for m in flat if isinstance(m, BaseMessage)] == [
            "a", "delta reply 1 to a", "b", "delta reply 3 to b", "c", "delta reply 5 to c"]
        assert "seed" not in history


def test_an_async_graph_on_a_delta_channel_gives_what_inmemorysaver_gives(tmp_path):
    import asyncio

    from statevcs.integrations.langgraph import AsyncStateVCSSaver

    async def run(saver) -> list:
        graph = delta_graph(saver)
        config = {"configurable": {"thread_id": "a"}}
        for i, text in enumerate(["one", "two", "forget q0", "three"]):
            await graph.ainvoke({"messages": [HumanMessage(text, id=f"q{i}")]}, config)
        return _contents((await graph.aget_state(config)).values)

    async def ours() -> list:
        async with AsyncStateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
            return await run(saver)

    assert asyncio.run(ours()) == asyncio.run(run(InMemorySaver()))
