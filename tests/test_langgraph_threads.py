"""Whole threads of the LangGraph saver: forked, run on both sides and merged back (messages
by id, delta logs as a union), and kept to a bounded size (keep_last, max_age, lg prune)."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from langchain_core.messages import HumanMessage

from statevcs.integrations.langgraph import StateVCSSaver, thread_branch

from .conftest import postgres_url, require_postgres, track_postgres
from .langgraph_graphs import delta_graph, tool_graph


def _location(kind: str, tmp_path) -> str:
    if kind == "postgres":
        require_postgres()
        return track_postgres(postgres_url())
    return str(tmp_path / f"repo-{uuid.uuid4().hex[:8]}")


def _ask(graph, thread: str, text: str, mid: str) -> dict:
    return graph.invoke({"messages": [HumanMessage(text, id=mid)]}, {"configurable": {"thread_id": thread}})


# ---------------------------------------------------------------- merging threads
@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_fork_run_both_merge_resume_keeps_both_sides_messages_once(kind, tmp_path):
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path)) as saver:
        repo = saver.repo
        main, other = tool_graph(saver, prefix="main-"), tool_graph(saver, prefix="fork-")
        _ask(main, "t1", "weather in city0?", "u0")
        repo.create_branch(thread_branch("t2"), thread_branch("t1"))  # fork: t2 starts where t1 is
        _ask(main, "t1", "and city1?", "u1")
        _ask(other, "t2", "what about city0 again?", "v1")
        assert repo.resolve(thread_branch("t1")).metadata["policies"] == {"/messages": "keyed:/kwargs/id"}

        outcome = repo.merge(thread_branch("t2"), into=thread_branch("t1"))  # no strategy, no policy given
        assert outcome.kind == "merge"
        merged = main.get_state({"configurable": {"thread_id": "t1"}}).values["messages"]
        ids = [m.id for m in merged]
        assert len(ids) == len(set(ids)) == 4 + 4 + 4
        assert {"u0", "u1", "v1", "main-answer-1", "fork-answer-0"} <= set(ids)

        resumed = _ask(main, "t1", "and now?", "u2")["messages"]
        ids = [m.id for m in resumed]
        assert len(ids) == len(set(ids)) == 12 + 4
        assert resumed[-1].content == "It is sunny in city2." and resumed[-4].id == "u2"
        history = list(main.get_state_history({"configurable": {"thread_id": "t1"}}))
        merge = [h for h in history if h.metadata.get("statevcs", {}).get("commit") == outcome.commit.id]
        assert len(merge) == 1 and merge[0].metadata["source"] == "update"  # the merge, read as a checkpoint


def test_the_same_forked_threads_conflict_without_the_policy_their_checkpoints_carry(tmp_path):
    """What the recorded policy buys: under a plain merge both sides' appends overlap."""
    from statevcs import merge3

    with StateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
        repo = saver.repo
        main, other = tool_graph(saver, prefix="main-"), tool_graph(saver, prefix="fork-")
        _ask(main, "t1", "weather?", "u0")
        repo.create_branch(thread_branch("t2"), thread_branch("t1"))
        _ask(main, "t1", "more", "u1")
        _ask(other, "t2", "other", "v1")
        base = repo.get(repo.merge_base(thread_branch("t1"), thread_branch("t2")))
        plain = merge3(base, repo.get(thread_branch("t1")), repo.get(thread_branch("t2")))
        assert [c.path for c in plain.conflicts] == ["/messages"]


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_forked_delta_channel_threads_merge_as_a_union_of_their_logs(kind, tmp_path):
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path)) as saver:
        repo = saver.repo
        graph, other = delta_graph(saver), delta_graph(saver, prefix="fork-")
        _ask(graph, "t1", "hello", "q0")
        repo.create_branch(thread_branch("t2"), thread_branch("t1"))
        _ask(graph, "t1", "ours", "q1")
        _ask(other, "t2", "theirs", "q2")
        assert repo.resolve(thread_branch("t2")).metadata["policies"] == {"/messages": "union"}
        repo.merge(thread_branch("t2"), into=thread_branch("t1"))
        merged = graph.get_state({"configurable": {"thread_id": "t1"}}).values["messages"]
        assert [m.content for m in merged] == ["hello", "delta reply 1 to hello", "ours", "delta reply 3 to ours",
                                               "theirs", "delta reply 3 to theirs"]
        resumed = _ask(graph, "t1", "after", "q3")["messages"]
        assert [m.content for m in resumed][-2:] == ["after", "delta reply 7 to after"]
        assert len({m.id for m in resumed}) == len(resumed) == 8
