"""API keys: per-index scopes, three roles, stored only as salted hashes.

A key reads ``rt_<id>_<secret>``: ``id`` (8 hex digits) names the key in listings and revocations; the
``secret`` (32 random bytes, URL-safe base64) is shown once, at creation, and never stored: the key file
keeps ``HMAC-SHA256(salt, secret)`` with a per-key random salt. The secret has 256 bits of entropy, so
a fast hash is safe here (a slow KDF matters only for guessable passwords).

Roles grow: ``reader`` searches and asks; ``writer`` also ingests and removes documents; ``admin`` also
creates and deletes indexes and manages keys within its scope. A key's scope is one index name, or
``*`` for every index. A key never learns that an index outside its scope exists.

The file (``<home>/keys.json``) is replaced atomically under an exclusive lock, so concurrent
``keys create`` runs and a running server never see it half-written; the server re-reads it when it
changes, so a revocation takes effect on the next request. With a PostgreSQL store the records live in
its ``ragtune_keys`` table instead (``keys_postgres.py``), so every server over that database shares them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.errors import InputError, StoreError
from ragtune.common import exclusive_lock, utc_now, write_text_atomic
from ragtune.index.names import check_index_name

T = TypeVar("T")
ALL_INDEXES = "*"
_PREFIX = "rt_"


class Role(str, Enum):
    """What a key may do; each role includes the ones before it."""

    reader = "reader"
    writer = "writer"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: "Role") -> bool:
        return self.rank >= other.rank


class ApiKey(BaseModel):
    """A stored key: its public id, scope, role and the salted hash of its secret (never the secret)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    index: str = Field(description="The index this key may see, or '*' for all.")
    role: Role
    salt: str
    hash: str
    name: str = ""
    created_at: str = Field(default_factory=utc_now)
    revoked_at: str | None = None

    def public(self) -> dict[str, Any]:
        """The fields safe to show: everything but the salt and hash."""
        return {"id": self.id, "index": self.index, "role": self.role.value, "name": self.name,
                "created_at": self.created_at, "revoked": self.revoked_at is not None, "revoked_at": self.revoked_at}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id (``None`` without auth), its scope and its role."""

    key_id: str | None
    index: str
    role: Role

    @classmethod
    def anonymous_admin(cls) -> "Principal":
        """The caller when auth is off (loopback development only)."""
        return cls(None, ALL_INDEXES, Role.admin)

    def sees(self, index: str) -> bool:
        """Whether ``index`` is inside this key's scope."""
        return self.index == ALL_INDEXES or self.index == index

    def may(self, index: str, role: Role) -> bool:
        """Whether this key may act on ``index`` with ``role``'s rights."""
        return self.sees(index) and self.role.includes(role)


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode("utf-8"), hashlib.sha256).hexdigest()


def check_scope(index: str) -> str:
    """A key scope: an index name or ``*``."""
    return index if index == ALL_INDEXES else check_index_name(index)


class KeyRecords(Protocol):
    """Where the key records live: read them all, or change them under an exclusive lock."""

    where: str

    def load(self) -> dict[str, ApiKey]:
        """Every record by id."""
        ...

    def update(self, change: Callable[[dict[str, ApiKey]], T]) -> T:
        """Run ``change`` on the records (it edits the dict) and store the result atomically; ``change``'s value."""
        ...


class FileKeyRecords:
    """The keys file ``<home>/keys.json`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._cache: tuple[tuple[int, int], dict[str, ApiKey]] | None = None
        self._guard = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with exclusive_lock(self.path.with_name(self.path.name + ".lock")):
                yield
        except OSError as exc:
            raise StoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def load(self) -> dict[str, ApiKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._guard:
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
            keys = {k["id"]: ApiKey.model_validate(k) for k in rows["keys"]}
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            raise StoreError(f"{self.path}: unreadable keys file: {exc}") from exc
        with self._guard:
            self._cache = (stamp, keys)
        return keys

    def update(self, change: Callable[[dict[str, ApiKey]], T]) -> T:
        with self._locked():
            keys = dict(self.load())
            result = change(keys)
            data = {"keys": [k.model_dump(mode="json") for k in keys.values()]}
            write_text_atomic(self.path, json.dumps(data, indent=2), durable=True)
        return result


class KeyStore:
    """The workspace's API keys: create, list, revoke, authenticate (records in a file or in PostgreSQL)."""

    def __init__(self, records: KeyRecords | Path | str) -> None:
        self.records: KeyRecords = FileKeyRecords(Path(records)) if isinstance(records, (str, Path)) else records

    @property
    def path(self) -> Path | None:
        """The keys file, when the records are in one."""
        return getattr(self.records, "path", None)

    def _read(self) -> dict[str, ApiKey]:
        return self.records.load()

    # -- operations ------------------------------------------------------------
    def create(self, index: str, role: Role | str, name: str = "") -> tuple[ApiKey, str]:
        """A new key for ``index`` (or ``*``) with ``role``; returns the record and the key, shown once."""
        check_scope(index)
        try:
            role = Role(role)
        except ValueError:
            raise InputError(f"unknown role '{role}': use reader, writer or admin") from None
        secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
        salt = secrets.token_hex(16)

        def add(keys: dict[str, ApiKey]) -> ApiKey:
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            keys[key_id] = ApiKey(id=key_id, index=index, role=role, salt=salt, hash=_digest(salt, secret), name=name)
            return keys[key_id]

        record = self.records.update(add)
        return record, f"{_PREFIX}{record.id}_{secret}"

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        return sorted(self._read().values(), key=lambda k: (k.created_at, k.id))

    def get(self, key_id: str) -> ApiKey:
        """The key with id ``key_id``; ``InputError`` if there is none."""
        key = self._read().get(key_id)
        if key is None:
            raise InputError(f"no key with id '{key_id}' (list them with: ragtune keys list)")
        return key

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id; it stops working at once. Revoking twice is harmless."""
        def revoke(keys: dict[str, ApiKey]) -> ApiKey:
            key = keys.get(key_id)
            if key is None:
                raise InputError(f"no key with id '{key_id}' (list them with: ragtune keys list)")
            if key.revoked_at is None:
                keys[key_id] = key = key.model_copy(update={"revoked_at": utc_now()})
            return key

        return self.records.update(revoke)

    def authenticate(self, presented: str | None) -> Principal | None:
        """The principal for a presented key, or ``None`` if it is missing, malformed, unknown or revoked."""
        if not presented or not presented.startswith(_PREFIX):
            return None
        key_id, sep, secret = presented[len(_PREFIX):].partition("_")
        if not sep or not secret or len(key_id) != 8:
            return None
        key = self._read().get(key_id)
        if key is None or key.revoked_at is not None:
            return None
        if not hmac.compare_digest(key.hash, _digest(key.salt, secret)):
            return None
        return Principal(key.id, key.index, key.role)
