"""A deterministic LangGraph graph on statevcs: run, tag, fork, resume, diff.

No LLM and no network: a "planner" node appends a message and bumps a counter each
step. Needs ``pip install ".[langgraph]"``.

    python examples/langgraph_fork.py [DIR]      # DIR defaults to a temporary directory
"""

from __future__ import annotations

import sys
import tempfile
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from statevcs.integrations.langgraph import StateVCSSaver, thread_branch


class Plan(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    step: int
    strategy: str


def planner(state: Plan) -> dict[str, Any]:
    step = state.get("step", 0) + 1
    strategy = state.get("strategy", "careful")
    return {"step": step, "messages": [AIMessage(f"step {step}: {strategy} move", id=f"m-{step}")]}


def build(checkpointer: Any) -> Any:
    graph = StateGraph(Plan)
    graph.add_node("planner", planner)
    graph.add_edge(START, "planner")
    graph.add_edge("planner", END)
    return graph.compile(checkpointer=checkpointer)


def main(path: str) -> None:
    with StateVCSSaver.from_conn_string(path) as saver:
        repo, graph = saver.repo, build(saver)
        main_thread = {"configurable": {"thread_id": "main-run"}}
        graph.invoke({"messages": [HumanMessage("plan the trip", id="goal")]}, main_thread)
        for _ in range(19):  # 20 steps in all
            graph.invoke({}, main_thread)

        # The thread is the branch threads/main-run; tag the checkpoint after step 10.
        at_ten = next(c for c in repo.log(thread_branch("main-run")) if repo.get(c).get("step") == 10)
        repo.create_tag("step-10", at_ten.id, message="halfway")

        # Fork a new thread at the tag and resume the graph there with another strategy.
        repo.create_branch(thread_branch("bold-run"), "step-10")
        bold = {"configurable": {"thread_id": "bold-run"}}
        graph.update_state(bold, {"strategy": "bold"})
        for _ in range(3):
            graph.invoke({}, bold)

        print(f"main-run: {graph.get_state(main_thread).values['step']} steps; "
              f"bold-run: {graph.get_state(bold).values['step']} steps, forked at tag step-10")
        print(f"$ statevcs diff {thread_branch('main-run')}~3 {thread_branch('main-run')}   # last step")
        print(repo.diff(f"{thread_branch('main-run')}~3", thread_branch("main-run")).render(full=True))
        print(f"$ statevcs diff step-10 {thread_branch('bold-run')}")
        print(repo.diff("step-10", thread_branch("bold-run")).render(full=True))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
