import json
import os
import threading

import pytest

from ragtune.errors import InputError, StoreError
from ragtune.serving import ALL_INDEXES, KeyStore, Principal, Role


@pytest.fixture
def keys(tmp_path):
    return KeyStore(tmp_path / "home" / "keys.json")


def test_create_stores_only_a_salted_hash(keys):
    record, key = keys.create("support", "reader")
    assert key.startswith(f"rt_{record.id}_") and len(key) > 40
    text = keys.path.read_text()
    secret = key.split("_", 2)[2]
    assert secret not in text and key not in text
    stored = json.loads(text)["keys"][0]
    assert set(stored) >= {"id", "index", "role", "salt", "hash"} and stored["hash"] != secret
    assert oct(os.stat(keys.path).st_mode & 0o777) == "0o600"
    # two keys never share a salt, so equal secrets would still hash differently
    other, _ = keys.create("support", "reader")
    assert other.salt != record.salt


def test_authenticate_scopes_and_roles(keys):
    _, reader = keys.create("support", Role.reader)
    _, admin = keys.create(ALL_INDEXES, Role.admin)
    p = keys.authenticate(reader)
    assert p == Principal(p.key_id, "support", Role.reader)
    assert p.may("support", Role.reader) and not p.may("support", Role.writer) and not p.sees("billing")
    a = keys.authenticate(admin)
    assert a.may("billing", Role.admin) and a.may("support", Role.writer)


@pytest.mark.parametrize("presented", [None, "", "Bearer x", "rt_", "rt_deadbeef", "rt_deadbeef_", "rt_short_secret"])
def test_malformed_keys_are_refused(keys, presented):
    keys.create("support", "reader")
    assert keys.authenticate(presented) is None


def test_wrong_secret_and_revoked_key_are_refused(keys):
    record, key = keys.create("support", "writer")
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert keys.authenticate(tampered) is None
    assert keys.authenticate(key) is not None
    keys.revoke(record.id)
    assert keys.authenticate(key) is None
    assert keys.list()[0].revoked_at is not None
    keys.revoke(record.id)  # twice is harmless


def test_revocation_is_seen_by_another_process_view(keys):
    record, key = keys.create("support", "reader")
    server_view = KeyStore(keys.path)  # as the running server holds it
    assert server_view.authenticate(key) is not None
    KeyStore(keys.path).revoke(record.id)  # as `ragtune keys revoke` in another process
    assert server_view.authenticate(key) is None


def test_bad_input_names_the_field(keys):
    with pytest.raises(InputError, match="unknown role 'root'"):
        keys.create("support", "root")
    with pytest.raises(InputError, match="invalid index name"):
        keys.create("../etc", "reader")
    with pytest.raises(InputError, match="no key with id 'nope'"):
        keys.revoke("nope")
    assert keys.list() == []


def test_concurrent_creates_lose_nothing(keys):
    made = []

    def create():
        for _ in range(5):
            made.append(keys.create("support", "reader")[0].id)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k.id for k in KeyStore(keys.path).list()) == sorted(made) and len(made) == 20


def test_corrupt_file_is_a_clear_error(keys):
    keys.path.parent.mkdir(parents=True)
    keys.path.write_text("{not json")
    with pytest.raises(StoreError, match="unreadable keys file"):
        keys.list()


def test_keys_live_in_postgres_with_a_postgres_store_and_every_server_shares_them(tmp_path, pg_uri):
    """Two workspaces (two servers, each with its own home) over one database see the same keys and revocations."""
    import threading

    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    def server(n: int) -> Workspace:
        return Workspace(RagtuneConfig.load({"home": str(tmp_path / f"home{n}"), "store": pg_uri, "embedder": {"model": "fake:64"}},
                                            env={}))

    a, b = server(1), server(2)
    assert a.keys.path is None and "ragtune_keys" in a.keys.records.where
    record, key = a.keys.create("support", "writer")
    assert b.keys.authenticate(key) == Principal(record.id, "support", Role.writer)
    assert not (tmp_path / "home1" / "keys.json").exists()
    made = []

    def create(ws: Workspace) -> None:
        for _ in range(5):
            made.append(ws.keys.create("billing", "reader")[0].id)

    threads = [threading.Thread(target=create, args=(ws,)) for ws in (server(3), server(4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {k.id for k in a.keys.list()} == {record.id, *made} and len(made) == 10  # no create lost another
    b.keys.revoke(record.id)
    assert a.keys.authenticate(key) is None and a.keys.get(record.id).revoked_at is not None
    stored = str([k.model_dump() for k in b.keys.list()])
    assert key.split("_", 2)[2] not in stored  # only the salted hash is stored
