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


# ---------------------------------------------------------------- retention per thread
def _thread_refs(repo, thread: str) -> list[str]:
    return [r for r in repo.store.list_refs("refs/") if f"/{thread}" in r]


@pytest.mark.parametrize("kind", ["embedded", "postgres"])
def test_keep_last_bounds_history_and_refs_while_the_thread_resumes_replays_and_forks(kind, tmp_path):
    config = {"configurable": {"thread_id": "t"}}
    with StateVCSSaver.from_conn_string(_location(kind, tmp_path), keep_last=6) as saver:
        repo = saver.repo
        graph = tool_graph(saver, turns=20)
        for i in range(8):  # 40 checkpoints, 5 a turn
            _ask(graph, "t", f"weather in city{i}?", f"u{i}")
            kept = len(list(graph.get_state_history(config)))
            assert kept <= 6 + 1 and (kept >= 6 or kept == 5 * (i + 1))  # N + N/4 at most, then N again
            assert len(_thread_refs(repo, "t")) <= 2  # the branch, and the head's pending writes at most
        messages = graph.get_state(config).values["messages"]
        assert len(messages) == 32 and messages[0].id == "u0"  # history is bounded, the state is whole

        resumed = _ask(graph, "t", "weather in city8?", "u8")["messages"]
        assert resumed[-1].content == "It is sunny in city8." and len(resumed) == 36
        oldest = list(graph.get_state_history(config))[-1]
        replayed = graph.invoke(None, oldest.config)  # replay from the oldest kept checkpoint
        assert replayed["messages"][-1].content.startswith("It is sunny")
        repo.create_branch(thread_branch("fork"), repo.resolve(thread_branch("t")).id)
        forked = _ask(graph, "fork", "and in the fork?", "f0")["messages"]
        assert forked[-1].content.startswith("It is sunny") and forked[-4].id == "f0"


def test_a_pruned_delta_channel_thread_loads_as_inmemorysaver_gives(tmp_path):
    """Dropping old checkpoints never breaks a DeltaChannel: each checkpoint holds its log."""
    from langgraph.checkpoint.memory import InMemorySaver

    turns = ["a", "b", "forget q0", "c", "d", "reset", "e", "f", "g"]

    def run(saver):
        graph = delta_graph(saver)
        for i, text in enumerate(turns):
            _ask(graph, "d", text, f"q{i}")
        return [(m.id, m.content) for m in graph.get_state({"configurable": {"thread_id": "d"}}).values["messages"]]

    with StateVCSSaver.from_conn_string(str(tmp_path / "repo"), keep_last=2) as saver:
        assert run(saver) == run(InMemorySaver())
        assert len(list(saver.repo.log(thread_branch("d")))) <= 3


def test_max_age_drops_checkpoints_older_than_it(tmp_path):
    with StateVCSSaver.from_conn_string(str(tmp_path / "repo"), max_age=0) as saver:
        graph = tool_graph(saver, turns=10)
        for i in range(8):
            _ask(graph, "t", f"q{i}", f"u{i}")
        assert len(list(saver.repo.log(thread_branch("t")))) <= 16 < 40


def test_lg_prune_keeps_the_newest_checkpoints_and_gc_reclaims_the_rest(tmp_path):
    from .cli_helpers import fails, run

    location = tmp_path / "repo"
    with StateVCSSaver.from_conn_string(str(location)) as saver:
        graph = tool_graph(saver, turns=10)
        for i in range(6):
            _ask(graph, "t", f"weather in city{i}?", f"u{i}")
        old = [c.id for c in saver.repo.log(thread_branch("t"))]
    assert len(old) == 30
    assert run(location, "lg", "prune", "t", "--keep", "5").out == "thread t: kept 5 checkpoint(s), dropped 25\n"
    report = run(location, "lg", "prune", "t", "--since", "2000-01-01", "--json").json()
    assert report == {"version": 1, "thread": "t", "kept": {"": 5}, "dropped": {"": 0},
                      "heads": report["heads"]}
    before = run(location, "stats", "--json").json()
    run(location, "gc", "--prune=now", "--expire=now", "--expire-unreachable=now")
    after = run(location, "stats", "--json").json()
    assert after["objects"] < before["objects"]
    with StateVCSSaver.from_conn_string(str(location)) as saver:
        assert not any(saver.repo.store.has(oid) for oid in old[5:])  # the dropped checkpoints are gone
        graph = tool_graph(saver, turns=10, prefix="again-")  # a new model: new message ids
        assert len(list(graph.get_state_history({"configurable": {"thread_id": "t"}}))) == 5
        resumed = _ask(graph, "t", "again?", "u6")["messages"]
        assert resumed[-1].content == "It is sunny in city0." and len(resumed) == 28
    assert run(location, "lg", "prune", "t", "--since", "2999-01-01").out == "thread t: kept 1 checkpoint(s), dropped 9\n"

    fails(location, 3, "lg", "prune", "nope", "--keep", "3")
    fails(location, 2, "lg", "prune", "t", "--since", "soon")
    fails(location, 2, "lg", "prune", "t")
    fails(location, 2, "lg", "prune", "t", "--keep", "0")


def test_bad_retention_limits_are_refused_with_a_statevcs_error(tmp_path):
    from statevcs import Repository
    from statevcs.errors import InvalidAgeError, InvalidPruneError
    from statevcs.integrations.langgraph.retention import prune_thread

    repo = Repository.memory()
    for bad in (0, -1, 2.5, "3"):
        with pytest.raises(InvalidPruneError):
            StateVCSSaver(repo, keep_last=bad)
    for bad in ("soon", "never", -5):
        with pytest.raises(InvalidAgeError):
            StateVCSSaver(repo, max_age=bad)
    with pytest.raises(InvalidPruneError):
        prune_thread(repo, "t", keep=3, since="1d")
