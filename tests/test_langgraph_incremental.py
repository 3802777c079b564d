"""The LangGraph saver's incremental puts: checkpoints built from the last one it wrote or
read (only changed channels rewritten, grown message lists appended) must store exactly
what a full write stores, and fall back to one whenever the shortcut is unsure."""

from __future__ import annotations

import contextlib

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

from statevcs.integrations.langgraph import StateVCSSaver
from statevcs.integrations.langgraph.codec import encode_channels
from statevcs.integrations.langgraph.incremental import grown, list_memo
from statevcs.model.tree import read_tree, write_tree

from .langgraph_graphs import chat_graph


def _checkpoint(values: dict, versions: dict) -> dict:
    checkpoint = empty_checkpoint()
    checkpoint["id"] = str(uuid6())
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = versions
    return checkpoint


def _put(saver, config, values, versions, changed):
    return saver.put(config, _checkpoint(values, versions), {"source": "loop", "step": 1},
                     {k: versions[k] for k in changed})


def _stored(saver, config):
    return saver.get_tuple(config).checkpoint["channel_values"]


def test_every_checkpoint_of_a_long_chat_has_the_tree_a_full_write_gives(repo):
    saver = StateVCSSaver(repo)
    try:
        graph = chat_graph(saver)
        config = {"configurable": {"thread_id": "t"}}
        for turn in range(40):  # 80+ messages: the list is chunked, appends edit its last chunk
            graph.invoke({"messages": [HumanMessage(f"message {turn} " + "words " * 20, id=f"h-{turn}")]}, config)
        commits = list(repo.log("threads/t"))
        assert len(commits) == 3 * 40
        for commit in commits:
            assert write_tree(read_tree(repo.objects, commit.root))[0] == commit.root
        latest = saver.get_tuple(config).checkpoint["channel_values"]
        assert write_tree(encode_channels(latest, saver.serde))[0] == commits[0].root
        assert [m.id for m in latest["messages"]][-2:] == ["h-39", "ai-40"]
    finally:
        saver.close()


def test_replaced_reassigned_kept_and_dropped_channels_are_stored_as_given(repo):
    saver = StateVCSSaver(repo)
    try:
        a, b, c = HumanMessage("a", id="a"), AIMessage("b", id="b"), HumanMessage("c", id="c")
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        config = _put(saver, config, {"messages": [a, b], "other": 1}, {"messages": 1, "other": 1},
                      ["messages", "other"])
        b2 = AIMessage("b edited", id="b")  # another object in the middle: not a pure append
        config = _put(saver, config, {"messages": [a, b2, c], "other": 1}, {"messages": 2, "other": 1},
                      ["messages"])
        assert [m.content for m in _stored(saver, config)["messages"]] == ["a", "b edited", "c"]
        b2.content = "b re-assigned"  # the same object, a field re-assigned: seen
        d = HumanMessage("d", id="d")
        config = _put(saver, config, {"messages": [a, b2, c, d], "other": 1}, {"messages": 3, "other": 1},
                      ["messages"])
        assert [m.content for m in _stored(saver, config)["messages"]] == ["a", "b re-assigned", "c", "d"]
        # "other" changes, "messages" keeps its version (kept as stored), "extra" appears then goes
        config = _put(saver, config, {"messages": [a, b2, c, d], "other": 2, "extra": [1]},
                      {"messages": 3, "other": 2, "extra": 1}, ["other", "extra"])
        config = _put(saver, config, {"messages": [a, b2, c, d], "other": 2}, {"messages": 3, "other": 2}, [])
        stored = _stored(saver, config)
        assert set(stored) == {"messages", "other"} and stored["other"] == 2
        assert [m.content for m in stored["messages"]] == ["a", "b re-assigned", "c", "d"]
        # a shorter list is written whole
        config = _put(saver, config, {"messages": [a], "other": 2}, {"messages": 4, "other": 2}, ["messages"])
        assert [m.id for m in _stored(saver, config)["messages"]] == ["a"]
        for commit in repo.log("threads/t"):
            assert write_tree(read_tree(repo.objects, commit.root))[0] == commit.root
    finally:
        saver.close()


def test_a_thread_moved_by_someone_else_gets_the_checkpoint_written_whole(repo):
    saver = StateVCSSaver(repo)
    try:
        a, b = HumanMessage("a", id="a"), AIMessage("b", id="b")
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        config = _put(saver, config, {"messages": [a]}, {"messages": 1}, ["messages"])
        repo.commit({"messages": [], "note": "made outside LangGraph"}, branch="threads/t")
        config = _put(saver, config, {"messages": [a, b]}, {"messages": 2}, ["messages"])
        head = repo.resolve("threads/t")
        assert head.root == write_tree(encode_channels({"messages": [a, b]}, saver.serde))[0]
        assert len(head.parents) == 1 and repo.objects.commit(head.parents[0]).metadata == {}
        assert [m.id for m in _stored(saver, config)["messages"]] == ["a", "b"]
    finally:
        saver.close()


def test_pending_writes_follow_the_ref_when_someone_else_moved_it(repo):
    saver = StateVCSSaver(repo)
    try:
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        config = _put(saver, config, {"x": 1}, {"x": 1}, ["x"])
        saver.put_writes(config, [("x", 2)], "task-1")
        saver.put_writes(config, [("x", 3)], "task-2")
        assert [w[0] for w in saver.get_tuple(config).pending_writes] == ["task-1", "task-2"]
        ref = next(iter(repo.store.list_refs("refs/langgraph/writes/")))
        with repo.store.transaction() as tx:  # another process drops them
            tx.delete_ref(ref, repo.store.read_ref(ref), "other", "test")
        saver.put_writes(config, [("x", 4)], "task-3")
        assert [(w[0], w[2]) for w in saver.get_tuple(config).pending_writes] == [("task-3", 4)]
    finally:
        saver.close()


def test_each_put_and_put_writes_of_a_graph_turn_is_one_transaction(repo):
    saver = StateVCSSaver(repo)
    store = repo.store
    counts = {"transactions": 0, "calls": 0}
    transaction = store.transaction

    @contextlib.contextmanager
    def counted():
        with transaction() as tx:
            yield tx
        counts["transactions"] += 1

    store.transaction = counted
    put, put_writes = saver.put, saver.put_writes

    def count_put(*args, **kwargs):
        counts["calls"] += 1
        return put(*args, **kwargs)

    def count_put_writes(*args, **kwargs):
        counts["calls"] += 1
        return put_writes(*args, **kwargs)

    saver.put, saver.put_writes = count_put, count_put_writes
    try:
        graph = chat_graph(saver)
        config = {"configurable": {"thread_id": "t"}}
        for turn in range(5):
            graph.invoke({"messages": [HumanMessage(f"m{turn}", id=f"h-{turn}")]}, config)
        assert counts["calls"] >= 5 * 3
        assert counts["transactions"] == counts["calls"]
    finally:
        store.transaction = transaction
        saver.close()


def test_grown_accepts_only_the_same_objects_with_the_same_fields():
    a, b = HumanMessage("a", id="a"), AIMessage("b", id="b")
    memo = list_memo([a, "text", 3])
    assert grown(memo, [a, "text", 3, b]) == [b]
    assert grown(memo, [a, "text", 3]) == []
    assert grown(memo, [HumanMessage("a", id="a"), "text", 3, b]) is None  # an equal copy: unsure
    assert grown(memo, [a, "text"]) is None
    a.content = "changed"
    assert grown(memo, [a, "text", 3, b]) is None
    assert list_memo([{"a": 1}]) is None  # a mutable dict cannot be vouched for
    c = AIMessage("c", id="c")
    c.planner = "p"  # an extra field, then none: the mark is longer than the fields now
    memo = list_memo(["x", c])
    assert grown(memo, ["x", c]) == []
    c.__pydantic_extra__.clear()
    assert grown(memo, ["x", c]) is None



def test_a_message_encoded_again_gives_its_current_form():
    """A message's JSON form is reused while it is the same object with the same fields;
    a field re-assigned (or an extra field added) gives a fresh form."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from statevcs.integrations.langgraph.codec import encode_value

    serde = JsonPlusSerializer()
    a = AIMessage("first", id="m1")
    form = encode_value(a, serde)
    assert encode_value(a, serde) == form and form["kwargs"]["content"] == "first"
    a.content = "second"
    assert encode_value(a, serde)["kwargs"]["content"] == "second"
    a.name = "planner"
    assert encode_value(a, serde)["kwargs"]["name"] == "planner"
    other = AIMessage("second", id="m1", name="planner")  # an equal copy: encoded on its own
    assert encode_value(other, serde) == encode_value(a, serde)
    for i in range(200):  # many messages later the first is still encoded right
        encode_value(HumanMessage(f"m{i}", id=f"h{i}"), serde)
    a.content = "third"
    assert encode_value(a, serde)["kwargs"]["content"] == "third"

def test_writes_stored_before_their_checkpoint_lands_survive_its_put_and_a_prune(repo):
    """LangGraph's async durability may store a step's writes before the checkpoint they
    belong to: neither the put (whole-write path) nor a retention prune may drop them."""
    saver = StateVCSSaver(repo, keep_last=1)
    try:
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        config = _put(saver, config, {"x": 1}, {"x": 1}, ["x"])
        early = _checkpoint({"x": 2}, {"x": 2})
        early_config = {"configurable": {**config["configurable"], "checkpoint_id": early["id"]}}
        saver.put_writes(early_config, [("x", 3)], "task-early")
        saver._threads.clear()  # no memo: the put takes the whole-write path
        landed = saver.put(config, early, {"source": "loop", "step": 2}, {"x": 2})
        assert [(w[0], w[2]) for w in saver.get_tuple(landed).pending_writes] == [("task-early", 3)]
        later = _checkpoint({"x": 4}, {"x": 4})
        later_config = {"configurable": {**landed["configurable"], "checkpoint_id": later["id"]}}
        saver.put_writes(later_config, [("x", 5)], "task-later")  # before its checkpoint, again
        final = saver.put(landed, later, {"source": "loop", "step": 3}, {"x": 4})  # prunes to keep_last=1
        assert len(list(repo.log("threads/t"))) == 1
        assert [(w[0], w[2]) for w in saver.get_tuple(final).pending_writes] == [("task-later", 5)]
        assert len(repo.store.list_refs("refs/langgraph/writes/")) == 1
    finally:
        saver.close()


def _grown_one_by_one(memo, value):
    """``grown`` as it was written first, item by item: the reference the fast one must match."""
    import operator

    from statevcs.integrations.langgraph.incremental import IMMUTABLE, mark

    old = memo.items
    if type(value) is not list or len(value) < len(old):
        return None
    for new, before, old_mark in zip(value, old, memo.marks):
        if new is not before:
            return None
        if old_mark is IMMUTABLE:
            continue
        now = mark(new)
        if now is None or len(now) != len(old_mark) or not all(map(operator.is_, now, old_mark)):
            return None
    return value[len(old):]


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_grown_decides_as_the_item_by_item_check(data):
    """Any list of messages and scalars, remembered, then changed the ways a graph can change
    it (appended to, an item replaced by an equal copy, a field re-assigned to an equal or
    other value, an extra field added or removed, shortened): the same answer as checking
    item by item."""
    makers = [lambda i: HumanMessage(f"h{i}", id=f"h{i}"), lambda i: AIMessage(f"a{i}", id=f"a{i}"),
              lambda i: ToolMessage(f"t{i}", tool_call_id=f"c{i}", id=f"t{i}"), lambda i: f"text {i}",
              lambda i: i]
    kinds = data.draw(st.lists(st.integers(0, len(makers) - 1), max_size=12))
    items = [makers[k](i) for i, k in enumerate(kinds)]
    for i, item in enumerate(items):  # some carry extra fields when remembered
        if isinstance(item, AIMessage) and data.draw(st.booleans()):
            item.planner = f"p{i}"
    memo = list_memo(items)
    value = list(items) + [makers[k](100 + i) for i, k in enumerate(data.draw(st.lists(st.integers(0, 4), max_size=3)))]
    messages = [i for i, item in enumerate(items) if not isinstance(item, (str, int))]
    change = data.draw(st.sampled_from(["none", "copy", "content", "same-content", "extra", "drop-extra", "shorten"]))
    if messages and change != "none":
        i = data.draw(st.sampled_from(messages))
        m = value[i]
        if change == "copy":
            value[i] = m.model_copy()
        elif change == "content":
            m.content = m.content + "!"
        elif change == "same-content":
            m.content = "".join(list(m.content))  # equal text, another object
        elif change == "extra":
            m.reviewer = "r"
        elif change == "drop-extra" and getattr(m, "__pydantic_extra__", None):
            m.__pydantic_extra__.clear()
        elif change == "shorten":
            value = value[: len(items) - 1]
    assert grown(memo, value) == _grown_one_by_one(memo, value)
