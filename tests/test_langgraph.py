"""The LangGraph checkpointer: conformance suite, real graphs, and statevcs on their threads."""

from __future__ import annotations

import asyncio
import collections
import datetime
import ipaddress
import pathlib
import subprocess
import sys
import threading
import uuid
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("langgraph.checkpoint.conformance")

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langgraph.checkpoint.base import CheckpointTuple  # noqa: E402
from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.test_utils import (  # noqa: E402
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.checkpoint.serde.base import SerializerProtocol  # noqa: E402
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer  # noqa: E402
from langgraph.types import Command  # noqa: E402

from statevcs import Repository  # noqa: E402
from statevcs.integrations.langgraph import AsyncStateVCSSaver, StateVCSSaver  # noqa: E402
from statevcs.integrations.langgraph import naming  # noqa: E402
from statevcs.integrations.langgraph.codec import decode_value, encode_value  # noqa: E402

from .cli_helpers import run  # noqa: E402
from .conftest import ROOT, postgres_url, require_postgres, track_postgres  # noqa: E402
from .langgraph_graphs import chat_graph, review_graph  # noqa: E402
from .strategies import json_values  # noqa: E402

SAVERS = [StateVCSSaver, AsyncStateVCSSaver]
#: Tests in langgraph-checkpoint-conformance 0.0.2: 50 base (put, put_writes, get_tuple,
#: list, delete_thread) + 23 extended (delete_for_runs, copy_thread, prune).
CONFORMANCE_TESTS = 81


def _location(kind: str, tmp_path) -> str:
    if kind == "postgres":
        require_postgres()
        return track_postgres(postgres_url())
    return str(tmp_path / f"repo-{uuid.uuid4().hex[:8]}")


# ---------------------------------------------------------------- conformance
@pytest.mark.parametrize("kind", ["embedded", "postgres"])
@pytest.mark.parametrize("saver_class", SAVERS, ids=lambda c: c.__name__)
def test_conformance_suite_passes_every_capability(saver_class, kind, tmp_path):
    @checkpointer_test(name=f"{saver_class.__name__}-{kind}")
    async def factory():
        location = _location(kind, tmp_path)  # a fresh repository for each capability
        if saver_class is AsyncStateVCSSaver:
            async with AsyncStateVCSSaver.from_conn_string(location) as saver:
                yield saver
        else:
            with StateVCSSaver.from_conn_string(location) as saver:
                yield saver

    report = asyncio.run(validate(factory))
    failures = {cap: r.failures for cap, r in report.results.items() if not r.passed}
    assert not failures, failures
    assert all(r.detected for r in report.results.values())
    assert sum(r.tests_passed for r in report.results.values()) == CONFORMANCE_TESTS


# ---------------------------------------------------------------- names and values
@given(st.text(max_size=60))
def test_escaped_names_are_valid_refs_and_decode_back(text):
    from statevcs.model.refnames import check_name

    component = naming.escape(text)
    check_name(f"threads/{component}")
    assert naming.unescape(component) == text
    assert naming.parse_thread_ref(naming.thread_ref(text, text)) == (text, text)


@given(json_values)
def test_json_values_are_stored_as_themselves(value):
    serde = JsonPlusSerializer()
    encoded = encode_value(value, serde)
    if not (isinstance(value, dict) and ({"lc", "$lg"} & set(value))):
        assert encoded == value
    assert decode_value(encoded, serde) == value


@pytest.mark.parametrize("value", [
    "\ud800 lone surrogate", pathlib.Path("/a/b"), ipaddress.ip_address("10.0.0.1"),
    collections.deque([1, 2]), zoneinfo.ZoneInfo("Europe/Paris"), datetime.timezone.utc,
])
def test_values_with_no_readable_form_are_opaque_leaves_that_load_back_as_langgraphs_serializer_gives(value):
    serde = JsonPlusSerializer()
    encoded = encode_value(value, serde)
    assert list(encoded) == ["$lg"] and isinstance(encoded["$lg"], dict)
    Repository.memory().commit({"v": encoded})  # storable JSON
    back = decode_value(encoded, serde)
    expected = serde.loads_typed(serde.dumps_typed(value))
    assert back == expected and type(back) is type(expected)


def test_a_custom_serializer_keeps_its_own_encoding_for_non_json_values():
    """Readable forms follow JsonPlusSerializer's rules for loading classes; another
    serializer (encrypting, say) gets every non-JSON value to encode itself."""

    class Wrapping(SerializerProtocol):
        def dumps_typed(self, obj):
            return "mine", repr(obj).encode()

        def loads_typed(self, data):
            return ("loaded", data[1].decode())

    serde = Wrapping()
    encoded = encode_value({"when": datetime.date(2024, 1, 2), "text": "plain"}, serde)
    assert encoded["text"] == "plain" and encoded["when"]["$lg"]["type"] == "mine"
    assert decode_value(encoded, serde)["when"] == ("loaded", "datetime.date(2024, 1, 2)")


def test_messages_are_stored_as_langchain_json_and_load_back_as_their_classes():
    serde = JsonPlusSerializer()
    messages = [HumanMessage("hi", id="1"), AIMessage("", id="2", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c"}]),
                ToolMessage("42", tool_call_id="c", id="3")]
    encoded = encode_value(messages, serde)
    assert encoded[0]["kwargs"]["content"] == "hi" and encoded[0]["id"][-1] == "HumanMessage"
    back = decode_value(encoded, serde)
    assert back == messages and [type(m) for m in back] == [HumanMessage, AIMessage, ToolMessage]


# ---------------------------------------------------------------- bad input, as LangGraph's savers
def test_unknown_thread_missing_checkpoint_and_missing_thread_id_behave_like_inmemorysaver():
    ours, theirs = StateVCSSaver(Repository.memory()), InMemorySaver()
    for saver in (ours, theirs):
        stored = saver.put(generate_config("known"), generate_checkpoint(), generate_metadata(), {})
        assert saver.get_tuple(generate_config("unknown")) is None
        assert list(saver.list(generate_config("unknown"))) == []
        assert saver.get_tuple(generate_config("known", checkpoint_id=str(uuid.uuid4()))) is None
        assert saver.get_tuple(stored) is not None
    for call in (lambda s: s.get_tuple({"configurable": {}}),
                 lambda s: s.put({"configurable": {"checkpoint_ns": ""}}, generate_checkpoint(), generate_metadata(), {}),
                 lambda s: list(s.list({"configurable": {}}))):
        errors = []
        for saver in (ours, theirs):
            with pytest.raises(Exception) as info:
                call(saver)
            errors.append(type(info.value))
        assert errors[0] is errors[1] is KeyError


def test_concurrent_writers_on_one_thread_lose_no_checkpoint(tmp_path):
    """Two savers (two connections) put on one thread at once: the branch's compare-and-swap
    sends the loser round again, on top of the winner; every checkpoint is kept."""
    location = str(tmp_path / "repo")
    with StateVCSSaver.from_conn_string(location) as a, StateVCSSaver.from_conn_string(location) as b:
        def writer(saver, name):
            for i in range(15):
                saver.put(generate_config("shared"), generate_checkpoint(channel_values={"w": f"{name}{i}"}),
                          generate_metadata(step=i, writer=name), {})

        threads = [threading.Thread(target=writer, args=(s, n)) for s, n in ((a, "a"), (b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        listed = list(a.list(generate_config("shared")))
        assert len(listed) == 30
        assert len(list(a.repo.log("threads/shared"))) == 30


# ---------------------------------------------------------------- real graphs
def test_interrupt_resume_in_a_new_process_history_update_and_replay(tmp_path):
    location = str(tmp_path / "repo")
    out = subprocess.run([sys.executable, "-m", "tests.langgraph_graphs", location, "t1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "approve?"

    config = {"configurable": {"thread_id": "t1"}}
    with StateVCSSaver.from_conn_string(location) as saver:
        graph = review_graph(saver)
        waiting = graph.get_state(config)
        assert waiting.next == ("review",)
        assert waiting.tasks[0].interrupts[0].value == {"question": "approve?", "count": 1}
        result = graph.invoke(Command(resume="yes"), config)
        assert [m.content for m in result["messages"]] == ["hello", "reply 1 to hello", "review: yes"]
        assert result["seen"] == {1}

        history = list(graph.get_state_history(config))
        assert [h.metadata["step"] for h in history] == [2, 1, 0, -1]
        assert history[0].values == result
        before_bot = history[2]  # step 0: the bot has not run yet

        # Replay from an earlier checkpoint: the bot runs again, the review interrupts again
        # (its stored answer belongs to the old step-1 checkpoint), and a new answer is taken.
        replay = graph.invoke(None, before_bot.config)
        assert replay["__interrupt__"][0].value == {"question": "approve?", "count": 1}
        answered = graph.invoke(Command(resume="no"), config)
        assert [m.content for m in answered["messages"]] == ["hello", "reply 1 to hello", "review: no"]
        history = list(graph.get_state_history(config))
        by_id = {h.config["configurable"]["checkpoint_id"]: h for h in history}
        lineage, cursor = [], history[0]
        while cursor.parent_config is not None:
            cursor = by_id[cursor.parent_config["configurable"]["checkpoint_id"]]
            lineage.append(cursor.config["configurable"]["checkpoint_id"])
        assert before_bot.config["configurable"]["checkpoint_id"] in lineage
        assert sum(h.values.get("messages", [])[-1:] == result["messages"][-1:] for h in history) == 1  # old answer kept

        # update_state writes a checkpoint whose parent is the one it was given.
        new_config = graph.update_state(history[0].config, {"messages": [HumanMessage("edited", id="e")]})
        edited = graph.get_state(new_config)
        assert edited.values["messages"][-1].content == "edited"
        assert edited.parent_config["configurable"]["checkpoint_id"] == history[0].config["configurable"]["checkpoint_id"]


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_statevcs_tags_forks_diffs_and_merges_threads(kind, tmp_path):
    location = _location(kind, tmp_path)
    with StateVCSSaver.from_conn_string(location) as saver:
        repo = saver.repo
        graph = chat_graph(saver)
        t1 = {"configurable": {"thread_id": "t1"}}
        for i in range(4):
            graph.invoke({"messages": [HumanMessage(f"q{i}", id=f"q{i}")]}, t1)
        assert len(graph.get_state(t1).values["messages"]) == 8

        # The state on the branch is readable JSON; LangGraph's metadata is in the commit.
        assert repo.get("threads/t1", "/messages/1/kwargs/content") == "reply 1 to q0"
        head = repo.resolve("threads/t1")
        assert head.metadata["langgraph"]["metadata"]["step"] == graph.get_state(t1).metadata["step"]
        assert head.metadata["langgraph"]["checkpoint"]["id"] == graph.get_state(t1).config["configurable"]["checkpoint_id"]
        assert len(list(repo.log("threads/t1"))) == 12  # three checkpoints per invoke
        assert [p["path"] for p in repo.diff("threads/t1~3", "threads/t1").patch] == [
            "/count", "/messages/6", "/messages/7", "/seen/v/3"]  # a set is readable: {"$lg": "set", "v": [1, 2, 3, 4]}

        # Tag the checkpoint after the second reply, fork a new thread there, resume it.
        second = [c for c in repo.log("threads/t1") if repo.get(c).get("count") == 2][-1]  # the oldest with two
        repo.create_tag("after-two", second.id, message="two replies")
        repo.create_branch(naming.thread_branch("t2"), "after-two")
        t2 = {"configurable": {"thread_id": "t2"}}
        assert [m.content for m in graph.get_state(t2).values["messages"]][-1] == "reply 2 to q1"
        forked = graph.invoke({"messages": [HumanMessage("other", id="o")]}, t2)
        assert [m.content for m in forked["messages"]][-2:] == ["other", "reply 3 to other"]
        assert len(graph.get_state(t1).values["messages"]) == 8  # t1 untouched

        # Diff the two threads; merge t2 into t1, t2 winning: t1's graph resumes from the merge.
        assert any(p["path"].startswith("/messages/") for p in repo.diff("threads/t1", "threads/t2").patch)
        repo.merge("threads/t2", into="threads/t1", strategy="source_wins")
        merged = graph.get_state(t1)
        assert merged.values["count"] == 3
        # Messages merge by id (the policy the checkpoints carry): both sides' are kept; the
        # id both sides used ("ai-3") is one message, the source's version winning.
        assert [(m.id, m.content) for m in merged.values["messages"]][4:] == [
            ("q2", "q2"), ("ai-3", "reply 3 to other"), ("q3", "q3"), ("ai-4", "reply 4 to q3"), ("o", "other")]
        assert merged.metadata["statevcs"]["commit"] == repo.resolve("threads/t1").id
        resumed = graph.invoke({"messages": [HumanMessage("after merge", id="am")]}, t1)
        assert resumed["count"] == 4 and resumed["messages"][-1].content == "after merge"
        # The reply's id ("ai-4") is t1's older reply's: add_messages replaces that one in place.
        assert [m.content for m in resumed["messages"]].count("reply 4 to after merge") == 1
        assert len({m.id for m in resumed["messages"]}) == len(resumed["messages"])

        # Deleting the thread keeps what a tag holds.
        saver.delete_thread("t1")
        assert graph.get_state(t1).values == {}
        assert repo.get("after-two", "/count") == 2


def test_cli_shows_checkpoint_diffs_and_message_history(tmp_path):
    location = tmp_path / "repo"
    with StateVCSSaver.from_conn_string(str(location)) as saver:
        graph = chat_graph(saver)
        for i in range(3):
            graph.invoke({"messages": [HumanMessage(f"q{i}", id=f"q{i}")]}, {"configurable": {"thread_id": "t1"}})
    diff = run(location, "diff", "--full", "threads/t1~3", "threads/t1").out
    assert "reply 3 to q2" in diff and "q2" in diff
    log = run(location, "log", "--oneline", "--path", "/messages", "threads/t1").out.splitlines()
    assert len(log) == 6 and "loop step" in log[0]


def test_from_conn_string_creates_then_reopens_and_keeps_the_thread(tmp_path):
    location = str(tmp_path / "new" / "repo")
    with StateVCSSaver.from_conn_string(location) as saver:
        chat_graph(saver).invoke({"messages": [HumanMessage("hi", id="h")]}, {"configurable": {"thread_id": "x/y z"}})
        assert "threads/x%2Fy%20z" in saver.repo.branches

    async def again():
        async with AsyncStateVCSSaver.from_conn_string(location) as saver:
            tup = await saver.aget_tuple({"configurable": {"thread_id": "x/y z"}})
            assert isinstance(tup, CheckpointTuple)
            return tup.checkpoint["channel_values"]["messages"][-1].content

    assert asyncio.run(again()) == "reply 1 to hi"


def test_fork_example_runs_and_prints_the_fork_diff(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "langgraph_fork.py"), str(tmp_path / "demo")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "main-run: 20 steps; bold-run: 13 steps" in out.stdout
    assert "step 13: bold move" in out.stdout and '+ /strategy: "bold"' in out.stdout


def test_copy_thread_replaces_the_target_whole(tmp_path):
    from statevcs.integrations.langgraph import StateVCSSaver

    with StateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
        from langgraph.checkpoint.base import empty_checkpoint

        def put(thread, ns, value):
            cp = empty_checkpoint()
            cp["channel_values"] = {"v": value}
            cp["channel_versions"] = {"v": 1}
            saver.put({"configurable": {"thread_id": thread, "checkpoint_ns": ns}}, cp, {}, {"v": 1})

        put("src", "", "from src")
        put("dst", "", "old dst")
        put("dst", "inner", "old dst namespace")  # a namespace the source does not have
        saver.copy_thread("src", "dst")
        namespaces = {t.config["configurable"]["checkpoint_ns"]
                      for t in saver.list({"configurable": {"thread_id": "dst"}})}
        assert namespaces == {""}
        got = saver.get_tuple({"configurable": {"thread_id": "dst", "checkpoint_ns": ""}})
        assert got.checkpoint["channel_values"] == {"v": "from src"}
