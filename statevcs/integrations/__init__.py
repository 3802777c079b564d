"""Bridges between statevcs and agent frameworks (optional extras).

Each integration lives in its own subpackage and imports its framework lazily, so
``import statevcs`` never needs them: ``pip install "statevcs[langgraph]"``.

An integration may also say how the commits it makes read in ``diff``, ``show`` and
``log``: a *view*, registered here under the commit metadata key its commits carry.
The CLI asks ``view_for`` about the commits it shows and knows nothing of frameworks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from .langgraph.review import VIEW as LANGGRAPH_VIEW


class View(Protocol):
    """How an integration's commits read in review output."""

    #: What ``hidden`` hides, for the help of the option that shows it.
    hidden_what: str

    def hidden(self, pointer: str) -> bool:
        """Whether a change at ``pointer`` is bookkeeping the default output leaves out."""
        ...

    def summarize(self, value: Any) -> list[str] | None:
        """Lines standing for a value in abbreviated output (None: show the JSON)."""
        ...


#: Commit metadata key -> the view of the commits that carry it.
VIEWS: dict[str, View] = {"langgraph": LANGGRAPH_VIEW}


def view_for(metadatas: Iterable[Mapping[str, Any]]) -> View | None:
    """The view of the first commit (by its metadata) an integration registered one for."""
    for metadata in metadatas:
        for key, view in VIEWS.items():
            if key in metadata:
                return view
    return None
