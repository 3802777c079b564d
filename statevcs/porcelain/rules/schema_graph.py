"""What a schema is checked for before it is used: every reference it can follow resolves
inside the schema (nothing is ever fetched), no reference cycle stays on one value (it would
recurse forever), and every pattern compiles in RE2 (linear time). Each refusal is one
InvalidRulesError naming the JSON Pointer, in the schema, of what is wrong.

The schema is a graph: its subschemas, plus an edge for each ``$ref``, ``$dynamicRef`` and
``$recursiveRef``. Edges are *in place* (the subschema applies to the same value: ``$ref``,
``allOf``, ``anyOf``, ``oneOf``, ``not``, ``if``/``then``/``else``, ``dependentSchemas``) or
*descending* (to a value inside it: ``properties``, ``items``, ...). A cycle through a
descending edge ends where the state ends (the depth limit bounds it); a cycle of in-place
edges never ends, so it is refused. Only what validation can reach is walked: ``$defs``
nobody refers to, and data such as ``enum`` and ``const``, are never followed.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidRulesError
from ...model.pointer import format_pointer
from .patterns import check_pattern

REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
IN_PLACE_ONE = ("not", "if", "then", "else", "extends")
IN_PLACE_MANY = ("allOf", "anyOf", "oneOf", "extends", "type", "disallow")  # draft 3: type/disallow schemas
IN_PLACE_MAP = ("dependentSchemas", "dependencies")
DESCENDING_ONE = ("additionalProperties", "unevaluatedProperties", "propertyNames", "items", "additionalItems",
                  "unevaluatedItems", "contains")
DESCENDING_MANY = ("items", "prefixItems")
DESCENDING_MAP = ("properties", "patternProperties")


def _pointers(schema: Any) -> dict[int, str]:
    """id of every object in the schema document -> its JSON Pointer."""
    found: dict[int, str] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            found.setdefault(id(node), format_pointer(path))
            stack.extend((value, path + (key,)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, path + (str(i),)) for i, value in enumerate(node))
    return found


def _children(node: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    """(keyword path, subschema, in place?) for each subschema ``node`` applies."""
    out: list[tuple[str, Any, bool]] = []
    for key in IN_PLACE_ONE + DESCENDING_ONE:
        if isinstance(node.get(key), dict):
            out.append((key, node[key], key in IN_PLACE_ONE))
    for key in IN_PLACE_MANY + DESCENDING_MANY:
        if isinstance(node.get(key), list):
            out += [(f"{key}/{i}", sub, key in IN_PLACE_MANY) for i, sub in enumerate(node[key]) if isinstance(sub, dict)]
    for key in IN_PLACE_MAP + DESCENDING_MAP:
        if isinstance(node.get(key), dict):
            out += [(key + format_pointer((name,)), sub, key in IN_PLACE_MAP)
                    for name, sub in node[key].items() if isinstance(sub, dict)]
    return out


class _Walk:
    """The reachable part of one schema, with its in-place edges."""

    def __init__(self, schema: dict[str, Any], cls: Any, source: str) -> None:
        import referencing.jsonschema
        from jsonschema_specifications import REGISTRY as SPECIFICATIONS

        from .engine import registry

        self.source = source
        self.where = _pointers(schema)
        dialect = cls.ID_OF(cls.META_SCHEMA) or "urn:unknown-dialect"
        self.spec = referencing.jsonschema.specification_with(dialect, default=referencing.Specification.OPAQUE)
        resolver = SPECIFICATIONS.combine(registry()).resolver_with_root(self.spec.create_resource(schema))
        self.nodes: dict[int, dict[str, Any]] = {}
        #: id -> [(target id, the pointer of the keyword that leads there)]
        self.in_place: dict[int, list[tuple[int, str]]] = {}
        self._queue: list[tuple[dict[str, Any], Any]] = [(schema, resolver)]

    def name(self, node: dict[str, Any]) -> str:
        where = self.where.get(id(node))
        return "the schema's root" if where == "" else where or "a schema it refers to"

    def at(self, node: dict[str, Any], keyword: str) -> str:
        return f"{self.where.get(id(node), '(a schema it refers to)')}/{keyword}"

    def run(self) -> None:
        while self._queue:
            node, resolver = self._queue.pop()
            if id(node) in self.nodes:
                continue
            self.nodes[id(node)] = node
            edges = self.in_place.setdefault(id(node), [])
            for keyword, sub, in_place in _children(node):
                self._queue.append((sub, resolver.in_subresource(self.spec.create_resource(sub))))
                if in_place:
                    edges.append((id(sub), self.at(node, keyword)))
            for keyword in REFERENCES:
                if isinstance(node.get(keyword), str):
                    target, target_resolver = self._resolve(node, keyword, resolver)
                    if isinstance(target, dict):
                        self._queue.append((target, target_resolver))
                        edges.append((id(target), self.at(node, keyword)))
        self._dynamic_edges()

    def _resolve(self, node: dict[str, Any], keyword: str, resolver: Any) -> tuple[Any, Any]:
        import referencing.exceptions

        ref = node[keyword]
        try:
            resolved = resolver.lookup(ref)
        except referencing.exceptions.Unresolvable:
            raise InvalidRulesError(
                f"{self.source}: {keyword} {ref!r} at {self.at(node, keyword)} does not resolve inside the schema "
                "(references are never fetched: put what it names under $defs)") from None
        if not isinstance(resolved.contents, (dict, bool)):
            raise InvalidRulesError(
                f"{self.source}: {keyword} {ref!r} at {self.at(node, keyword)} names a "
                f"{type(resolved.contents).__name__}, not a schema")
        return resolved.contents, resolved.resolver

    def _dynamic_edges(self) -> None:
        """A ``$dynamicRef``/``$recursiveRef`` may land on any schema of the dynamic scope
        with the same anchor: count every such schema as a target (a cycle is refused if
        any choice makes one)."""
        anchors: dict[str, list[int]] = {}
        recursive: list[int] = []
        for key, node in self.nodes.items():
            if isinstance(node.get("$dynamicAnchor"), str):
                anchors.setdefault(node["$dynamicAnchor"], []).append(key)
            if node.get("$recursiveAnchor") is True:
                recursive.append(key)
        for key, node in self.nodes.items():
            if isinstance(node.get("$dynamicRef"), str) and "#" in node["$dynamicRef"]:
                name = node["$dynamicRef"].split("#", 1)[1]
                self.in_place[key] += [(target, self.at(node, "$dynamicRef")) for target in anchors.get(name, [])]
            if isinstance(node.get("$recursiveRef"), str):
                self.in_place[key] += [(target, self.at(node, "$recursiveRef")) for target in recursive]

    def refuse_cycles(self) -> None:
        state: dict[int, int] = {}  # 1: on the current path, 2: done
        for start in self.nodes:
            if start in state:
                continue
            state[start] = 1
            stack = [(start, iter(self.in_place.get(start, ())))]
            while stack:
                node, edges = stack[-1]
                for target, keyword in edges:
                    if state.get(target) == 1:
                        raise InvalidRulesError(
                            f"{self.source}: {keyword} leads back to {self.name(self.nodes[target])} without "
                            "going into the value (a reference cycle that would never end)")
                    if target not in state:
                        state[target] = 1
                        stack.append((target, iter(self.in_place.get(target, ()))))
                        break
                else:
                    state[node] = 2
                    stack.pop()

    def check_patterns(self) -> None:
        for node in self.nodes.values():
            if "pattern" in node:
                check_pattern(node["pattern"], self.at(node, "pattern"), self.source)
            if isinstance(node.get("patternProperties"), dict):
                for key in node["patternProperties"]:
                    check_pattern(key, self.at(node, "patternProperties" + format_pointer((key,))), self.source)


def check_graph(schema: Any, cls: Any, source: str) -> int:
    """Refuse (InvalidRulesError) a schema that reaches outside itself, loops in place or has
    a pattern RE2 cannot match; return how many keywords validation can reach."""
    if not isinstance(schema, dict):
        return 1
    walk = _Walk(schema, cls, source)
    walk.run()
    walk.refuse_cycles()
    walk.check_patterns()
    return sum(len(node) for node in walk.nodes.values())
