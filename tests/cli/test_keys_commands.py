import json


def test_keys_create_list_revoke_json(cli, tmp_path):
    code, out, _ = cli("keys", "create", "--index", "support", "--role", "writer", "--json")
    assert code == 0
    created = json.loads(out)
    assert set(created) == {"key", "index", "role"} and created["role"] == "writer" and created["index"] == "support"
    code, out, _ = cli("keys", "list", "--json")
    (listed,) = json.loads(out)
    assert created["key"].startswith(f"rt_{listed['id']}_")
    assert "hash" not in listed and "salt" not in listed and created["key"] not in out
    code, out, _ = cli("keys", "revoke", listed["id"], "--json")
    assert code == 0 and json.loads(out)["revoked"] is True
    stored = (tmp_path / "home" / "keys.json").read_text()
    assert created["key"].split("_", 2)[2] not in stored


def test_keys_bad_input_exits_2(cli):
    code, out, err = cli("keys", "revoke", "nope")
    assert code == 2 and "no key with id 'nope'" in err and out == ""
    code, _, err = cli("keys", "create", "--index", "a/b", "--role", "reader")
    assert code == 2 and "invalid index name" in err
    code, _, err = cli("keys", "create", "--index", "support", "--role", "root")
    assert code == 2


def test_keys_create_plain_prints_key_on_stdout_only(cli):
    code, out, err = cli("keys", "create", "--index", "*", "--role", "admin")
    assert code == 0 and out.strip().startswith("rt_") and len(out.strip().splitlines()) == 1
    assert "not shown again" in err
