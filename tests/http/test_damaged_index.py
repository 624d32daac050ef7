"""A damaged index never hides the others from /v1/indexes, and nothing of it reaches a key scoped elsewhere."""

from __future__ import annotations


def test_a_damaged_index_is_listed_as_damaged_only_to_keys_that_see_it(client, keys, auth, served):
    manifest = served.config.home / "indexes" / "billing" / "manifest.json"
    manifest.write_text('{"name": "billing", "secret-looking": "content"')
    support = client.get("/v1/indexes", headers=auth(keys["reader"]))
    assert support.status_code == 200
    assert [i["name"] for i in support.json()] == ["support"]
    assert "billing" not in support.text
    root = client.get("/v1/indexes", headers=auth(keys["root"])).json()
    assert [i["name"] for i in root] == ["support", "billing"]
    assert "ragtune doctor --index billing --repair" in root[1]["damaged"]
    assert str(served.config.home) not in str(root)
    assert "secret-looking" not in str(root)
    billing = client.get("/v1/indexes", headers=auth(keys["billing"])).json()
    assert [i["name"] for i in billing] == ["billing"]
