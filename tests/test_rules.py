"""State rules (issue 11.5): JSON Schemas per repository or branch, transition rules in the
attributes file; a refused commit names the pointer and the rule and writes nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statevcs import Repository
from statevcs.algo.policies import parse_attributes, parse_transitions
from statevcs.errors import InvalidAttributesError, InvalidRulesError, RuleViolationError
from statevcs.porcelain.rules.files import SCHEMA_REF

from .cli_helpers import fails, run
from .conftest import make_store

STATUS_SCHEMA = {
    "type": "object",
    "properties": {"agents": {"type": "object", "additionalProperties": {
        "type": "object", "properties": {"status": {"enum": ["idle", "running", "done"]}}}}},
}
TRANSITIONS = "/agents/*/status transitions idle>running running>done\n/plan atomic\n"


def agents(**statuses):
    return {"agents": {name: {"status": s} for name, s in statuses.items()}}


def snapshot(repo):
    return repo.store.list_refs(), sum(1 for _ in repo.store.iter_ids())


# ---------------------------------------------------------------- schemas on every store
def test_no_rules_means_no_change(repo):
    first = repo.commit(agents(a="whatever"), "one")
    repo.commit(agents(a="anything"), "two")
    assert repo.store.read_ref(SCHEMA_REF) is None and repo.schema() is None
    assert repo.log().__next__().parents == (first.id,)


def test_schema_refuses_a_commit_and_writes_nothing(repo):
    repo.commit(agents(a="idle"), "one")
    repo.set_schema(STATUS_SCHEMA)
    before = snapshot(repo)
    with pytest.raises(RuleViolationError) as info:
        repo.commit(agents(a="bogus"), "bad")
    assert info.value.pointer == "/agents/a/status"
    assert "enum" in info.value.rule and "repository schema" in info.value.rule
    assert "/agents/a/status" in str(info.value) and "'bogus' is not one of" in str(info.value)
    assert snapshot(repo) == before
    assert repo.commit(agents(a="running"), "fine").message == "fine"


def test_every_commit_path_is_checked(repo):
    one = repo.commit(agents(a="idle"), "one")
    repo.commit({"agents": {"a": {"status": "idle"}}, "x": 1}, "two")
    bad = repo.commit(agents(a="nope"), "bad before the schema")  # history is not re-checked
    good = repo.commit(agents(a="done"), "good")
    repo.set_schema(STATUS_SCHEMA)
    head = repo.branches["main"]
    attempts = [
        lambda: repo.update("main", lambda s: {**s, "agents": {"a": {"status": 7}}}),
        lambda: repo.restore(bad.id),
        lambda: repo.revert(good.id),
        lambda: repo.commit_patch([{"op": "replace", "path": "/agents/a/status", "value": "x"}]),
        lambda: repo.cherry_pick(bad.id, strategy="source_wins"),
    ]
    for attempt in attempts:
        with pytest.raises(RuleViolationError):
            attempt()
        assert repo.branches["main"] == head
    repo.restore(one.id)  # a state the schema allows still commits


def test_schema_refuses_a_merge_branch_unchanged(repo):
    repo.commit(agents(a="idle", b="idle"), "base")
    repo.create_branch("feature")
    repo.commit(agents(a="bad", b="idle"), "feature work", branch="feature")
    repo.commit(agents(a="idle", b="running"), "main work")
    repo.set_schema(STATUS_SCHEMA, branch="main")
    head = repo.branches["main"]
    with pytest.raises(RuleViolationError) as info:
        repo.merge("feature")
    assert info.value.pointer == "/agents/a/status" and "schema of branch main" in info.value.rule
    assert repo.branches["main"] == head


def test_branch_schema_applies_only_on_its_branch(repo):
    repo.commit({"n": 1}, "one")
    repo.create_branch("strict")
    repo.set_schema({"properties": {"n": {"maximum": 5}}}, branch="strict")
    repo.commit({"n": 10}, "main is free")
    with pytest.raises(RuleViolationError):
        repo.commit({"n": 10}, "strict is not", branch="strict")
    repo.commit({"n": 4}, "within bounds", branch="strict")
    # The repository schema applies where no branch schema does; a branch's own one replaces it.
    repo.set_schema({"properties": {"n": {"maximum": 100}}})
    with pytest.raises(RuleViolationError):
        repo.commit({"n": 1000}, "too big for main")
    repo.commit({"n": 3}, "strict still uses its own", branch="strict")
    assert repo.schema("strict") == {"properties": {"n": {"maximum": 5}}}
    assert repo.schema("other") is None and repo.schema("other", effective=True)["properties"]["n"]["maximum"] == 100
    repo.unset_schema("strict")
    repo.commit({"n": 50}, "the repository schema now", branch="strict")
    repo.unset_schema()
    assert repo.store.read_ref(SCHEMA_REF) is None
    repo.commit({"n": 10**6}, "no rules left")


def test_invalid_schema_is_refused_and_nothing_stored(repo):
    for bad in ({"type": 5}, {"minimum": "x"}, [1, 2], "text"):
        with pytest.raises(InvalidRulesError):
            repo.set_schema(bad)
    assert repo.store.read_ref(SCHEMA_REF) is None


def test_gc_keeps_the_schema(repo):
    repo.commit({"n": 1}, "one")
    repo.set_schema({"properties": {"n": {"type": "integer"}}})
    repo.gc(prune="now")
    repo.objects.forget()
    assert repo.schema() == {"properties": {"n": {"type": "integer"}}}
    with pytest.raises(RuleViolationError):
        repo.commit({"n": "one"}, "a string")


# ---------------------------------------------------------------- schemas that cannot reach out, recurse or hang
@pytest.fixture
def listener():
    """An HTTP server on 127.0.0.1 that records every request it gets (a test asserts none)."""
    import http.server
    import threading

    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()


def refused_at_set(repo, schema, *needles, branch=None):
    """set_schema refuses ``schema`` with one line holding every needle; nothing is stored."""
    before = snapshot(repo)
    with pytest.raises(InvalidRulesError) as info:
        repo.set_schema(schema, branch)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    for needle in needles:
        assert needle in message, message
    assert snapshot(repo) == before
    return message


def test_references_are_never_fetched(repo, listener, tmp_path):
    url, requests = listener
    repo.commit({"n": 1}, "one")
    (tmp_path / "remote.json").write_text('{"type": "string"}')
    for ref in (f"{url}/x.json", f"{url}/x.json#/type", (tmp_path / "remote.json").as_uri(), "urn:example:nothing"):
        refused_at_set(repo, {"$ref": ref}, repr(ref), "at /$ref", "never fetched")
        refused_at_set(repo, {"properties": {"a/b": {"items": {"$ref": ref}}}}, "at /properties/a~1b/items/$ref")
        refused_at_set(repo, {"$defs": {"x": {"$ref": ref}}, "anyOf": [{"$ref": "#/$defs/x"}]}, "at /$defs/x/$ref")
    refused_at_set(repo, {"$id": f"{url}/root.json", "$ref": "other.json"}, "'other.json'", "never fetched")
    refused_at_set(repo, {"$dynamicRef": f"{url}/d.json#meta"}, "$dynamicRef", "never fetched")
    assert requests == []
    # What a schema may name: itself (by pointer, $anchor or an embedded $id) and the drafts' meta-schemas.
    repo.set_schema({"$id": f"{url}/root.json", "$defs": {"n": {"$id": "n.json", "type": "integer"},
                                                        "m": {"$anchor": "m", "minimum": 0}},
                     "properties": {"n": {"allOf": [{"$ref": "n.json"}, {"$ref": "#m"}]},
                                    "meta": {"$ref": "https://json-schema.org/draft/2020-12/schema"}}})
    with pytest.raises(RuleViolationError):
        repo.commit({"n": -1}, "negative")
    with pytest.raises(RuleViolationError):
        repo.commit({"n": 1, "meta": {"type": 5}}, "not a schema")
    repo.commit({"n": 2, "meta": {"type": "object"}}, "fine")
    assert requests == []


def test_reference_cycles_and_missing_targets_are_refused(repo):
    refused_at_set(repo, {"$ref": "#"}, "/$ref leads back to the schema's root", "cycle")
    refused_at_set(repo, {"properties": {"x": {"$ref": "#/$defs/a"}},
                          "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}},
                   "leads back to /$defs/", "cycle")
    refused_at_set(repo, {"anyOf": [{"type": "string"}, {"not": {"$ref": "#"}}]}, "/anyOf/1/not/$ref", "cycle")
    refused_at_set(repo, {"if": {"$ref": "#/$defs/x"}, "$defs": {"x": {"then": {"$ref": "#"}}}}, "cycle")
    refused_at_set(repo, {"$defs": {"a": {"$anchor": "a", "oneOf": [{"$ref": "#a"}]}}, "$ref": "#a"}, "cycle")
    refused_at_set(repo, {"$ref": "#/$defs/nope"}, "'#/$defs/nope' at /$ref does not resolve")
    refused_at_set(repo, {"properties": {"a": {"$ref": "#/properties/b"}}}, "at /properties/a/$ref")
    refused_at_set(repo, {"$ref": "#nowhere"}, "'#nowhere'")
    refused_at_set(repo, {"enum": ["x"], "$ref": "#/enum/0"}, "names a str, not a schema")
    refused_at_set(repo, {"$schema": 5}, "$schema must be a string")
    # A cycle that goes into the value ends with the value: it is a recursive schema, allowed.
    repo.set_schema({"type": "object", "additionalProperties": {"$ref": "#"}})
    # Data is data: a "$ref" inside const/enum, or in $defs nobody uses, is never followed.
    repo.set_schema({"$defs": {"unused": {"$ref": "http://127.0.0.1:9/never"}},
                     "properties": {"c": {"const": {"$ref": "#"}}}})
    repo.commit({"c": {"$ref": "#"}}, "a value that looks like a reference")


def test_a_255_deep_recursive_schema_checks_a_255_deep_state(repo):
    repo.set_schema({"$defs": {"node": {"type": "object", "properties": {"leaf": {"type": "integer"}},
                                        "additionalProperties": {"$ref": "#/$defs/node"}}},
                     "$ref": "#/$defs/node"})

    def deep(leaf, levels=255):
        value = {"leaf": leaf}
        for _ in range(levels - 1):
            value = {"c": value}
        return value

    repo.commit(deep(1), "255 deep")
    with pytest.raises(RuleViolationError) as info:
        repo.commit(deep("x"), "a string at the bottom")
    assert info.value.pointer == "/c" * 254 + "/leaf"


def test_patterns_match_in_linear_time(repo):
    # Python's re needs minutes for each of these; RE2 answers at once (the test run shows it).
    evil, text = "^(a+)+$", "a" * 40 + "!"
    repo.set_schema({"properties": {"name": {"pattern": evil}}})
    with pytest.raises(RuleViolationError, match="does not match"):
        repo.commit({"name": text}, "redos")
    repo.set_schema({"patternProperties": {evil: {"type": "integer"}}, "additionalProperties": False})
    with pytest.raises(RuleViolationError, match="does not match any of the regexes"):
        repo.commit({text: 1}, "redos in additionalProperties")
    repo.set_schema({"patternProperties": {evil: {"type": "integer"}}, "unevaluatedProperties": False})
    with pytest.raises(RuleViolationError, match="Unevaluated properties"):
        repo.commit({text: 1}, "redos in unevaluatedProperties")
    repo.set_schema({"$schema": "https://json-schema.org/draft/2019-09/schema",
                     "patternProperties": {evil: {"type": "integer"}}, "unevaluatedProperties": False})
    with pytest.raises(RuleViolationError, match="Unevaluated properties"):
        repo.commit({text: 1}, "redos in draft 2019-09's unevaluatedProperties")
    repo.set_schema({"$schema": "http://json-schema.org/draft-04/schema#",
                     "properties": {"name": {"pattern": evil}}})
    with pytest.raises(RuleViolationError):
        repo.commit({"name": text}, "redos in draft 4")
    repo.commit({"name": "aaaa"}, "a match")
    # What RE2 cannot match in linear time is refused when the schema is set, by pointer.
    refused_at_set(repo, {"properties": {"x": {"pattern": "(a)\\1"}}}, "at /properties/x/pattern", "linear time")
    refused_at_set(repo, {"patternProperties": {"(?=a)b": {}}}, "at /patternProperties/(?=a)b", "look-arounds")


def test_without_re2_patterns_are_refused_not_matched_by_re(repo, monkeypatch):
    from statevcs.porcelain.rules import patterns

    monkeypatch.setattr(patterns, "_re2", lambda: None)  # as if google-re2 were not installed
    patterns._compiled.cache_clear()
    try:
        refused_at_set(repo, {"properties": {"x": {"pattern": "^a"}}}, "at /properties/x/pattern",
                       "google-re2", 'pip install "statevcs[rules]"')
        repo.set_schema({"properties": {"x": {"type": "string"}}})  # no pattern: no need
        repo.commit({"x": "y"}, "fine")
    finally:
        patterns._compiled.cache_clear()


def test_the_linear_keywords_replace_every_use_of_re():
    """Every keyword function of every draft that refers to ``re`` sees RE2, and so does every
    helper it calls (jsonschema's own code, rebound): none reaches Python's re."""
    import re

    from jsonschema import validators

    from statevcs.porcelain.rules.engine import safe_class
    from statevcs.porcelain.rules.patterns import RE2_MODULE

    checked = 0
    for base in set(validators._META_SCHEMAS.values()):
        for name, keyword in safe_class(base).VALIDATORS.items():
            function = keyword.__closure__[0].cell_contents  # the keyword inside its budget wrapper
            stack, seen = [function], set()
            while stack:
                f = stack.pop()
                if id(f) in seen or not hasattr(f, "__code__"):
                    continue
                seen.add(id(f))
                assert f.__globals__.get("re") is not re or "re" not in f.__code__.co_names, (base, name, f)
                stack += [f.__globals__[n] for n in f.__code__.co_names
                          if callable(f.__globals__.get(n)) and getattr(f.__globals__[n], "__module__", "").startswith("jsonschema")]
                checked += f.__globals__.get("re") is RE2_MODULE
    assert checked > 10
    newest = validators.Draft202012Validator
    replaced = {name for name, keyword in safe_class(newest).VALIDATORS.items()
                if keyword.__closure__[0].cell_contents is not newest.VALIDATORS[name]}
    assert replaced >= {"pattern", "patternProperties", "additionalProperties", "unevaluatedProperties"}
    assert "properties" not in replaced and "type" not in replaced  # what needs no regex runs as it is


def test_an_exponential_schema_ends_in_a_clean_error(repo):
    levels = {"d0": {"anyOf": [{"type": "string"}, {"type": "string"}]}}
    for i in range(1, 40):  # 2**40 ways to fail a number
        levels[f"d{i}"] = {"anyOf": [{"$ref": f"#/$defs/d{i - 1}"}, {"$ref": f"#/$defs/d{i - 1}"}]}
    repo.commit({"n": "one"}, "one")
    repo.set_schema({"$defs": levels, "properties": {"n": {"$ref": "#/$defs/d39"}}})
    head = repo.branches["main"]
    with pytest.raises(InvalidRulesError, match="more than its budget .* 'statevcs schema unset'"):
        repo.commit({"n": 5}, "a number")
    assert repo.branches["main"] == head
    repo.commit({"n": "two"}, "a string passes at once")


def test_a_schema_stored_by_an_older_version_is_a_clean_error(repo):
    """A looping schema written before set_schema refused it: every commit gets one clean
    error naming the way out, never RecursionError or a fetch."""
    from statevcs.model.tree import write_tree

    repo.commit({"n": 1}, "one")
    for schema, needle in (({"$ref": "#"}, "cycle"), ({"$ref": "http://127.0.0.1:9/x"}, "never fetched"),
                           ({"pattern": "(a)\\1"}, "linear time")):
        root, objects = write_tree({"branches": {"main": schema}})
        repo._write(objects, [(SCHEMA_REF, root, repo.store.read_ref(SCHEMA_REF))], "old")
        with pytest.raises(InvalidRulesError) as info:
            repo.commit({"n": 2}, "two")
        assert needle in str(info.value) and "statevcs schema unset --branch main" in str(info.value)
    assert repo.unset_schema("main") is True
    assert repo.unset_schema("main") is False and repo.unset_schema() is False
    repo.commit({"n": 2}, "two")


def test_cli_schema_refusals_are_one_line(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    run(d, "commit", "-m", "first")
    before = run(d, "reflog", "refs/meta/schema", check=False).out
    (d / "s.json").write_text('{"$ref": "http://127.0.0.1:9/x.json"}')
    assert "never fetched" in fails(d, 3, "schema", "set", "s.json").err
    (d / "s.json").write_text('{"properties": {"x": {"pattern": "(?<=a)b"}}}')
    assert "/properties/x/pattern" in fails(d, 3, "schema", "set", "s.json").err
    (d / "s.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "s.json is not valid JSON" in fails(d, 3, "schema", "set", "s.json").err
    assert run(d, "reflog", "refs/meta/schema", check=False).out == before
    r = fails(d, 3, "schema", "unset")
    assert "no schema is set for the repository" in r.err
    assert "no schema is set for branch main" in fails(d, 3, "schema", "unset", "--branch", "main").err
    (d / ".statevcs" / "schema.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "schema.json is not valid JSON" in fails(d, 3, "commit", "-m", "x", "--allow-empty").err
    assert "schema.json is not valid JSON" in fails(d, 3, "schema", "show").err


# ---------------------------------------------------------------- transitions on every store
@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ruled(request, tmp_path):
    """A repository on each store with a meta directory holding transition rules."""
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "attributes").write_text(TRANSITIONS)
    store = make_store(request.param, tmp_path)
    store.update_ref("HEAD", "ref: refs/heads/main", None, "tester", "init")
    r = Repository(store, None, author="tester", meta_dir=str(meta))
    yield r
    r.close()


def test_transitions_allowed_and_refused(ruled):
    ruled.commit(agents(a="idle", b="idle"), "start")
    ruled.commit(agents(a="running", b="idle"), "a starts")
    ruled.commit(agents(a="done", b="running"), "a done, b starts")
    head = ruled.branches["main"]
    with pytest.raises(RuleViolationError) as info:
        ruled.commit(agents(a="idle", b="running"), "a back to idle")
    assert info.value.pointer == "/agents/a/status"
    assert "'done' -> 'idle'" in str(info.value) and "idle>running running>done" in info.value.rule
    with pytest.raises(RuleViolationError):
        ruled.commit(agents(a="done", b="idle"), "b back")
    assert ruled.branches["main"] == head
    # New agents and removed ones are free (no '>X' or 'X>' pairs in the rule); others untouched.
    ruled.commit({**agents(b="running", c="weird"), "other": 1}, "c arrives, a leaves")


def test_transitions_are_checked_on_merge_update_and_patch(ruled):
    ruled.commit(agents(a="running"), "start")
    ruled.create_branch("side")
    ruled.commit(agents(a="done"), "done on side", branch="side")
    ruled.commit({**agents(a="running"), "x": 1}, "main moves")
    ruled.merge("side")  # running -> done: allowed
    head = ruled.branches["main"]
    with pytest.raises(RuleViolationError):
        ruled.update("main", lambda s: {**s, "agents": {"a": {"status": "running"}}})
    with pytest.raises(RuleViolationError):
        ruled.commit_patch([{"op": "replace", "path": "/agents/a/status", "value": "idle"}])
    assert ruled.branches["main"] == head


def test_transition_rule_on_a_pointer_that_does_not_exist(ruled):
    ruled.commit({"nothing": "here"}, "one")
    ruled.commit({"nothing": "changed", "agents": []}, "two")  # no match: no constraint
    ruled.commit({"agents": "a scalar where objects were expected"}, "three")


def test_creation_and_removal_can_be_restricted(tmp_path):
    repo = Repository.init(str(tmp_path / "r"))
    (tmp_path / "r" / ".statevcs" / "attributes").write_text(
        "/jobs/* transitions >queued queued>running running>done done>\n")
    repo.commit({"jobs": {"j1": "queued"}}, "queued")
    with pytest.raises(RuleViolationError, match="creating it as 'running'"):
        repo.commit({"jobs": {"j1": "queued", "j2": "running"}}, "skips the queue")
    with pytest.raises(RuleViolationError, match="removing it"):
        repo.commit({"jobs": {}}, "dropped while queued")
    repo.commit({"jobs": {"j1": "running"}}, "runs")
    repo.commit({"jobs": {"j1": "done"}}, "done")
    repo.commit({"jobs": {}}, "cleaned up")


def test_bad_transition_lines_are_refused(tmp_path):
    repo = Repository.init(str(tmp_path / "r"))
    attributes = tmp_path / "r" / ".statevcs" / "attributes"
    for text in ("agents transitions a>b\n", "/a transitions\n", "/a transitions a-b\n", "/a transitions a>b>c\n"):
        attributes.write_text(text)
        with pytest.raises(InvalidAttributesError):
            repo.commit({"a": 1}, "x")
    assert repo.head() is None


def test_transition_lines_do_not_disturb_merge_policies():
    assert parse_attributes(TRANSITIONS) == {"/plan": "atomic"}
    (rule,) = parse_transitions(TRANSITIONS)
    assert rule.pattern == "/agents/*/status" and ("idle", "running") in rule.pairs


@given(st.sampled_from(["idle", "running", "done", None]), st.sampled_from(["idle", "running", "done", None]))
def test_a_rule_allows_exactly_its_pairs(old, new):
    (rule,) = parse_transitions("/s transitions idle>running running>done")
    expected = old == new or old is None or new is None or (old, new) in {("idle", "running"), ("running", "done")}
    assert rule.allows(old, new) == expected


# ---------------------------------------------------------------- directory schema file and the CLI
def test_schema_file_in_a_directory_repository(tmp_path):
    repo = Repository.init(str(tmp_path / "r"))
    schema_file = tmp_path / "r" / ".statevcs" / "schema.json"
    schema_file.write_text(json.dumps({"required": ["name"]}))
    with pytest.raises(RuleViolationError, match="schema.json"):
        repo.commit({"other": 1}, "no name")
    repo.commit({"name": "x"}, "named")
    schema_file.write_text("{not json")
    with pytest.raises(InvalidRulesError):
        repo.commit({"name": "y"}, "unreadable schema")
    schema_file.write_text(json.dumps({"type": 12}))
    with pytest.raises(InvalidRulesError, match="not a valid JSON Schema"):
        repo.commit({"name": "y"}, "invalid schema")
    repo.set_schema({"required": ["id"]})  # a stored schema takes precedence over the file
    repo.commit({"id": 1}, "stored wins")


def test_cli_schema_flow(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text(json.dumps(agents(a="idle")))
    run(d, "commit", "-m", "first")
    (d / "schema.json").write_text(json.dumps(STATUS_SCHEMA))
    assert run(d, "schema", "set", "schema.json").out == "Schema set for the repository\n"
    assert json.loads(run(d, "schema", "show").out) == STATUS_SCHEMA
    (d / "state.json").write_text(json.dumps(agents(a="sleeping")))
    r = fails(d, 3, "commit", "-m", "bad")
    assert "/agents/a/status" in r.err and "enum" in r.err
    assert "first" in run(d, "log").out and "bad" not in run(d, "log").out
    (d / "bad.json").write_text('{"type": 5}')
    fails(d, 3, "schema", "set", "bad.json")
    (d / "bad.json").write_text('{oops')
    fails(d, 3, "schema", "set", "bad.json")
    run(d, "schema", "unset")
    assert "no schema" in run(d, "schema", "show").out
    run(d, "commit", "-m", "now allowed")


def test_cli_rules_refuse_a_merge(tmp_path):
    run(tmp_path, "init", "demo")
    d = tmp_path / "demo"
    (d / "state.json").write_text(json.dumps(agents(a="done")))
    run(d, "commit", "-m", "first")
    run(d, "switch", "-c", "side")
    (d / "state.json").write_text(json.dumps({**agents(a="idle"), "side": 1}))
    run(d, "commit", "-m", "side resets a (before the rule existed)")
    run(d, "switch", "main")
    (d / "state.json").write_text(json.dumps({**agents(a="done"), "main": 1}))
    run(d, "commit", "-m", "main work")
    (d / ".statevcs" / "attributes").write_text(TRANSITIONS)
    before = run(d, "log").out
    r = fails(d, 3, "merge", "side", "-m", "merge side")
    assert "'done' -> 'idle'" in r.err and "/agents/a/status" in r.err
    assert run(d, "log").out == before
    (d / ".statevcs" / "attributes").write_text("")
    run(d, "merge", "side", "-m", "merge side")
    assert run(d, "log").out != before


def test_a_fast_forward_onto_a_stricter_branch_is_checked(repo):
    repo.commit(agents(a="idle"), "base")
    repo.create_branch("loose")
    repo.commit(agents(a="bad"), "allowed on loose", branch="loose")
    repo.set_schema(STATUS_SCHEMA, branch="main")
    head = repo.branches["main"]
    with pytest.raises(RuleViolationError) as info:
        repo.merge("loose")  # would fast-forward main to a state main's schema refuses
    assert info.value.pointer == "/agents/a/status"
    assert repo.branches["main"] == head
    repo.commit(agents(a="running"), "fine on loose", branch="loose")
    assert repo.merge("loose").kind == "fast-forward"
