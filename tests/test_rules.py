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
