"""Small deterministic LangGraph graphs for the checkpointer tests (no LLM, no network).

Run as a script (``python -m tests.langgraph_graphs DIR THREAD``) it runs the review
graph until its interrupt and exits: the test resumes it in another process.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import operator
import sys
import uuid
from typing import Annotated, Any, TypedDict

import pydantic
import pydantic.v1
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langchain_core.tools import tool
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import _messages_delta_reducer, add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Overwrite, Send, interrupt


class ChatState(TypedDict, total=False):
    messages: Annotated[list, add_messages]
    count: int
    seen: set


def bot(state: ChatState) -> dict[str, Any]:
    n = state.get("count", 0) + 1
    last = state["messages"][-1].content
    return {"messages": [AIMessage(f"reply {n} to {last}", id=f"ai-{n}")], "count": n,
            "seen": set(state.get("seen") or set()) | {n}}


def review(state: ChatState) -> dict[str, Any]:
    answer = interrupt({"question": "approve?", "count": state["count"]})
    return {"messages": [HumanMessage(f"review: {answer}", id=f"review-{state['count']}")]}


def chat_graph(checkpointer: Any) -> Any:
    """START -> bot -> END: one reply per invoke."""
    b = StateGraph(ChatState)
    b.add_node("bot", bot)
    b.add_edge(START, "bot")
    b.add_edge("bot", END)
    return b.compile(checkpointer=checkpointer)


def review_graph(checkpointer: Any) -> Any:
    """START -> bot -> review (interrupts for a human answer) -> END."""
    b = StateGraph(ChatState)
    b.add_node("bot", bot)
    b.add_node("review", review)
    b.add_edge(START, "bot")
    b.add_edge("bot", "review")
    b.add_edge("review", END)
    return b.compile(checkpointer=checkpointer)


# ---------------------------------------------------------------- every value type users keep
class Mood(enum.Enum):
    CALM = "calm"
    BUSY = "busy"


class Note(pydantic.BaseModel):
    text: str
    at: datetime.datetime
    tags: set[str] = set()


class Profile(pydantic.BaseModel):
    name: str
    notes: list[Note] = []
    best: tuple[int, str] = (0, "")
    mood: Mood = Mood.CALM


class LegacyProfile(pydantic.v1.BaseModel):
    name: str
    score: int = 0


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: Mood = Mood.CALM


class Budget(TypedDict):
    limit: decimal.Decimal
    spent: decimal.Decimal
    since: datetime.date


class TypedState(TypedDict, total=False):
    profile: Profile
    legacy: LegacyProfile
    point: Point
    budget: Budget
    when: datetime.datetime
    day: datetime.date
    alarm: datetime.time
    mood: Mood
    run: uuid.UUID
    amount: decimal.Decimal
    seen: set
    frozen: frozenset
    pair: tuple
    blob: bytes
    turn: int


def typed_values(turn: int) -> dict[str, Any]:
    """One turn's values of every type: deterministic, different each turn."""
    when = datetime.datetime(2024, 5, 1, 12, 0, turn, tzinfo=datetime.timezone.utc)
    return {
        "profile": Profile(name=f"p{turn}", notes=[Note(text=f"n{turn}", at=when, tags={"a", f"t{turn}"})],
                           best=(turn, "best"), mood=Mood.BUSY),
        "legacy": LegacyProfile(name=f"l{turn}", score=turn),
        "point": Point(float(turn), 0.5, Mood.BUSY),
        "budget": Budget(limit=decimal.Decimal("10.00"), spent=decimal.Decimal(f"{turn}.25"),
                         since=datetime.date(2024, 1, turn + 1)),
        "when": when, "day": when.date(), "alarm": datetime.time(7, turn), "mood": Mood.CALM if turn % 2 else Mood.BUSY,
        "run": uuid.UUID(int=turn), "amount": decimal.Decimal("1.10") * turn, "seen": {turn, turn + 1},
        "frozen": frozenset({f"f{turn}"}), "pair": (turn, "two"), "blob": bytes([turn, 0, 255]), "turn": turn,
    }


def typed_graph(checkpointer: Any) -> Any:
    """START -> keep (writes every value type from typed_values) -> END."""
    def keep(state: TypedState) -> dict[str, Any]:
        return typed_values(state.get("turn", 0) + 1)

    b = StateGraph(TypedState)
    b.add_node("keep", keep)
    b.add_edge(START, "keep")
    b.add_edge("keep", END)
    return b.compile(checkpointer=checkpointer)


# ---------------------------------------------------------------- DeltaChannel (LangGraph 1.2)
class DeltaChat(TypedDict, total=False):
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer, snapshot_frequency=4)]
    drop: str


def delta_graph(checkpointer: Any, prefix: str = "") -> Any:
    """START -> bot -> END over a DeltaChannel of messages (snapshot every 4 updates). The
    bot replies to the last message; "forget X" removes message X, "reset" overwrites the
    list; ``prefix`` starts its message ids (two graphs forking one thread differ)."""
    def bot(state: DeltaChat) -> dict[str, Any]:
        last = state["messages"][-1]
        n = len(state["messages"])
        if last.content.startswith("forget "):
            return {"messages": [RemoveMessage(id=last.content.split()[1]),
                                 AIMessage(f"forgot at {n}", id=f"{prefix}d-{n}")]}
        if last.content == "reset":
            return {"messages": Overwrite([AIMessage("fresh start", id=f"{prefix}d-{n}")])}
        return {"messages": [AIMessage(f"delta reply {n} to {last.content}", id=f"{prefix}d-{n}")]}

    b = StateGraph(DeltaChat)
    b.add_node("bot", bot)
    b.add_edge(START, "bot")
    b.add_edge("bot", END)
    return b.compile(checkpointer=checkpointer)


# ---------------------------------------------------------------- other channel types: Send, joins, topics
class FanState(TypedDict, total=False):
    items: list
    results: Annotated[list, operator.add]
    summary: str


def fan_graph(checkpointer: Any) -> Any:
    """START -> Send one worker per item (results: a reducer channel) -> two nodes joined
    by a barrier (a set of names) -> summary; the summary step interrupts for approval."""
    def work(arg: dict[str, Any]) -> dict[str, Any]:
        return {"results": [(arg["item"], arg["item"] * 2)]}

    def left(state: FanState) -> dict[str, Any]:
        return {"results": [("left", 0)]}

    def right(state: FanState) -> dict[str, Any]:
        return {"results": [("right", 0)]}

    def summarize(state: FanState) -> dict[str, Any]:
        ok = interrupt({"results": len(state["results"])})
        return {"summary": f"{len(state['results'])} results, {ok}"}

    b = StateGraph(FanState)
    b.add_node("work", work)
    b.add_node("left", left)
    b.add_node("right", right)
    b.add_node("summarize", summarize)
    b.add_conditional_edges(START, lambda s: [Send("work", {"item": i}) for i in s["items"]], ["work"])
    b.add_edge("work", "left")
    b.add_edge("work", "right")
    b.add_edge(["left", "right"], "summarize")
    b.add_edge("summarize", END)
    return b.compile(checkpointer=checkpointer)


# ---------------------------------------------------------------- a tool-calling agent
@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}, 21C"


def scripted_model(turns: int) -> GenericFakeChatModel:
    """A fake chat model from langchain_core: each user turn, a tool call then an answer."""
    replies = []
    for i in range(turns):
        replies.append(AIMessage("", id=f"call-{i}", tool_calls=[
            {"name": "weather", "args": {"city": f"city{i}"}, "id": f"tc-{i}", "type": "tool_call"}]))
        replies.append(AIMessage(f"It is sunny in city{i}.", id=f"answer-{i}"))
    return GenericFakeChatModel(messages=iter(replies))


def tool_graph(checkpointer: Any, turns: int = 50, prefix: str = "") -> Any:
    """MessagesState, an agent node (a fake chat model) and a ToolNode, the usual loop."""
    model = scripted_model(turns)

    def agent(state: MessagesState) -> dict[str, Any]:
        reply = model.invoke(state["messages"])
        return {"messages": [reply.model_copy(update={"id": prefix + reply.id})]}

    b = StateGraph(MessagesState)
    b.add_node("agent", agent)
    b.add_node("tools", ToolNode([weather]))
    b.add_edge(START, "agent")
    b.add_conditional_edges("agent", tools_condition)
    b.add_edge("tools", "agent")
    return b.compile(checkpointer=checkpointer)


def main(path: str, thread: str) -> None:
    from statevcs.integrations.langgraph import StateVCSSaver

    with StateVCSSaver.from_conn_string(path) as saver:
        out = review_graph(saver).invoke({"messages": [HumanMessage("hello", id="h-1")]},
                                         {"configurable": {"thread_id": thread}})
        print(out["__interrupt__"][0].value["question"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
