"""PostgreSQL: one partition per repository for the tables that hold a repository's content.

``statevcs_objects`` and ``statevcs_reflog`` are ``PARTITION BY LIST (repo)``, with one
partition per repository (``statevcs_objects_r<ID>``, ``statevcs_reflog_r<ID>``, ``ID``
from ``statevcs_repos.id``: names can be 8 kB, identifiers 63 bytes). Queries are unchanged
(they all filter on ``repo``); what changes is what a purge must rewrite to wipe the erased
bytes from the files: ``VACUUM FULL`` of the purged repository's two partitions only,
which locks those and nothing else (docs/erasure.md). Connections use
``plan_cache_mode = force_custom_plan``: a generic cached plan (psycopg prepares a
statement after five runs) locks every partition of a table when it runs, so a commit of
another repository would wait for that VACUUM FULL. (The write function keeps generic plans:
an INSERT routes each row to its partition and locks only that one; schema.py.)

A new repository's partitions are created apart and then attached, which takes only a
``SHARE UPDATE EXCLUSIVE`` lock on the parent (``CREATE TABLE ... PARTITION OF`` would take
``ACCESS EXCLUSIVE`` and stall every repository's writers for as long as any of them runs a
transaction). Destroying a repository detaches its partitions ``CONCURRENTLY`` for the same
reason. The migration (schema version 4) moves every existing repository's rows into its
own partition once, in the migration's transaction.
"""

from __future__ import annotations

from typing import Any

#: The tables partitioned by repository (their rows are a repository's content).
PARTITIONED = ("statevcs_objects", "statevcs_reflog")

#: Schema version 4: the content tables become partitioned, every repository gets its own.
MIGRATION: list[str] = [
    "ALTER TABLE statevcs_repos ADD COLUMN IF NOT EXISTS id BIGSERIAL",
    "CREATE UNIQUE INDEX IF NOT EXISTS statevcs_repos_by_id ON statevcs_repos (id)",
    # The old tables step aside (their index names too: index names are per schema).
    "ALTER TABLE statevcs_objects RENAME TO statevcs_objects_v3",
    "ALTER INDEX statevcs_objects_pkey RENAME TO statevcs_objects_v3_pkey",
    "ALTER INDEX IF EXISTS statevcs_objects_by_written RENAME TO statevcs_objects_v3_by_written",
    "ALTER TABLE statevcs_reflog RENAME TO statevcs_reflog_v3",
    "ALTER INDEX statevcs_reflog_pkey RENAME TO statevcs_reflog_v3_pkey",
    "ALTER INDEX statevcs_reflog_by_name RENAME TO statevcs_reflog_v3_by_name",
    """CREATE TABLE statevcs_objects (
           repo TEXT NOT NULL, id BYTEA NOT NULL, data BYTEA NOT NULL,
           written TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (repo, id))
       PARTITION BY LIST (repo)""",
    "CREATE INDEX statevcs_objects_by_written ON statevcs_objects (repo, written, id)",
    # The reflog keeps its sequence: numbers go on rising across the move.
    "ALTER SEQUENCE statevcs_reflog_seq_seq OWNED BY NONE",
    """CREATE TABLE statevcs_reflog (
           seq BIGINT NOT NULL DEFAULT nextval('statevcs_reflog_seq_seq'), repo TEXT NOT NULL,
           name TEXT NOT NULL, old TEXT, new TEXT, who TEXT NOT NULL, time TIMESTAMPTZ NOT NULL,
           why TEXT NOT NULL, PRIMARY KEY (repo, seq))
       PARTITION BY LIST (repo)""",
    "ALTER SEQUENCE statevcs_reflog_seq_seq OWNED BY statevcs_reflog.seq",
    "CREATE INDEX statevcs_reflog_by_name ON statevcs_reflog (repo, name, seq)",
    """DO $$
       DECLARE r record; t text;
       BEGIN
           FOR r IN SELECT id, name FROM statevcs_repos LOOP
               FOREACH t IN ARRAY ARRAY['statevcs_objects', 'statevcs_reflog'] LOOP
                   EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)',
                                  t || '_r' || r.id, t, r.name);
               END LOOP;
           END LOOP;
       END $$""",
    # Rows of a name no longer registered (none are made; a repository is registered first)
    # have no partition to go to and could never be read: they stay behind and go.
    """INSERT INTO statevcs_objects (repo, id, data, written)
       SELECT o.repo, o.id, o.data, o.written FROM statevcs_objects_v3 o
       WHERE o.repo IN (SELECT name FROM statevcs_repos)""",
    """INSERT INTO statevcs_reflog (seq, repo, name, old, new, who, time, why)
       SELECT l.seq, l.repo, l.name, l.old, l.new, l.who, l.time, l.why FROM statevcs_reflog_v3 l
       WHERE l.repo IN (SELECT name FROM statevcs_repos)""",
    "DROP TABLE statevcs_objects_v3",
    "DROP TABLE statevcs_reflog_v3",
]


def partition_names(conn: Any, repo: str) -> list[str]:
    """The partitions holding ``repo``'s rows (empty if it is not registered)."""
    row = conn.execute("SELECT id FROM statevcs_repos WHERE name = %s", (repo,)).fetchone()
    return [] if row is None else [f"{table}_r{row[0]}" for table in PARTITIONED]


def add_partitions(conn: Any, repo: str) -> None:
    """Give the just-registered ``repo`` its partitions (inside the registering transaction)."""
    from psycopg import sql

    for table, part in zip(PARTITIONED, partition_names(conn, repo)):
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
            sql.Identifier(part), sql.Identifier(table)))
        conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
            sql.Identifier(table), sql.Identifier(part), sql.Literal(repo)))


def drop_partitions(conn: Any, parts: list[str]) -> None:
    """Detach (concurrently: no other repository waits) and drop partitions; ``conn`` autocommits."""
    from psycopg import errors, sql

    for table, part in zip(PARTITIONED, parts):
        exists = conn.execute("SELECT to_regclass(%s)", (part,)).fetchone()[0]
        if exists is None:
            continue
        try:
            conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {} CONCURRENTLY").format(
                sql.Identifier(table), sql.Identifier(part)))
        except (errors.SyntaxError, errors.FeatureNotSupported):  # before PostgreSQL 14: a brief exclusive lock
            conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                sql.Identifier(table), sql.Identifier(part)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(part)))


def compact(conn: Any, repo: str) -> str:
    """``VACUUM FULL`` of ``repo``'s partitions (``conn`` autocommits): the files of its
    content are rewritten without the deleted rows; other repositories are not locked.
    Returns "" when done, else why not (say, the role does not own the partitions)."""
    from psycopg import sql

    for part in partition_names(conn, repo):
        try:
            conn.execute(sql.SQL("VACUUM FULL {}").format(sql.Identifier(part)))
        except Exception as exc:  # e.g. not the partition's owner: say so, never pretend
            return f"VACUUM FULL {part} failed ({str(exc).splitlines()[0]}); run it as the table's owner"
    return ""


__all__ = ["MIGRATION", "PARTITIONED", "add_partitions", "compact", "drop_partitions", "partition_names"]
