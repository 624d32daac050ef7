"""The HTTP API through FastAPI's TestClient: every route, JSON shapes, problem+json errors."""

import json

from ragtune.http import create_app


def test_health_needs_no_key_and_docs_are_served(client):
    assert client.get("/v1/health").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/v1/indexes/{name}/search" in spec["paths"] and "HTTPBearer" in json.dumps(spec["components"])
    assert client.get("/docs").status_code == 200


def test_no_key_is_401_problem(client, auth):
    r = client.get("/v1/indexes")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    body = r.json()
    assert body["status"] == 401 and "ragtune keys create" in body["detail"] and body["code"] == "Unauthorized"
    r = client.get("/v1/indexes", headers=auth("rt_deadbeef_notthekey"))
    assert r.status_code == 401 and "not valid" in r.json()["detail"]


def test_list_indexes_shows_only_the_keys_scope(client, keys, auth):
    names = lambda key: [i["name"] for i in client.get("/v1/indexes", headers=auth(key)).json()]  # noqa: E731
    assert names(keys["reader"]) == ["support"]
    assert names(keys["billing"]) == ["billing"]
    assert names(keys["root"]) == ["billing", "support"]
    one = client.get("/v1/indexes/support", headers=auth(keys["reader"])).json()
    assert one["documents"] == 3 and one["embedder"]["dimension"] == 64


def test_search_matches_the_cli_shape(client, keys, auth):
    r = client.post("/v1/indexes/support/search", headers=auth(keys["reader"]),
                    json={"query": "audit log retention", "k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["index"] == "support" and body["mode"] == "hybrid" and len(body["hits"]) == 2
    assert body["hits"][0]["doc_id"] == "docs/audit.txt" and body["hits"][0]["rank"] == 1
    assert {"chunk_id", "source", "page", "text", "scores", "headings"} <= set(body["hits"][0])
    only_html = client.post("/v1/indexes/support/search", headers=auth(keys["reader"]),
                            json={"query": "price per user", "filters": {"types": ["html"]}}).json()["hits"]
    assert only_html and {h["doc_id"] for h in only_html} == {"docs/faq.html"}


def test_ask_returns_the_ask_json_document(client, keys, auth):
    r = client.post("/v1/indexes/support/ask", headers=auth(keys["reader"]),
                    json={"question": "How often must API keys be rotated?", "model": "extractive"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"answer", "citations", "abstained", "usage", "latency_ms"} <= set(body)
    assert not body["abstained"] and "90 days" in body["answer"]
    cited = body["citations"][0]
    assert cited["doc_id"] == "docs/keys.md" and "90 days" in cited["text"] and f"[{cited['marker']}]" in body["answer"]


def test_ask_stream_sends_deltas_then_the_answer(client, keys, auth):
    with client.stream("POST", "/v1/indexes/support/ask/stream", headers=auth(keys["reader"]),
                       json={"question": "How long are audit log entries kept?"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
              for block in text.strip().split("\n\n")]
    assert events[-1][0] == "answer" and "400 days" in events[-1][1]["answer"]
    deltas = [data["text"] for kind, data in events[:-1]]
    assert deltas and all(kind == "delta" for kind, _ in events[:-1])
    assert "".join(deltas).strip() == events[-1][1]["answer"].strip()
    assert events[-1][1]["citations"][0]["doc_id"] == "docs/audit.txt"


def test_ask_refuses_a_model_the_server_does_not_serve(client, keys, auth):
    for model in ("local:/etc", "openai:x@http://10.0.0.1:80/v1"):
        r = client.post("/v1/indexes/support/ask", headers=auth(keys["reader"]), json={"question": "hi", "model": model})
        assert r.status_code == 400 and "is not served here" in r.json()["detail"]
    r = client.post("/v1/indexes/support/ask/stream", headers=auth(keys["reader"]), json={"question": "hi", "model": "gguf:/x"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/models", headers=auth(keys["reader"])).json() == {"default": "extractive", "models": ["extractive"]}


def test_upload_list_and_remove_documents(client, keys, served, auth):
    files = [("files", ("backups.md", b"# Backups\n\nBackups run every six hours.\n", "text/markdown")),
             ("files", ("oncall.txt", b"The on-call engineer answers pages within 15 minutes.\n", "text/plain"))]
    r = client.post("/v1/indexes/support/documents", headers=auth(keys["writer"]), files=files)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2 and set(r.json()) == {"index", "added", "updated", "removed", "unchanged", "skipped", "chunks"}
    docs = {d["doc_id"]: d for d in client.get("/v1/indexes/support/documents", headers=auth(keys["reader"])).json()}
    assert {"backups.md", "oncall.txt", "docs/keys.md"} <= set(docs)
    assert (served.uploads_dir("support") / "backups.md").is_file()
    # the same name again replaces the document (a new version), not a duplicate
    again = client.post("/v1/indexes/support/documents", headers=auth(keys["writer"]),
                        files=[("files", ("backups.md", b"# Backups\n\nBackups now run hourly.\n", "text/markdown"))])
    assert again.json()["updated"] == 1
    hit = client.post("/v1/indexes/support/search", headers=auth(keys["reader"]),
                      json={"query": "how often do backups run", "mode": "lexical", "k": 1}).json()["hits"][0]
    assert hit["doc_id"] == "backups.md" and "hourly" in hit["text"]
    r = client.delete("/v1/indexes/support/documents/backups.md", headers=auth(keys["writer"]))
    assert r.json() == {"index": "support", "removed": 1}
    assert not (served.uploads_dir("support") / "backups.md").exists()
    r = client.delete("/v1/indexes/support/documents/docs/keys.md", headers=auth(keys["writer"]))  # ids with '/'
    assert r.json()["removed"] == 1
    r = client.delete("/v1/indexes/support/documents/nope.md", headers=auth(keys["writer"]))
    assert r.status_code == 400 and r.json()["detail"] == "index 'support' has no document 'nope.md'"


def test_a_failed_upload_leaves_files_and_index_as_they_were(client, keys, served, auth):
    good = [("files", ("notes.md", b"# Notes\n\nFirst version.\n", "text/markdown"))]
    assert client.post("/v1/indexes/support/documents", headers=auth(keys["writer"]), files=good).status_code == 200
    before = client.get("/v1/indexes/support/documents", headers=auth(keys["reader"])).json()
    bad = [("files", ("notes.md", b"# Notes\n\nSecond version.\n", "text/markdown")),
           ("files", ("broken.pdf", b"%PDF-1.4 not really a pdf", "application/pdf"))]
    r = client.post("/v1/indexes/support/documents", headers=auth(keys["writer"]), files=bad)
    assert r.status_code == 400 and "broken.pdf" in r.json()["detail"]
    assert client.get("/v1/indexes/support/documents", headers=auth(keys["reader"])).json() == before
    folder = served.uploads_dir("support")
    assert (folder / "notes.md").read_text() == "# Notes\n\nFirst version.\n"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]


def test_create_and_delete_index_need_admin(client, keys, served, auth):
    r = client.post("/v1/indexes", headers=auth(keys["root"]), json={"name": "legal"})
    assert r.status_code == 201 and r.json()["documents"] == 0
    assert client.post("/v1/indexes", headers=auth(keys["root"]), json={"name": "legal"}).status_code == 400
    r = client.delete("/v1/indexes/support", headers=auth(keys["writer"]))
    assert r.status_code == 403 and "may not administer" in r.json()["detail"]
    assert client.delete("/v1/indexes/support", headers=auth(keys["admin"])).status_code == 204
    assert "support" not in [m.name for m in served.indexes()]
    assert not served.uploads_dir("support").exists()


def test_keys_routes_stay_inside_the_admins_scope(client, keys, served, auth):
    r = client.post("/v1/keys", headers=auth(keys["admin"]), json={"index": "support", "role": "reader"})
    assert r.status_code == 201 and set(r.json()) == {"key", "index", "role"}
    new_key = r.json()["key"]
    assert client.post("/v1/indexes/support/search", headers=auth(new_key), json={"query": "keys"}).status_code == 200
    r = client.post("/v1/keys", headers=auth(keys["admin"]), json={"index": "billing", "role": "reader"})
    assert r.status_code == 403
    r = client.post("/v1/keys", headers=auth(keys["admin"]), json={"index": "*", "role": "admin"})
    assert r.status_code == 403
    listed = client.get("/v1/keys", headers=auth(keys["admin"])).json()
    assert {k["index"] for k in listed} == {"support"} and all("hash" not in k for k in listed)
    billing_id = keys["billing"].split("_")[1]
    assert client.delete(f"/v1/keys/{billing_id}", headers=auth(keys["admin"])).status_code == 404
    new_id = new_key.split("_")[1]
    assert client.delete(f"/v1/keys/{new_id}", headers=auth(keys["admin"])).status_code == 204
    assert client.post("/v1/indexes/support/search", headers=auth(new_key), json={"query": "keys"}).status_code == 401
    assert client.get("/v1/keys", headers=auth(keys["writer"])).status_code == 403


def test_validation_errors_are_problems(client, keys, auth):
    h = auth(keys["reader"])
    r = client.post("/v1/indexes/support/search", headers=h, json={"query": "x", "k": 0})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "k" and "field 'k'" in r.json()["detail"]
    r = client.post("/v1/indexes/support/search", headers=h, json={"query": "x", "unknown": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "unknown"
    r = client.post("/v1/indexes/support/search", headers={**h, "Content-Type": "application/json"}, content=b'{"query": ')
    assert r.status_code == 400 and r.json()["code"] == "InvalidJSON"
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_no_auth_app_serves_without_keys(served):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(served, auth=False))
    assert [i["name"] for i in client.get("/v1/indexes").json()] == ["billing", "support"]


def test_the_api_over_a_postgres_store(tmp_path, pg_uri, docs_dir):
    from fastapi.testclient import TestClient

    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "pghome"), "store": pg_uri, "embedder": {"model": "fake:64"}}))
    ws.ingest([str(docs_dir)], index="support")
    key = ws.keys.create("support", "writer")[1]
    client = TestClient(create_app(ws))
    h = {"Authorization": f"Bearer {key}"}
    r = client.post("/v1/indexes/support/documents", headers=h, files=[("files", ("backups.md", b"# Backups\n\nBackups run hourly.\n"))])
    assert r.status_code == 200 and r.json()["added"] == 1
    hit = client.post("/v1/indexes/support/search", headers=h, json={"query": "backups hourly", "k": 1}).json()["hits"][0]
    assert hit["doc_id"] == "backups.md"
    answer = client.post("/v1/indexes/support/ask", headers=h, json={"question": "How long are audit log entries kept?"}).json()
    assert "400 days" in answer["answer"] and answer["citations"][0]["doc_id"] == "docs/audit.txt"
    ws.store.close()


def test_health_is_503_while_the_key_store_is_unreadable(client, keys, served):
    assert client.get("/v1/health").status_code == 200
    served.keys.path.write_text("{ not json")
    r = client.get("/v1/health")
    assert r.status_code == 503 and r.json()["code"] == "KeyStoreUnavailable"
