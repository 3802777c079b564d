"""Response size limits: a tool answer is never bigger than the server's limit (about; the
JSON envelope around it aside), however big the state.

A value too big to send whole is paged (``page_value``: an object's or array's entries, a
string's characters, from an offset) and lists in answers (commits, changes, conflicts) are
cut to what fits, with large values inside them replaced by a description (``fit_list``).
Sizes are measured without reading a big subtree whole: ``bounded_size`` stops counting
stored bytes once past the budget.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from ...model.missing import MISSING
from ...model.objects import Ref
from ...model.pointer import format_pointer
from ...model.tree import OBJECT, SCALAR, NodeSource, materialize, node_children, view

#: The default limit of one answer, in bytes of JSON (about 25,000 tokens).
DEFAULT_MAX_BYTES = 100_000
#: The smallest limit a server accepts: enough for a page with a few entries and its notes.
MIN_MAX_BYTES = 2_000
#: A page holds at most this many entries, whatever their size.
MAX_ENTRIES = 1_000
#: A value inside a list (a change, a conflict side) bigger than limit // SHARE is described instead.
SHARE = 20


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def bounded_size(source: NodeSource, child: Any, budget: int) -> int | None:
    """Stored bytes of the value ``child`` (a Ref or an inline value), or None once over
    ``budget``: at most about ``budget`` bytes of nodes are read, whatever the value's size."""
    if type(child) is not Ref:
        size = json_size(child)
        return size if size <= budget else None
    total, stack, seen = 0, [child.id], set()
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        total += len(source.raw(oid))
        if total > budget:
            return None
        kids = node_children(source.node(oid))
        if kids:
            stack.extend(c.id for c in (kids.values() if isinstance(kids, dict) else kids) if type(c) is Ref)
    return total


def describe(value: Any) -> dict[str, Any]:
    """What a value left out of an answer was: its kind, length and size."""
    if value is MISSING:
        return {"kind": "missing"}
    kind = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else \
        "string" if isinstance(value, str) else "scalar"
    out: dict[str, Any] = {"kind": kind, "bytes": json_size(value)}
    if kind != "scalar":
        out["length"] = len(value)
    return out


def omitted(value: Any, limit: int) -> Any:
    """``value`` itself when it fits in ``limit`` bytes, else ``{"$omitted": describe(value)}``."""
    if json_size(value) <= limit:
        return value
    return {"$omitted": describe(value)}


def page_value(source: NodeSource, child: Any, tokens: tuple[str, ...], offset: int, max_bytes: int
               ) -> dict[str, Any]:
    """A page of a value too big to send whole: entries of an object or array from ``offset``
    (small ones with their value, big ones described), or characters of a string."""
    kind, contents = view(source, child)
    pointer = format_pointer(tokens)
    budget = max_bytes * 9 // 10
    if kind == SCALAR:
        text = contents if isinstance(contents, str) else json.dumps(contents)
        piece = text[offset:offset + budget]
        while piece and json_size(piece) > budget:
            piece = piece[: len(piece) * 3 // 4]
        end = offset + len(piece)
        return {"truncated": True, "kind": "string", "length": len(text), "offset": offset, "text": piece,
                "next_offset": end if end < len(text) else None,
                "note": f"The string at {pointer or 'the root'} is longer than one answer ({max_bytes} bytes): "
                        "this is the part from offset; call get again with offset=next_offset for more."}
    items = contents.items() if kind == OBJECT else enumerate(contents)
    entry_budget = max(max_bytes // SHARE, 200)
    entries: list[dict[str, Any]] = []
    used, next_offset = 0, None
    for position, (key, sub) in enumerate(islice(items, offset, None), offset):
        if len(entries) >= MAX_ENTRIES:
            next_offset = position
            break
        entry = _entry(source, kind, key, sub, (*tokens, str(key)), entry_budget)
        size = json_size(entry)
        if entries and used + size > budget:
            next_offset = position
            break
        entries.append(entry)
        used += size
    return {"truncated": True, "kind": kind, "length": len(contents), "offset": offset, "entries": entries,
            "next_offset": next_offset,
            "note": f"The value at {pointer or 'the root'} is larger than one answer ({max_bytes} bytes): these "
                    "are its entries from offset, big ones described by kind and length. Read one with get "
                    "and its pointer" + (", or the next page with offset=next_offset." if next_offset else ".")}


def _entry(source: NodeSource, kind: str, key: Any, sub: Any, tokens: tuple[str, ...], budget: int
           ) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": key} if kind == OBJECT else {"index": key}
    entry["pointer"] = format_pointer(tokens)
    if bounded_size(source, sub, budget) is not None:
        value = materialize(source, sub)
        if json_size(value) <= budget:
            entry["value"] = value
            return entry
    sub_kind, sub_contents = view(source, sub)
    if sub_kind == SCALAR:
        entry["kind"] = "string" if isinstance(sub_contents, str) else "scalar"
        if isinstance(sub_contents, str):
            entry["length"] = len(sub_contents)
    else:
        entry["kind"] = sub_kind
        entry["length"] = len(sub_contents)
    return entry


def fit_list(result: dict[str, Any], key: str, max_bytes: int, value_fields: tuple[str, ...],
             offset: int | None = None) -> dict[str, Any]:
    """``result`` made to fit ``max_bytes``: big values in ``result[key]``'s items (the
    ``value_fields``) are described instead, then trailing items are dropped. With ``offset``
    (the tool pages), ``next_offset`` says where the next call starts."""
    if json_size(result) <= max_bytes:
        return result
    limit = max(max_bytes // SHARE, 200)
    shrunk = [_shrink(item, value_fields, limit) for item in result[key]]
    budget = max_bytes * 9 // 10 - json_size({k: v for k, v in result.items() if k != key})
    kept: list[Any] = []
    used = 0
    for item in shrunk:
        size = json_size(item) + 1
        if kept and used + size > budget:
            break
        kept.append(item)
        used += size
    out = {**result, key: kept}
    described = any(a is not b for a, b in zip(shrunk, result[key]))
    notes = []
    if described:
        notes.append(f"values over {limit} bytes are described as {{\"$omitted\": {{kind, length, bytes}}}}: "
                     "read them with get")
    if len(kept) < len(shrunk):
        out["truncated"] = True
        out["shown"] = len(kept)
        if offset is not None:
            out["next_offset"] = offset + len(kept)
            notes.append(f"only {len(kept)} of {len(shrunk)} {key} fit in one answer: call again with "
                         "offset=next_offset for the rest")
        else:
            notes.append(f"only the first {len(kept)} {key} fit in one answer")
    if notes:
        out["note"] = "; ".join(notes).capitalize() + "."
    return out


def _shrink(item: Any, fields: tuple[str, ...], limit: int) -> Any:
    if not isinstance(item, dict) or json_size(item) <= limit:
        return item
    out = dict(item)
    for name in fields:
        if name in out:
            value = out[name]
            if isinstance(value, str) and json_size(value) > limit:
                out[name] = value[: limit // 2] + f"... ({len(value)} characters in all)"
            else:
                out[name] = omitted(value, limit)
    return out


def fit_text(result: dict[str, Any], key: str, max_bytes: int) -> dict[str, Any]:
    """``result`` with its text ``result[key]`` cut to fit ``max_bytes``."""
    if json_size(result) <= max_bytes:
        return result
    text = result[key]
    budget = max_bytes * 9 // 10 - json_size({k: v for k, v in result.items() if k != key})
    piece = text[: max(budget, 0)]
    while piece and json_size(piece) > budget:
        piece = piece[: len(piece) * 3 // 4]
    cut = piece.rfind("\n")
    piece = piece[: cut + 1] if cut > 0 else piece
    return {**result, key: piece, "truncated": True,
            "note": f"The text is cut after {len(piece)} of {len(text)} characters: narrow it with path, or "
                    "page the patch format with offset."}


__all__ = ["DEFAULT_MAX_BYTES", "MIN_MAX_BYTES", "bounded_size", "describe", "fit_list", "fit_text", "json_size",
           "omitted", "page_value"]
