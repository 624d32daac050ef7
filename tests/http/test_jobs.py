"""Eval and advise as background jobs over HTTP: start (202), poll, open the reports; scoping and bad input."""

from __future__ import annotations

import pytest

QUESTIONS = [{"id": "q1", "question": "How often must API keys be rotated?", "reference_answer": "Every 90 days.",
              "gold_doc_ids": ["keys.md"]},
             {"id": "q2", "question": "How long are audit log entries kept?", "reference_answer": "400 days.",
              "gold_doc_ids": ["audit.txt"]}]


def finished(client, job_id: str):
    job = client.app.state.jobs.wait(job_id, 60)
    assert job.status == "succeeded", job.error
    return job


def test_eval_job_runs_and_links_its_reports(client, keys, auth):
    r = client.post("/v1/indexes/support/eval", json={"questions": QUESTIONS, "variants": "base,rag", "model": "extractive"},
                    headers=auth(keys["reader"]))
    assert r.status_code == 202 and r.json()["status"] in ("queued", "running", "succeeded")
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/v1/jobs/{job_id}"
    finished(client, job_id)
    status = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["reader"])).json()
    assert status["status"] == "succeeded" and status["kind"] == "eval" and status["index"] == "support"
    assert status["summary"]["questions"] == 2 and set(status["summary"]["variants"]) == {"base", "rag"}
    assert status["summary"]["variants"]["rag"]["token_f1"] > status["summary"]["variants"]["base"]["token_f1"]
    html = client.get(status["links"]["html"])  # the token opens it without a key
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "script-src" not in html.headers["content-security-policy"] and "default-src 'none'" in html.headers["content-security-policy"]
    assert "How often must API keys be rotated?" in html.text
    assert client.get(status["links"]["markdown"]).text.startswith("#")
    assert client.get(status["links"]["json"]).json()["config"]["index"] == "support"
    bare = status["links"]["html"].split("?")[0]
    assert client.get(bare).status_code == 401
    assert client.get(bare + "?token=1.forged").status_code == 401
    assert client.get(bare, headers=auth(keys["reader"])).status_code == 200
    assert client.get(f"/v1/jobs/{job_id}/secrets.txt", headers=auth(keys["reader"])).status_code == 404
    listed = client.get("/v1/jobs", headers=auth(keys["reader"])).json()
    assert [j["id"] for j in listed] == [job_id]


def test_jobs_of_other_indexes_are_invisible(client, keys, auth):
    r = client.post("/v1/indexes/support/advise", json={"queries_per_month": 1000}, headers=auth(keys["reader"]))
    job_id = r.json()["id"]
    finished(client, job_id)
    other = auth(keys["billing"])
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/report.html"):
        r = client.get(path, headers=other)
        assert r.status_code == 404 and r.json()["detail"] == f"no job '{job_id}'"
    assert client.get("/v1/jobs", headers=other).json() == []
    assert client.post("/v1/indexes/support/eval", json={"questions": QUESTIONS}, headers=other).status_code == 404
    assert client.get(f"/v1/jobs/{'f' * 32}", headers=auth(keys["root"])).status_code == 404


def test_advise_job_uses_a_finished_eval_job_as_evidence(client, keys, auth):
    headers = auth(keys["reader"])
    eval_id = client.post("/v1/indexes/support/eval", json={"questions": QUESTIONS, "model": "extractive"}, headers=headers).json()["id"]
    finished(client, eval_id)
    r = client.post("/v1/indexes/support/advise", json={"queries_per_month": 5000, "attribution_required": True,
                                                         "eval_job": eval_id}, headers=headers)
    assert r.status_code == 202
    job = finished(client, r.json()["id"])
    assert job.summary["recommendation"] == "rag" and job.request["eval_job"] == eval_id
    status = client.get(f"/v1/jobs/{job.id}", headers=headers).json()
    report = client.get(status["links"]["html"]).text
    assert "rag" in report and "attribution" in report.lower()
    assert client.get(status["links"]["json"]).json()["facts"]["eval"] is not None


@pytest.mark.parametrize("body, message", [
    ({"questions": [{"id": "a", "question": "ok?"}, {"id": "b"}]}, "questions[1]: field 'question' is missing or empty"),
    ({"questions": [{"id": "a", "question": "x"}, {"id": "a", "question": "y"}]}, "questions[1]: duplicate id 'a'"),
    ({"questions": QUESTIONS, "model": "local:/etc"}, "model 'local:/etc' is not served here"),
    ({"questions": QUESTIONS, "variants": "rag,ft"}, "variant 'ft' needs a tuned model"),
    ({"questions": QUESTIONS, "variants": "rag,telepathy"}, "telepathy"),
])
def test_bad_eval_requests_are_400_and_queue_nothing(client, keys, auth, body, message):
    r = client.post("/v1/indexes/support/eval", json=body, headers=auth(keys["reader"]))
    assert r.status_code == 400 and message in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/jobs", headers=auth(keys["root"])).json() == []


def test_bad_advise_requests(client, keys, auth):
    headers = auth(keys["reader"])
    assert client.post("/v1/indexes/support/advise", json={"queries_per_month": -1}, headers=headers).status_code == 422
    r = client.post("/v1/indexes/support/advise", json={"queries_per_month": 10, "eval_job": "0" * 32}, headers=headers)
    assert r.status_code == 404 and "no job" in r.json()["detail"]
    advise_id = client.post("/v1/indexes/support/advise", json={"queries_per_month": 10}, headers=headers).json()["id"]
    finished(client, advise_id)
    r = client.post("/v1/indexes/support/advise", json={"queries_per_month": 10, "eval_job": advise_id}, headers=headers)
    assert r.status_code == 404 and f"no eval job '{advise_id}' for index 'support'" in r.json()["detail"]


def test_decide_job_measures_the_candidates_and_links_its_report(client, keys, auth):
    headers = auth(keys["reader"])
    r = client.post("/v1/indexes/support/decide", json={"questions": QUESTIONS, "model": "extractive",
                                                         "candidates": "base,rag,ft", "queries_per_month": 5000,
                                                         "attribution_required": True}, headers=headers)
    assert r.status_code == 202, r.text
    job = finished(client, r.json()["id"])
    assert job.kind == "decide" and job.summary["recommendation"] == "rag"
    assert job.summary["candidates"]["ft"] is None and job.summary["candidates"]["rag"] > job.summary["candidates"]["base"]
    status = client.get(f"/v1/jobs/{job.id}", headers=headers).json()
    assert "<svg" in client.get(status["links"]["html"]).text
    saved = client.get(status["links"]["json"]).json()
    assert saved["candidates"]["ft"]["skipped_reason"].startswith("extractive is not a language model")
    assert len(saved["rows"]) == 2 * saved["split"]["test"]


@pytest.mark.parametrize("body, status, message", [
    ({"questions": [{"id": "a", "question": "x"}, {"id": "a", "question": "y"}]}, 400, "questions[1]: duplicate id 'a'"),
    ({"questions": QUESTIONS, "candidates": "base,lora"}, 400, "unknown candidate 'lora'"),
    ({"questions": QUESTIONS, "model": "local:/etc"}, 400, "model 'local:/etc' is not served here"),
    ({"questions": QUESTIONS, "budget_s": 600}, 403, "this key (reader) may not train models"),
])
def test_bad_decide_requests_queue_nothing(client, keys, auth, body, status, message):
    r = client.post("/v1/indexes/support/decide", json=body, headers=auth(keys["reader"]))
    assert r.status_code == status and message in r.json()["detail"]
    assert client.get("/v1/jobs", headers=auth(keys["root"])).json() == []


def test_a_report_link_dies_with_the_key_that_opened_the_job(client, keys, served, auth):
    r = client.post("/v1/indexes/support/eval", json={"questions": QUESTIONS, "variants": "base", "model": "extractive"},
                    headers=auth(keys["reader"]))
    finished(client, r.json()["id"])
    link = client.get(f"/v1/jobs/{r.json()['id']}", headers=auth(keys["reader"])).json()["links"]["html"]
    assert client.get(link).status_code == 200
    (reader,) = [k for k in served.keys.list() if k.role.value == "reader" and k.index == "support"]
    served.keys.revoke(reader.id)
    refused = client.get(link)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_a_decide_report_names_the_request_not_the_servers_files(client, keys, auth, served):
    examples = [{"input": "x"}, {"bad": "row"}]
    r = client.post("/v1/indexes/support/decide", json={"questions": QUESTIONS, "model": "extractive", "candidates": "base,rag,ft",
                                                         "examples": examples}, headers=auth(keys["writer"]))
    assert r.status_code == 202, r.text
    job = finished(client, r.json()["id"])
    status = client.get(f"/v1/jobs/{job.id}", headers=auth(keys["writer"])).json()
    report = client.get(status["links"]["json"]).text
    assert "of examples.jsonl have errors" in report
    assert f"{job.id}/" not in report
    assert str(served.config.home) not in report
