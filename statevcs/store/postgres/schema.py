"""The PostgreSQL schema of statevcs: tables, server-side functions, and their migrations.

The schema is versioned in ``statevcs_schema`` and migrated forward by :func:`migrate`
(``Repository.init`` runs it, and opening a repository whose schema is older does). Each
version's statements run once, in one transaction, under an advisory lock.
"""

from __future__ import annotations

from typing import Any

from ...errors import NotARepositoryError
from . import partitions

SCHEMA_VERSION = 6
NOTIFY_CHANNEL = "statevcs_refs"
#: Longest repository name (``?repo=``) in UTF-8 bytes: it rides in every NOTIFY payload
#: (8,000 bytes with the ref name and value) and in every primary key.
MAX_REPO_NAME_BYTES = 1024
DEFAULT_REPO = "default"

#: First key of the advisory lock pair (class, hashtext(repo)) that write transactions
#: take shared and gc's sweep takes exclusive.
GC_LOCK_CLASS = 7355609
#: SQLSTATE of a lost compare-and-swap in statevcs_set_ref (a class of our own).
CAS_FAILED = "SV001"

#: Migrations: version -> statements. Applied in order, each recorded in statevcs_schema.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS statevcs_repos (
               name TEXT PRIMARY KEY, created TIMESTAMPTZ NOT NULL DEFAULT now())""",
        """CREATE TABLE IF NOT EXISTS statevcs_objects (
               repo TEXT NOT NULL, id BYTEA NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (repo, id))""",
        """CREATE TABLE IF NOT EXISTS statevcs_refs (
               repo TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (repo, name))""",
        """CREATE TABLE IF NOT EXISTS statevcs_reflog (
               seq BIGSERIAL PRIMARY KEY, repo TEXT NOT NULL, name TEXT NOT NULL, old TEXT, new TEXT,
               who TEXT NOT NULL, time TIMESTAMPTZ NOT NULL, why TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS statevcs_reflog_by_name ON statevcs_reflog (repo, name, seq)",
    ],
    2: [
        # Existing objects count as written at the migration (now() is fixed for the
        # statement, so no table rewrite): the safe side of gc's grace period.
        "ALTER TABLE statevcs_objects ADD COLUMN IF NOT EXISTS written TIMESTAMPTZ NOT NULL DEFAULT now()",
        # Writers of this version set it explicitly; older ones still connected get the clock.
        "ALTER TABLE statevcs_objects ALTER COLUMN written SET DEFAULT clock_timestamp()",
        "CREATE INDEX IF NOT EXISTS statevcs_objects_by_written ON statevcs_objects (repo, written, id)",
    ],
    3: [
        # gc's sweeps that deleted objects, per repository: a transfer re-plans inside the
        # transaction that moves its refs only when this changed (docs/gc.md). A constant
        # default: no table rewrite.
        "ALTER TABLE statevcs_repos ADD COLUMN IF NOT EXISTS gc_epoch BIGINT NOT NULL DEFAULT 0",
    ],
    # A partition per repository for objects and reflog: a purge compacts only its own (partitions.py).
    4: partitions.MIGRATION,
    5: [
        # gc scans write times (it reads every id anyway); commits no longer pay for an index.
        "DROP INDEX IF EXISTS statevcs_objects_by_written",
        """CREATE TABLE IF NOT EXISTS statevcs_watchers (
               repo TEXT NOT NULL, pid INTEGER NOT NULL, since TIMESTAMPTZ NOT NULL DEFAULT now(),
               PRIMARY KEY (repo, pid))""",
        f"""CREATE OR REPLACE FUNCTION statevcs_set_ref(p_repo TEXT, p_name TEXT, p_old TEXT, p_new TEXT)
               RETURNS void LANGUAGE plpgsql AS $$
           BEGIN
               IF p_old IS NULL THEN
                   INSERT INTO statevcs_refs (repo, name, value) VALUES (p_repo, p_name, p_new) ON CONFLICT DO NOTHING;
               ELSIF p_new IS NULL THEN
                   DELETE FROM statevcs_refs WHERE repo = p_repo AND name = p_name AND value = p_old;
               ELSE
                   UPDATE statevcs_refs SET value = p_new WHERE repo = p_repo AND name = p_name AND value = p_old;
               END IF;
               IF NOT FOUND THEN
                   RAISE EXCEPTION USING ERRCODE = '{CAS_FAILED}', MESSAGE = p_name;
               END IF;
           END $$""",
        # The writes of a transaction in one statement: refs the writer assumed without reading
        # them checked ([[name, value], ...]), objects (ids and bytes concatenated, with
        # their lengths; a present one gets its write time refreshed when older than p_refresh),
        # compare-and-swap ref moves [[name, old, new], ...], reflog entries [[name, old, new,
        # who, why], ...], and a NOTIFY per moved ref while someone watches the repository.
        # Lists travel as JSON text and bytes as one bytea each: cheap for the client to send.
        # Its statements may keep generic plans (the sessions force custom ones, partitions.py):
        # they insert into the partitioned tables, which routes each row and locks only the
        # partition it lands in, and read only unpartitioned tables. Planning each statement
        # at every call cost a fifth of a commit.
        f"""CREATE OR REPLACE FUNCTION statevcs_write(
                   p_repo TEXT, p_ids BYTEA, p_datas BYTEA, p_lens TEXT, p_refresh INTERVAL,
                   p_refs TEXT, p_logs TEXT, p_checks TEXT)
               RETURNS void LANGUAGE plpgsql SET plan_cache_mode = auto AS $$
           DECLARE
               t TIMESTAMPTZ;
               r JSON;
           BEGIN
               PERFORM pg_advisory_xact_lock_shared({GC_LOCK_CLASS}, hashtext(p_repo));
               t := clock_timestamp();  -- after the lock: write times follow gc's snapshot
               FOR r IN SELECT json_array_elements(p_checks::json) LOOP
                   IF (SELECT value FROM statevcs_refs WHERE repo = p_repo AND name = r->>0) IS DISTINCT FROM r->>1 THEN
                       RAISE EXCEPTION USING ERRCODE = '{CAS_FAILED}', MESSAGE = r->>0;
                   END IF;
               END LOOP;
               IF length(p_ids) > 0 THEN
                   INSERT INTO statevcs_objects AS o (repo, id, data, written)
                   SELECT p_repo, substring(p_ids FROM (32 * (k - 1) + 1)::int FOR 32),
                          substring(p_datas FROM (off + 1)::int FOR n), t
                   FROM (SELECT k, n, sum(n) OVER (ORDER BY k) - n AS off
                         FROM json_array_elements_text(p_lens::json) WITH ORDINALITY AS e(len, k),
                              LATERAL (SELECT e.len::int AS n) AS m) AS placed
                   ON CONFLICT (repo, id) DO UPDATE SET written = excluded.written
                   WHERE o.written < excluded.written - p_refresh;
               END IF;
               FOR r IN SELECT json_array_elements(p_refs::json) LOOP
                   PERFORM statevcs_set_ref(p_repo, r->>0, r->>1, r->>2);
               END LOOP;
               INSERT INTO statevcs_reflog (repo, name, old, new, who, time, why)
               SELECT p_repo, e->>0, e->>1, e->>2, e->>3, t, e->>4 FROM json_array_elements(p_logs::json) AS e;
               IF EXISTS (SELECT 1 FROM statevcs_watchers WHERE repo = p_repo) THEN
                   PERFORM pg_notify('{NOTIFY_CHANNEL}', p_repo || chr(10) || (e->>0) || chr(10) || coalesce(e->>2, ''))
                   FROM json_array_elements(p_refs::json) AS e;
               END IF;
           END $$""",
    ],
    6: [
        # Stored forms compressed with the built-in zstd dictionary (store/stored.py, flag 2):
        # a statevcs that knows only version 5 cannot read them, and the version makes it
        # refuse the database instead of calling its objects corrupt.
        "COMMENT ON COLUMN statevcs_objects.data IS "
        "'statevcs stored form: a flag byte (0 plain, 1 zstd, 2 zstd with dictionary v1), then the body'",
        # A history walk finds the move that wrote a commit, then reads the commits of the
        # moves before it on the same ref in the same query (PostgresStore.get_with_history).
        # The key is the id's first 16 hex digits: a quarter of the entry, as selective.
        "CREATE INDEX IF NOT EXISTS statevcs_reflog_by_new ON statevcs_reflog (repo, left(new, 16))",
    ],
}


def migrate(conn: Any) -> int:
    """Bring the schema up to SCHEMA_VERSION; returns the version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7355608)")  # one migrator at a time
        conn.execute("""CREATE TABLE IF NOT EXISTS statevcs_schema (
                            version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())""")
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM statevcs_schema").fetchone()
        before = int(row[0])
        if before > SCHEMA_VERSION:
            raise NotARepositoryError(
                f"the database has statevcs schema version {before}; this statevcs knows up to {SCHEMA_VERSION}"
            )
        for version in range(before + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO statevcs_schema (version) VALUES (%s)", (version,))
    return before


