"""How a LangGraph thread reads in ``statevcs diff``, ``show`` and ``log``.

The CLI asks ``statevcs.integrations.view_for`` for a view of the commits it shows; for
commits the saver made (metadata key ``langgraph``) it gets ``VIEW`` from here, which

- hides LangGraph's internal channels (``__start__``, ``__pregel_tasks``,
  ``__interrupt__``, ``branch:to:*``, ``join:*``: the top-level keys ``hidden`` names)
  unless ``--all-channels`` is given;
- summarizes values in the default (abbreviated) output: a message in LangChain's JSON
  form as its role, name or tool and a preview of its content, with the tool calls it
  makes by name and arguments (``ai "Let me look" -> search(query="weather")``); a list
  of messages (a write to a delta channel) as one line per message; a typed value
  (codec.py) as its type and value. ``--full`` prints the JSON itself.

Pure JSON work: nothing here imports LangGraph, so the CLI stays fast and works where
LangGraph is not installed.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Preview length of a message's content (characters).
PREVIEW = 60
#: Top-level channels LangGraph keeps for itself (a pattern per line: prefix or exact).
INTERNAL_PREFIXES = ("__", "branch:", "join:", "start:")
_ROLES = {"HumanMessage": "human", "AIMessage": "ai", "ToolMessage": "tool", "SystemMessage": "system",
          "FunctionMessage": "function", "ChatMessage": "chat", "RemoveMessage": "remove"}
_SPACE = re.compile(r"\s+")


def is_message(value: Any) -> bool:
    """A message in LangChain's JSON form."""
    return (type(value) is dict and value.get("lc") == 1 and value.get("type") == "constructor"
            and type(value.get("id")) is list and bool(value["id"]) and type(value.get("kwargs")) is dict
            and str(value["id"][-1]).replace("Chunk", "") in _ROLES)


def _short(text: str, limit: int = PREVIEW) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _content(content: Any) -> str:
    """A message's content as text: a string, or the text of its content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                parts.append(block["text"] if isinstance(block.get("text"), str) else f"[{block.get('type', '?')}]")
        return " ".join(parts)
    return json.dumps(content, ensure_ascii=False)


def _call(call: Any) -> str:
    if not isinstance(call, dict):
        return "?"
    args = call.get("args")
    if isinstance(args, dict):
        shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    else:
        shown = json.dumps(args, ensure_ascii=False) if args is not None else ""
    return f"{call.get('name', '?')}({_short(shown, PREVIEW)})"


def message_line(form: Any) -> str | None:
    """One line for a message in LangChain's JSON form (None for anything else):
    role, name or tool, a preview of the content, and the tool calls it makes."""
    if not is_message(form):
        return None
    kwargs = form["kwargs"]
    kind = str(form["id"][-1]).replace("Chunk", "")
    role = kwargs.get("role") if kind == "ChatMessage" and isinstance(kwargs.get("role"), str) else _ROLES[kind]
    if kind == "RemoveMessage":
        return f"remove {kwargs.get('id')}"
    head = role
    if isinstance(kwargs.get("name"), str) and kwargs["name"]:
        head += f" {kwargs['name']}" if kind == "ToolMessage" else f" ({kwargs['name']})"
    text = _content(kwargs.get("content", ""))
    line = f"{head}: {json.dumps(_short(text), ensure_ascii=False)}" if kind == "ToolMessage" else (
        f"{head} {json.dumps(_short(text), ensure_ascii=False)}" if text.strip() else head)
    calls = kwargs.get("tool_calls")
    if isinstance(calls, list) and calls:
        line += " -> " + ", ".join(_call(c) for c in calls)
    return line


def _typed_line(value: dict[str, Any]) -> str | None:
    """One line for a tagged value (codec.py): its type and value."""
    tag = value.get("$lg")
    if isinstance(tag, dict):
        return f"(opaque {tag.get('type', '?')} value)"
    if not isinstance(tag, str):
        return None
    if tag == "delta":
        if "seed" in value:
            seed = value["seed"]
            count = f"{len(seed)} items" if isinstance(seed, list) else "a value"
            return f"delta log, from a snapshot of {count}"
        return "delta log"
    name = tag
    if isinstance(value.get("class"), str):
        name = value["class"].rpartition(":")[2]
    if "b64" in value:
        name += " (base64)"
    shown = _untagged(value.get("v", value.get("b64")))
    text = json.dumps(shown, ensure_ascii=False, sort_keys=True)
    return f"{name} {_short(text, 2 * PREVIEW)}"


def _untagged(value: Any) -> Any:
    """A value with the tagged forms inside it replaced by their payloads (for a preview)."""
    if type(value) is dict:
        if "$lg" in value and not isinstance(value["$lg"], dict):
            return _untagged(value.get("v", value.get("b64", value.get("items"))))
        return {k: _untagged(v) for k, v in value.items()}
    if type(value) is list:
        return [_untagged(v) for v in value]
    return value


def summarize(value: Any) -> list[str] | None:
    """Lines standing for ``value`` in an abbreviated diff (None: show it as JSON)."""
    line = message_line(value)
    if line is not None:
        return [line]
    if type(value) is dict and "$lg" in value:
        typed = _typed_line(value)
        return [typed] if typed is not None else None
    if type(value) is list and value and all(is_message(v) for v in value):
        lines = [message_line(v) or "" for v in value]
        return [f"[{lines[0]}]"] if len(lines) == 1 else [f"{len(lines)} messages:", *lines]
    return None


def hidden(pointer: str) -> bool:
    """Whether a change at ``pointer`` is inside one of LangGraph's internal channels."""
    token = pointer[1:].split("/", 1)[0] if pointer.startswith("/") else ""
    return token.startswith(INTERNAL_PREFIXES)


class ThreadView:
    """The view of LangGraph checkpoints the CLI uses (see the module docstring)."""

    name = "langgraph"
    #: The option that shows what ``hidden`` hides.
    hidden_what = "LangGraph's internal channels"

    @staticmethod
    def hidden(pointer: str) -> bool:
        return hidden(pointer)

    @staticmethod
    def summarize(value: Any) -> list[str] | None:
        return summarize(value)


VIEW = ThreadView()
