"""Reviewing agent threads with the CLI (real subprocesses): diffs and shows of checkpoints
read as messages (role, name or tool, a preview, tool calls), LangGraph's internal channels
hidden unless asked for, log lines naming the nodes of each step and the newest message."""

from __future__ import annotations

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from langchain_core.messages import HumanMessage

from statevcs.integrations import view_for
from statevcs.integrations.langgraph import StateVCSSaver
from statevcs.integrations.langgraph.review import hidden, message_line, summarize

from .cli_helpers import run
from .langgraph_graphs import delta_graph, tool_graph, typed_graph

INTERNAL = ("/__start__", "/branch:to:", "/__pregel_", "/join:")


@pytest.fixture(scope="module")
def agent_repo(tmp_path_factory):
    """A repository with a tool-calling thread (two user turns, five checkpoints each)."""
    location = tmp_path_factory.mktemp("review") / "repo"
    with StateVCSSaver.from_conn_string(str(location)) as saver:
        graph = tool_graph(saver)
        for i in range(2):
            graph.invoke({"messages": [HumanMessage(f"weather in city{i}?", id=f"u{i}")]},
                         {"configurable": {"thread_id": "t1"}})
    return location


def test_the_default_diff_of_two_checkpoints_shows_the_new_messages_and_no_internal_channel(agent_repo):
    out = run(agent_repo, "diff", "threads/t1~5", "threads/t1").out
    assert out.splitlines() == [
        '+ /messages/4: human "weather in city1?"',
        '+ /messages/5: ai -> weather(city="city1")',
        '+ /messages/6: tool weather: "sunny in city1, 21C"',
        '+ /messages/7: ai "It is sunny in city1."',
    ]
    step = run(agent_repo, "diff", "threads/t1~3", "threads/t1~2").out  # the agent's tool call
    assert step == '+ /messages/5: ai -> weather(city="city1")\n'
    everything = run(agent_repo, "diff", "--all-channels", "threads/t1~3", "threads/t1~2").out
    assert "/branch:to:tools" in everything and "/branch:to:agent" in everything
    assert not any(p in out for p in INTERNAL)


def test_full_shows_the_json_and_markdown_the_summaries(agent_repo):
    full = run(agent_repo, "diff", "--full", "threads/t1~1", "threads/t1").out
    assert '"lc": 1' in full and '"content": "It is sunny in city1."' in full
    md = run(agent_repo, "diff", "--format", "markdown", "threads/t1~1", "threads/t1").out
    assert '`ai "It is sunny in city1."`' in md
    patch = run(agent_repo, "diff", "--format", "patch", "threads/t1~1", "threads/t1").json()
    assert patch[0]["value"]["kwargs"]["content"] == "It is sunny in city1."  # machines get everything


def test_show_and_log_patch_hide_internal_channels_unless_asked(agent_repo):
    shown = run(agent_repo, "show", "threads/t1~4").out  # the input checkpoint: only __start__ changed
    assert "input step 4: human \"weather in city1?\"" in shown and "/__start__" not in shown
    assert "/__start__" in run(agent_repo, "show", "--all-channels", "threads/t1~4").out
    log = run(agent_repo, "log", "-p", "--no-pager", "-3", "threads/t1").out
    assert '+ /messages/6: tool weather: "sunny in city1, 21C"' in log and "/branch:to:" not in log
    assert "/branch:to:" in run(agent_repo, "log", "-p", "--all-channels", "--no-pager", "-3", "threads/t1").out


def test_log_lines_name_the_nodes_of_the_step_and_preview_the_newest_message(agent_repo):
    lines = run(agent_repo, "log", "--oneline", "threads/t1").out.splitlines()
    assert [line.split(" ", 1)[1] for line in lines[:5]] == [
        'loop step 8 agent: ai "It is sunny in city1."',
        'loop step 7 tools: tool weather: "sunny in city1, 21C"',
        'loop step 6 agent: ai -> weather(city="city1")',
        'loop step 5 __start__: human "weather in city1?"',
        'input step 4: human "weather in city1?"',
    ]
    commits = run(agent_repo, "log", "--json", "-2", "threads/t1").json()["commits"]
    assert commits[0]["message"] == 'loop step 8 agent: ai "It is sunny in city1."'
    assert [c["metadata"]["langgraph"]["nodes"] for c in commits] == [["agent"], ["tools"]]


def test_delta_channel_steps_diff_as_messages(tmp_path):
    with StateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
        graph = delta_graph(saver)
        for i, text in enumerate(["hello", "what next"]):
            graph.invoke({"messages": [HumanMessage(text, id=f"q{i}")]}, {"configurable": {"thread_id": "d"}})
    out = run(tmp_path / "repo", "diff", "threads/d~3", "threads/d").out
    assert out.splitlines() == ['+ /messages/3: [human "what next"]',
                                '+ /messages/4: [ai "delta reply 3 to what next"]']


def test_typed_values_read_as_their_type_in_the_default_diff(tmp_path):
    with StateVCSSaver.from_conn_string(str(tmp_path / "repo")) as saver:
        typed_graph(saver).invoke({}, {"configurable": {"thread_id": "v"}})
    out = run(tmp_path / "repo", "show", "threads/v").out
    assert '+ /when: datetime "2024-05-01T12:00:01+00:00"' in out
    assert '+ /run: uuid "00000000-0000-0000-0000-000000000001"' in out
    assert '+ /point: Point {"label": "busy", "x": 1.0, "y": 0.5}' in out and '+ /mood: Mood "calm"' in out
    assert '+ /blob: bytes (base64) "AQD/"' in out and '+ /pair: tuple [1, "two"]' in out


def test_summaries_escape_nothing_themselves_and_other_commits_get_no_view():
    """The view works on JSON only; the renderer escapes for the terminal. Commits no
    integration made (no metadata key of one) have no view: their output is unchanged."""
    form = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
            "kwargs": {"content": [{"type": "text", "text": "two\nlines"}, {"type": "image_url"}], "name": "bob",
                       "tool_calls": [{"name": "f", "args": {"x": [1, 2]}, "id": "c"}]}}
    assert message_line(form) == 'ai (bob) "two lines [image_url]" -> f(x=[1, 2])'
    assert summarize([form, form]) == ["2 messages:", message_line(form), message_line(form)]
    assert summarize({"$lg": "delta"}) == ["delta log"] and summarize({"plain": 1}) is None
    assert hidden("/__pregel_tasks/0") and hidden("/branch:to:x") and not hidden("/messages/0")
    assert view_for([{}, {"merge": {}}]) is None and view_for([{"langgraph": {}}]) is not None
