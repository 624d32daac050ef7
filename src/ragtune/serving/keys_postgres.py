"""API key records in PostgreSQL (table ``ragtune_keys``), for workspaces whose store is a PostgreSQL database.

Every server and CLI pointed at the same database shares the keys; a change runs in one transaction under a
table lock, so concurrent ``keys create`` runs never lose each other's keys, and a revocation is seen by the
next request on any server.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, TypeVar

from ragtune.errors import ConfigError, StoreError
from ragtune.serving.keys import ApiKey

T = TypeVar("T")
_TABLE = "ragtune_keys"


class PostgresKeyRecords:
    """Key records in the ``ragtune_keys`` table of the database at ``uri``."""

    def __init__(self, uri: str) -> None:
        from ragtune.index.pgvector import _redact

        self.uri = uri
        self.where = f"table {_TABLE} at {_redact(uri)}"
        self._local = threading.local()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError("keys in PostgreSQL need: pip install 'ragtune[postgres]'") from exc
        try:
            conn = psycopg.connect(self.uri, autocommit=True)
            conn.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (id text PRIMARY KEY, record jsonb NOT NULL)")
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach the keys in {self.where}: {str(exc).strip()}") from exc
        self._local.conn = conn
        return conn

    @staticmethod
    def _records(rows) -> dict[str, ApiKey]:
        return {key_id: ApiKey.model_validate(record if isinstance(record, dict) else json.loads(record)) for key_id,
                record in rows}

    def load(self) -> dict[str, ApiKey]:
        import psycopg

        try:
            return self._records(self._conn().execute(f"SELECT id, record FROM {_TABLE}").fetchall())
        except psycopg.Error as exc:
            raise StoreError(f"cannot read the keys in {self.where}: {str(exc).strip()}") from exc

    def update(self, change: Callable[[dict[str, ApiKey]], T]) -> T:
        import psycopg

        conn = self._conn()
        try:
            with conn.transaction():
                conn.execute(f"LOCK TABLE {_TABLE} IN SHARE ROW EXCLUSIVE MODE")
                before = self._records(conn.execute(f"SELECT id, record FROM {_TABLE}").fetchall())
                keys = dict(before)
                result = change(keys)
                for key_id, key in keys.items():
                    if before.get(key_id) != key:
                        conn.execute(f"INSERT INTO {_TABLE} (id, record) VALUES (%s, %s::jsonb) "
                                     "ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
                                     (key_id, json.dumps(key.model_dump(mode="json"))))
        except psycopg.Error as exc:
            raise StoreError(f"cannot change the keys in {self.where}: {str(exc).strip()}") from exc
        return result
