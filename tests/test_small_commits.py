"""The small-commit fast path (issue 8.4): a commit reads HEAD, its branch and the rules ref
in one statement, guessing the branch from the last commit; the guess, the rules and the
ref moves must still follow what other connections did in between. Every test runs on each
store, with a second connection (a second store object) where the store has connections."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statevcs import Repository
from statevcs.errors import RefConflictError, RuleViolationError
from statevcs.porcelain.rules.files import SCHEMA_REF
from statevcs.store.memory import MemoryStore
from statevcs.store.sqlite import SQLiteStore

from .conftest import STORES, make_store

SCHEMA = {"type": "object", "properties": {"status": {"enum": ["idle", "running"]}}}


def _second_connection(store):
    """Another store object on the same repository (the same object for the memory store)."""
    if isinstance(store, MemoryStore):
        return store
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    from statevcs.store.postgres import PostgresStore

    return PostgresStore(store.location)


@pytest.fixture(params=STORES)
def two(request, tmp_path):
    """Two Repository objects on one repository, each with its own connection."""
    store = make_store(request.param, tmp_path)
    store.update_ref("HEAD", "ref: refs/heads/main", None, "tester", "init")
    a = Repository(store, None, author="a")
    b = Repository(_second_connection(store), None, author="b")
    yield a, b
    b.close()
    a.close()


def test_a_schema_set_by_another_connection_applies_to_the_next_commit(two):
    a, b = two
    a.commit({"status": "whatever"}, "before rules")
    a.commit({"status": "anything"}, "still no rules")
    b.set_schema(SCHEMA)
    with pytest.raises(RuleViolationError):
        a.commit({"status": "bogus"}, "refused")
    assert a.commit({"status": "idle"}, "allowed").message == "allowed"
    b.unset_schema()
    assert b.store.read_ref(SCHEMA_REF) is None
    assert a.commit({"status": "bogus again"}, "rules gone").message == "rules gone"


def test_a_changed_schema_is_seen_not_the_cached_one(two):
    a, b = two
    b.set_schema(SCHEMA)
    a.commit({"status": "idle"}, "checked")
    b.set_schema({"type": "object", "required": ["status", "owner"]})
    with pytest.raises(RuleViolationError, match="owner"):
        a.commit({"status": "running"}, "misses the new requirement")
    a.commit({"status": "bogus", "owner": "x"}, "the old enum no longer applies")


def test_head_switched_by_another_connection_is_followed(two):
    a, b = two
    first = a.commit({"n": 1}, "on main")  # a now guesses refs/heads/main
    b.create_branch("other", first.id)
    b.store.update_ref("HEAD", "ref: refs/heads/other", "ref: refs/heads/main", "b", "switch")
    second = a.commit({"n": 2}, "lands on other")
    assert a.store.read_ref("refs/heads/other") == second.id
    assert a.store.read_ref("refs/heads/main") == first.id
    assert second.parents == (first.id,)
    assert a.reflog("HEAD")[0].new == second.id
    assert a.reflog("refs/heads/other")[0].new == second.id
    third = a.commit({"n": 3}, "still on other")
    assert a.store.read_ref("refs/heads/other") == third.id


def test_head_detached_by_another_connection_moves_only_head(two):
    a, b = two
    first = a.commit({"n": 1}, "on main")
    b.store.update_ref("HEAD", first.id, "ref: refs/heads/main", "b", "detach")
    second = a.commit({"n": 2}, "detached")
    assert a.store.read_ref("HEAD") == second.id
    assert a.store.read_ref("refs/heads/main") == first.id
    assert second.parents == (first.id,)


def test_a_moved_branch_still_raises_ref_conflict_and_writes_nothing(two):
    a, b = two
    first = a.commit({"n": 1}, "one")
    b.commit({"n": 2}, "moved by b")
    refs, log = a.store.list_refs(), len(a.reflog("refs/heads/main"))
    objects = set(a.store.iter_ids())
    with pytest.raises(RefConflictError):
        a.commit({"n": 3}, "based on one", parent=first.id)
    assert a.store.list_refs() == refs
    assert len(a.reflog("refs/heads/main")) == log
    assert set(a.store.iter_ids()) == objects


def test_commit_on_a_named_branch_and_then_on_head(repo):
    first = repo.commit({"n": 1}, "main")
    repo.create_branch("side", first.id)
    side = repo.commit({"n": 2}, "side", branch="side")
    assert repo.store.read_ref("refs/heads/side") == side.id
    assert repo.store.read_ref("refs/heads/main") == first.id
    assert [e.new for e in repo.reflog("HEAD")][:1] == [first.id]  # HEAD is on main: not moved
    back = repo.commit({"n": 3}, "main again")
    assert back.parents == (first.id,)
    head, main = repo.reflog("HEAD")[0], repo.reflog("refs/heads/main")[0]
    assert (head.old, head.new, head.why) == (main.old, main.new, main.why) == (first.id, back.id, "commit: main again")


def test_read_refs_in_a_transaction(repo):
    first = repo.commit({"n": 1}, "one")
    with repo.store.transaction() as tx:
        names = ["HEAD", "refs/heads/main", "refs/nope", "HEAD", "refs/a", "refs/b", "refs/c"]
        assert tx.read_refs(names) == {"HEAD": "ref: refs/heads/main", "refs/heads/main": first.id,
                                       "refs/nope": None, "refs/a": None, "refs/b": None, "refs/c": None}
        tx.set_ref("refs/a", first.id, None, "t", "made")
        assert tx.read_refs(["refs/a", "refs/heads/main"]) == {"refs/a": first.id, "refs/heads/main": first.id}
    assert repo.store.read_ref("refs/a") == first.id


def test_an_unchanged_node_put_again_gets_a_fresh_write_time(repo):
    """A commit re-puts its unchanged nodes (their stored form may come from a cache): the put
    must still refresh a stale write time, which gc's grace period relies on."""
    repo.commit({"big": list(range(400)), "n": 1}, "one")
    repo.store._backdate(3600)
    repo.commit({"big": list(range(400)), "n": 2}, "two")
    cutoff = repo.store.now() - timedelta(seconds=600)
    old = set(repo.store.iter_ids(written_before=cutoff))
    head = repo.head()
    assert head is not None and head.root not in old
    assert not old & set(_node_ids(repo, head.root))


def _node_ids(repo, root):
    from statevcs.model.nodes import child_ids

    out, todo = [], [root]
    while todo:
        oid = todo.pop()
        out.append(oid)
        todo.extend(child_ids(repo.objects.raw(oid), oid))
    return out


def test_rules_files_created_and_removed_between_commits(tmp_path):
    repo = Repository.init(str(tmp_path / "r"))
    meta = tmp_path / "r" / ".statevcs"
    repo.commit({"status": "idle"}, "no files yet")
    (meta / "attributes").write_text("/status transitions idle>running\n")
    with pytest.raises(RuleViolationError, match="transition"):
        repo.commit({"status": "done"}, "idle>done is not allowed")
    repo.commit({"status": "running"}, "allowed")
    (meta / "attributes").unlink()
    (meta / "schema.json").write_text('{"required": ["owner"]}')
    with pytest.raises(RuleViolationError, match="owner"):
        repo.commit({"status": "done"}, "the schema file applies now")
    (meta / "schema.json").unlink()
    assert repo.commit({"status": "done"}, "no rules left").message == "no rules left"
    repo.close()


def test_the_langgraph_saver_follows_rules_and_head_set_by_another_connection(two):
    """The saver lands a checkpoint in one round trip on PostgreSQL by assuming HEAD and the
    rules ref hold what its last landing saw; when another connection changed them, the
    checkpoint is landed again from fresh reads: rules apply and HEAD's reflog follows."""
    pytest.importorskip("langgraph")
    from langchain_core.messages import HumanMessage

    from statevcs.integrations.langgraph import StateVCSSaver, thread_branch

    from .langgraph_graphs import chat_graph

    a, b = two
    saver = StateVCSSaver(a)
    try:
        graph = chat_graph(saver)
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"messages": [HumanMessage("hello", id="h1")]}, config)
        graph.invoke({"messages": [HumanMessage("again", id="h2")]}, config)
        branch = "refs/heads/" + thread_branch("t")
        b.set_schema({"type": "object", "required": ["no such channel"]})
        with pytest.raises(RuleViolationError):
            graph.invoke({"messages": [HumanMessage("refused", id="h3")]}, config)
        b.unset_schema()
        b.store.update_ref("HEAD", "ref: " + branch, "ref: refs/heads/main", "b", "switch to the thread")
        graph.invoke({"messages": [HumanMessage("followed", id="h4")]}, config)
        head = a.store.read_ref(branch)
        assert a.reflog("HEAD")[0].new == head  # HEAD names the thread's branch now: its reflog moved too
        texts = [m.content for m in graph.get_state(config).values["messages"]]
        assert "followed" in texts and "refused" not in texts
    finally:
        saver.close()
