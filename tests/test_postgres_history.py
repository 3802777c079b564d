"""History reads on PostgreSQL: a log walks a branch's commits in pages of 32 found through
the reflog (PostgresStore.get_with_history), not one round trip per commit; commits that no
move of the ref wrote, HEAD's symbolic moves, a damaged reflog value and a damaged commit
among those read ahead are handled as a read of each commit alone would."""

from __future__ import annotations

import pytest

from statevcs import Repository
from statevcs.errors import CorruptObjectError

from .conftest import make_store


@pytest.fixture
def history(tmp_path):
    """main and other written in turns (101 and 100 commits), a side branch merged into main,
    and HEAD moved to other and back (its reflog holds "ref: ..." values)."""
    store = make_store("postgres", tmp_path)
    repo = Repository(store, None, author="tester")
    store.update_ref("HEAD", "ref: refs/heads/main", None, "tester", "init")
    repo.commit({"n": 0}, message="root")
    repo.create_branch("other")
    repo.create_branch("side")
    side = [repo.commit({"n": 0, "s": i}, message=f"side {i}", branch="side").id for i in range(5)]
    mine = []
    for i in range(1, 101):
        mine.append(repo.commit({"n": i}, message=f"main {i}").id)
        repo.commit({"o": i}, message=f"other {i}", branch="other")
        if i == 50:
            repo.set_head("other")
            repo.set_head("main")
            mine.append(repo.merge("side", message="merge side").commit.id)
    location = store.location
    repo.close()
    yield location, mine, side


def _counted(repo: Repository) -> list[str]:
    sql: list[str] = []
    read = repo.store._read
    repo.store._read = lambda statement, params=(): (sql.append(statement), read(statement, params))[1]
    return sql


def test_a_log_reads_a_branch_in_pages_with_merged_commits_and_head_moves(history):
    location, mine, side = history
    with Repository.open(location) as repo:
        sql = _counted(repo)
        log = [c.id for c in repo.log("main", first_parent=True)]
        assert log[:101] == mine[::-1] and len(log) == 102
        assert len(sql) <= 12, len(sql)  # a round trip per commit would be over 100
        everything = {c.id for c in repo.log("main")}
        assert set(side) <= everything and set(mine) <= everything  # merged commits: read one by one


def test_a_damaged_reflog_value_or_commit_fails_only_the_read_that_needs_it(history):
    location, mine, _ = history
    with Repository.open(location) as repo:
        conn = repo.store._conn()
        conn.execute("UPDATE statevcs_reflog SET new = 'not an id' WHERE repo = %s AND name = 'refs/heads/main' "
                     "AND new = %s", (repo.store.repo, mine[30]))
        conn.commit()
        assert [c.id for c in repo.log("main", first_parent=True)][:101] == mine[::-1]
    with Repository.open(location) as repo:
        repo.store._corrupt(mine[60])
    with Repository.open(location) as repo:
        assert repo.get(mine[90]) == {"n": 90}  # its history read skips the damaged commit
        with pytest.raises(CorruptObjectError):
            list(repo.log("main"))


def test_a_schema_5_database_is_migrated_and_its_old_forms_read(tmp_path):
    """A database as statevcs left it before schema 6 (objects zstd-compressed without the
    dictionary, no index on the reflog's new values) opens, reads every commit, logs in
    pages once migrated, takes new commits in the new form, collects and checks clean."""
    import uuid

    import psycopg
    import zstandard

    from statevcs.store.stored import unpack

    from .conftest import DATABASE_URL, require_postgres, url_in_schema

    require_postgres()
    schema = f"svcs_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(DATABASE_URL, autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    location = url_in_schema(schema) + "&repo=old"
    try:
        repo = Repository.init(location, author="tester")
        made = [repo.commit({"n": i, "log": [f"step {j}" for j in range(i % 7)]}, message=f"c{i}").id
                for i in range(70)]
        repo.close()
        plain = zstandard.ZstdCompressor(level=3)
        with psycopg.connect(url_in_schema(schema)) as conn:  # back to what schema 5 wrote
            for key, data in conn.execute("SELECT id, data FROM statevcs_objects").fetchall():
                raw = unpack(bytes(data), "object")
                conn.execute("UPDATE statevcs_objects SET data = %s WHERE id = %s",
                             (b"\x01" + plain.compress(raw), key))
            conn.execute("DROP INDEX statevcs_reflog_by_new")
            conn.execute("DELETE FROM statevcs_schema WHERE version = 6")
            flags = {bytes(d)[0] for (d,) in conn.execute("SELECT data FROM statevcs_objects")}
        assert flags == {1}
        repo = Repository.open(location)
        assert [c.id for c in repo.log("main")] == made[::-1]
        assert repo.get(made[40]) == {"n": 40, "log": [f"step {j}" for j in range(40 % 7)]}
        sql = []
        read = repo.store._read
        repo.store._read = lambda statement, params=(): (sql.append(statement), read(statement, params))[1]
        repo.objects.forget()
        assert len(list(repo.log("main"))) == 70 and len(sql) <= 6, len(sql)  # in pages
        repo.store._read = read
        newer = repo.commit({"n": 70}, message="after the migration").id
        repo.close()
        with psycopg.connect(url_in_schema(schema)) as conn:
            assert conn.execute("SELECT MAX(version) FROM statevcs_schema").fetchone()[0] == 6
            assert conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s "
                                "AND indexname = 'statevcs_reflog_by_new'", (schema,)).fetchone()[0] == 1
            (form,) = conn.execute("SELECT data FROM statevcs_objects WHERE id = %s",
                                   (bytes.fromhex(newer),)).fetchone()
        assert bytes(form)[0] == 2  # new objects: zstd with the dictionary
        repo = Repository.open(location)
        assert repo.fsck().ok
        assert repo.gc(prune="now").removed == 0 and [c.id for c in repo.log("main")][1:] == made[::-1]
        repo.close()
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
