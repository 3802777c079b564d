"""Train the zstd dictionary statevcs compresses stored objects with
(statevcs/store/dictionaries/, docs/storage-format.md "Compression").

    pip install ".[langgraph]"
    python tools/train_dictionary.py [OUT]      (default: dictionary.zdict here)

A stored object is small (a commit, a node of a tree, a chunk of a list: tens to a few
thousand bytes), and zstd compresses a small input badly on its own: it has seen none of
the keys and shapes every statevcs object repeats. A dictionary holds them. Its corpus is
the objects of repositories this script writes from fixed seeds:

- the three sample states in fixtures/ (a chat agent, a workflow run, a team of 1,000
  agents), each committed and then edited for 40 commits (numbers changed, list items
  appended, a key added or dropped), on branches that are merged;
- when LangGraph is installed, a tool-calling chat graph (MessagesState, a fake chat model,
  a ToolNode) and the same graph with a DeltaChannel of messages, 40 turns each, through
  StateVCSSaver: LangChain's message forms, LangGraph's checkpoint metadata.

Its text is not the benchmarks' (benchmarks/bench_langgraph.py and bench_scale.py use other
words, other ids): a dictionary must carry the format, not one workload's content. A shipped
dictionary never changes (objects stored with it need it to be read); a better one is added
under a new id and flag (store/stored.py), and the old one kept: this script refuses to
write over a shipped one. v1 was made by this script at the commit that added it (commits
carry their times, so each run's corpus, and its dictionary, differ slightly).
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import random
import sys
import tempfile
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from statevcs import Repository  # noqa: E402

#: The dictionary's size: 8 KiB gave the same ratio as 16 and 32 KiB on the measured stores.
SIZE = 8192
#: zstd's dictionary id (written into every frame made with it): below 2**31, above the
#: range zstd reserves for registered dictionaries (0-32767).
DICT_ID = 0x53560001

WORDS = ("weather paris london forecast rain sunny flight hotel booking price ticket museum open "
         "closed train delay refund invoice customer order shipped address").split()


def edit(state: Any, rng: random.Random, n: int) -> None:
    """A few deterministic edits of the kind agents make: numbers, appended items, keys."""
    def walk(value: Any) -> None:
        if isinstance(value, dict) and value:
            key = rng.choice(sorted(value))
            child = value[key]
            if isinstance(child, (int, float)) and not isinstance(child, bool):
                value[key] = child + rng.randint(1, 9)
            elif isinstance(child, str) and rng.random() < 0.5:
                value[key] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))
            elif isinstance(child, (dict, list)):
                walk(child)
            elif rng.random() < 0.3:
                value[f"note_{n}"] = {"by": rng.choice(WORDS), "at": n}
        elif isinstance(value, list) and value:
            if rng.random() < 0.4:
                value.append(copy.deepcopy(rng.choice(value)))
            else:
                walk(value[rng.randrange(len(value))])

    for _ in range(rng.randint(1, 4)):
        walk(state)


def fixture_repositories(work: str) -> list[str]:
    paths = []
    for i, name in enumerate(("chat_agent.json", "workflow_run.json", "team_1000.json")):
        path = os.path.join(work, f"fixture-{i}")
        repo = Repository.init(path, author="trainer <trainer@example.org>")
        state = json.loads((ROOT / "fixtures" / name).read_text())
        rng = random.Random(i)
        repo.commit(state, message=f"load {name}")
        repo.create_branch("variant")
        for n in range(40):
            edit(state, rng, n)
            branch = "variant" if n % 5 == 4 else None
            repo.commit(state, message=f"{rng.choice(WORDS)} {n}", branch=branch, allow_empty=True)
        repo.merge("variant", message="merge variant", strategy="source_wins")
        repo.close()
        paths.append(path)
    return paths


def langgraph_repositories(work: str) -> list[str]:
    try:
        from typing import Annotated, TypedDict

        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.messages import AIMessage, HumanMessage
        from langchain_core.tools import tool
        from langgraph.channels.delta import DeltaChannel
        from langgraph.graph import START, MessagesState, StateGraph
        from langgraph.graph.message import _messages_delta_reducer
        from langgraph.prebuilt import ToolNode, tools_condition

        from statevcs.integrations.langgraph import StateVCSSaver
    except ImportError as exc:
        print(f"LangGraph is not installed ({exc}): its objects are left out of the corpus", file=sys.stderr)
        return []

    rng = random.Random(11)

    def text(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k))

    @tool
    def search_trips(query: str) -> str:
        """Search trips."""
        return "results: " + text(10)

    DeltaState = TypedDict("DeltaState", {"messages": Annotated[list, DeltaChannel(_messages_delta_reducer)]})

    def answers() -> Any:
        n = 0
        while True:
            yield AIMessage("", id=f"run-{n:05d}", tool_calls=[{"name": "search_trips", "args": {"query": text(3)},
                                                                "id": f"call_{n:06d}", "type": "tool_call"}])
            yield AIMessage(text(14), id=f"run-{n:05d}-final")
            n += 1

    paths = []
    for delta in (False, True):
        path = os.path.join(work, f"langgraph-{int(delta)}")
        model = GenericFakeChatModel(messages=answers())

        def agent(state: Any) -> dict[str, Any]:
            return {"messages": [model.invoke(state["messages"])]}

        b = StateGraph(DeltaState if delta else MessagesState)
        b.add_node("agent", agent)
        b.add_node("tools", ToolNode([search_trips]))
        b.add_edge(START, "agent")
        b.add_conditional_edges("agent", tools_condition)
        b.add_edge("tools", "agent")
        with StateVCSSaver.from_conn_string(path) as saver:
            g = b.compile(checkpointer=saver)
            for n in range(40):
                config = {"configurable": {"thread_id": f"trip-{n % 3}"}}
                g.invoke({"messages": [HumanMessage(text(12), id=f"user-{n}")]}, config)
        paths.append(path)
    return paths


def samples(paths: list[str]) -> list[bytes]:
    out = []
    for path in paths:
        repo = Repository.open(path)
        out.extend(repo.store.get(oid) for oid in sorted(repo.store.iter_ids()))
        repo.close()
    return out


def main(target: str) -> None:
    shipped = ROOT / "statevcs" / "store" / "dictionaries"
    if pathlib.Path(target).resolve().parent == shipped.resolve() and pathlib.Path(target).exists():
        sys.exit(f"error: {target} is a shipped dictionary: objects stored with it need its exact bytes")
    with tempfile.TemporaryDirectory() as work:
        corpus = samples(fixture_repositories(work) + langgraph_repositories(work))
    trained = zstandard.train_dictionary(SIZE, corpus, dict_id=DICT_ID, level=3, threads=1)
    pathlib.Path(target).write_bytes(trained.as_bytes())
    print(f"{target}: {len(trained.as_bytes())} bytes, id {trained.dict_id():#x}, "
          f"from {len(corpus)} objects ({sum(map(len, corpus)):,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dictionary.zdict")
