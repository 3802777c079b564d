"""The shared store: PostgreSQL through psycopg 3 (store.py), its schema and migrations
(schema.py), and its write transactions (writes.py)."""

from .schema import MIGRATIONS, SCHEMA_VERSION, migrate
from .store import PostgresStore, split_url

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore", "migrate", "split_url"]
