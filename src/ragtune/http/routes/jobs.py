"""Eval runs, decisions and advice as background jobs: POST starts one (202), GET /v1/jobs/{id} says where it stands.

A job belongs to an index: a key sees the jobs of the indexes in its scope (404 for any other, as for indexes).
Requests are checked before the job is queued (400 with the field or row at fault); a job that fails later
records its error. A succeeded job links its HTML and Markdown reports and its JSON result; each link carries
a token that opens it without the API key (so a browser tab can show it) until it expires or the key that
opened the job is revoked.
"""

from __future__ import annotations

import re

import json
from pathlib import Path
from typing import Any, Callable

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials

from ragtune.api import Index, Workspace, write_advice_report, write_decision_report, write_eval_report
from ragtune.api import DecideConfig, parse_candidates
from ragtune.errors import JobNotFoundError, RagtuneError
from ragtune.api import EvalConfig
from ragtune.api import questions_from_rows
from ragtune.api import validated
from ragtune.http.auth import ReaderIndex, bearer, open_index, principal, workspace
from ragtune.http.errors import HTTPProblem
from ragtune.http.schemas import AdviseJobRequest, DecideJobRequest, EvalJobRequest, JobStatus
from ragtune.api import Role
from ragtune.api import JOB_FILES, Job, JobRunner

router = APIRouter(tags=["jobs"])

REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"  # shown in the page
_MEDIA = {"html": "text/html; charset=utf-8", "markdown": "text/markdown; charset=utf-8", "json": "application/json"}
_SUMMARY_METRICS = ("token_f1", "exact_match", "citation_precision", "faithfulness", "format_valid", "abstained",
                    "latency_ms_p50", "cost_per_1k_queries")


def runner(request: Request) -> JobRunner:
    """The app's job runner."""
    return request.app.state.jobs


def status_of(job: Job, jobs: JobRunner, key_id: str | None = None) -> dict[str, Any]:
    """The ``JobStatus`` body of ``job``, with its links (whose token dies with the key ``key_id``)."""
    links = {"status": f"/v1/jobs/{job.id}"}
    if job.status == "succeeded":
        token = jobs.link_token(job.id, key_id)
        for kind, name in JOB_FILES.items():
            if name in job.files:
                links[kind] = f"/v1/jobs/{job.id}/{name}?token={token}"
    body = {k: v for k, v in job.to_json().items() if k in JobStatus.model_fields}
    return {**body, "links": links}


def _submitted(response: Response, job: Job, jobs: JobRunner) -> dict[str, Any]:
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return status_of(job, jobs)


def _eval_work(ws: Workspace, config: EvalConfig, questions: list) -> Callable:
    def work(folder: Path, progress) -> dict[str, Any]:
        result = ws.evaluate(questions, config, progress=progress)
        result.write(folder / JOB_FILES["json"])
        write_eval_report(result, folder / JOB_FILES["html"])
        write_eval_report(result, folder / JOB_FILES["markdown"])
        return {"questions": result.config["question_count"], "notes": result.notes,
                "variants": {v: {m: round(a[m]["mean"], 4) for m in _SUMMARY_METRICS if m in a}
                             for v, a in result.aggregates.items()}}

    return work


@router.post("/v1/indexes/{name}/eval", status_code=202, response_model=JobStatus,
             summary="Start an eval run over this index (reader); poll the job for its report")
def start_eval(body: EvalJobRequest, response: Response, index: Index = ReaderIndex, jobs: JobRunner = Depends(runner)) -> dict:
    ws = index.workspace
    questions = questions_from_rows((f"questions[{i}]", row) for i, row in enumerate(body.questions))
    model = ws.served_model(body.model)
    if body.tuned:
        ws.served_model(f"tuned:{body.tuned.removeprefix('tuned:')}")
    config = EvalConfig.create(variants=body.variants, model=model, tuned=body.tuned, index=index.name, k=body.k, mode=body.mode)
    job = jobs.submit("eval", index.name, body.model_dump(mode="json", exclude={"questions"}) | {"questions": len(questions)},
                      _eval_work(ws, config, questions))
    return _submitted(response, job, jobs)


@router.post("/v1/indexes/{name}/advise", status_code=202, response_model=JobStatus,
             summary="Start the advisor on this index (reader); poll the job for its report")
def start_advise(body: AdviseJobRequest, response: Response, index: Index = ReaderIndex,
                 jobs: JobRunner = Depends(runner)) -> dict:
    from ragtune.api import stated_needs

    ws = index.workspace
    needs = stated_needs(**body.model_dump(exclude={"eval_job", "model"}))
    evaluation = None
    if body.eval_job:
        found = jobs.store.get(body.eval_job)
        if found.index != index.name or found.kind != "eval":
            raise JobNotFoundError(f"no eval job '{body.eval_job}' for index '{index.name}'")
        evaluation = jobs.store.file(body.eval_job, "json")
    model = ws.served_model(body.model)

    def work(folder: Path, progress) -> dict[str, Any]:
        progress("advise", 0, 1)
        rec = ws.advise(needs, index=index.name, evaluation=evaluation, model=model)
        write_advice_report(folder / JOB_FILES["html"], rec.costs, rec)
        write_advice_report(folder / JOB_FILES["markdown"], rec.costs, rec)
        (folder / JOB_FILES["json"]).write_text(json.dumps(rec.to_json(), indent=2) + "\n", encoding="utf-8")
        progress("advise", 1, 1)
        return {"recommendation": rec.recommendation.value, "reasons": rec.reasons[:3], "next_command": rec.next_command}

    job = jobs.submit("advise", index.name, body.model_dump(mode="json"), work)
    return _submitted(response, job, jobs)


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@router.post("/v1/indexes/{name}/decide", status_code=202, response_model=JobStatus,
             summary="Start the measured decision over this index (reader; training needs writer); poll the job for its report")
def start_decide(body: DecideJobRequest, response: Response, request: Request, index: Index = ReaderIndex,
                 credentials: HTTPAuthorizationCredentials | None = Depends(bearer), jobs: JobRunner = Depends(runner)) -> dict:
    ws = index.workspace
    questions_from_rows((f"questions[{i}]", row) for i, row in enumerate(body.questions))  # 400 before anything is queued
    model = ws.served_model(body.model)
    candidates = parse_candidates(body.candidates)
    if body.budget_s > 0 and any(c.tuned for c in candidates):
        open_index(ws, principal(request, credentials), index.name, Role.writer,  # training writes models: a writer's key
                   "train models (a decision with tuned candidates and a training budget needs a writer's key)")
    fields = {"index": index.name, "model": model, "candidates": candidates, "budget_s": body.budget_s,
              "max_steps": body.max_steps, "queries_per_month": body.queries_per_month, "months": body.months,
              "latency_budget_ms": body.latency_budget_ms, "attribution": body.attribution_required,
              "content_may_leave": body.content_may_leave, "changes_per_month": body.changes_per_month,
              "holdout": body.holdout, "seed": body.seed}
    validated(DecideConfig, fields)  # bad settings are a 400 now, not a failed job later

    def work(folder: Path, progress) -> dict[str, Any]:
        inputs = {"questions": _jsonl(folder / "questions.jsonl", body.questions)}
        if body.examples:
            inputs["examples"] = _jsonl(folder / "examples.jsonl", body.examples)
        decision = ws.decide(validated(DecideConfig, {**fields, **inputs}), progress=progress)
        decision.write(folder / JOB_FILES["json"])
        write_decision_report(decision, folder / JOB_FILES["html"])
        write_decision_report(decision, folder / JOB_FILES["markdown"])
        for name in ("json", "html", "markdown"):  # the inputs were the request's rows: name them, not this server's files
            report = folder / JOB_FILES[name]
            report.write_text(_unplaced(report.read_text(encoding="utf-8"), folder), encoding="utf-8")
        return {"recommendation": decision.recommendation, "primary_metric": decision.primary_metric,
                "tied_with_best": decision.tied_with_best, "rules_recommendation": decision.rules_recommendation,
                "reasons": [_unplaced(r, folder) for r in decision.reasons[:3]], "settled": decision.verdict.get("settled"),
                "candidates": {n: (round(c.score, 4) if c.measured and c.score is not None else None)
                               for n, c in decision.candidates.items()}}

    job = jobs.submit("decide", index.name, body.model_dump(mode="json", exclude={"questions", "examples"})
                      | {"questions": len(body.questions), "examples": len(body.examples or [])}, work)
    return _submitted(response, job, jobs)


def _unplaced(text: str, folder: Path) -> str:
    """``text`` without the job folder's path: ``.../examples.jsonl: line 3`` reads ``examples.jsonl: line 3``."""
    return re.sub(rf"[^\s'\"(]*{re.escape(folder.name)}/", "", text)


@router.get("/v1/jobs", response_model=list[JobStatus], summary="The jobs of the indexes this key may read, newest first")
def list_jobs(index: str | None = Query(None, max_length=64, description="Only this index's jobs."),
              who=Depends(principal), jobs: JobRunner = Depends(runner)) -> list[dict]:
    return [status_of(j, jobs, who.key_id) for j in jobs.store.all()
            if who.sees(j.index) and who.role.includes(Role.reader) and (index is None or j.index == index)]


@router.get("/v1/jobs/{job_id}", response_model=JobStatus, summary="Where a job stands, and its report links")
def job_status(job_id: str, who=Depends(principal), jobs: JobRunner = Depends(runner),
               ws: Workspace = Depends(workspace)) -> dict:
    job = jobs.store.get(job_id)
    if not who.sees(job.index):
        raise JobNotFoundError(f"no job '{job_id}'")
    open_index(ws, who, job.index, Role.reader)
    return status_of(job, jobs, who.key_id)


def _active(ws: Workspace, key_id: str) -> bool:
    try:
        return ws.keys.get(key_id).revoked_at is None
    except RagtuneError:
        return False


@router.get("/v1/jobs/{job_id}/{file_name}", summary="A succeeded job's report.html, report.md or result.json",
            response_class=FileResponse)
def job_file(job_id: str, file_name: str, request: Request, token: str | None = Query(None, max_length=200),
             credentials: HTTPAuthorizationCredentials | None = Depends(bearer), jobs: JobRunner = Depends(runner),
             ws: Workspace = Depends(workspace)) -> FileResponse:
    kind = next((k for k, n in JOB_FILES.items() if n == file_name), None)
    if kind is None:
        raise JobNotFoundError(f"job '{job_id}' has no file '{file_name}' (report.html, report.md or result.json)")
    key_id = None if token is None else jobs.token_key(job_id, token)
    if key_id and not _active(ws, key_id):
        raise HTTPProblem(401, "this report link's key was revoked: open the job again with a valid key", "Unauthorized")
    if key_id is None:
        who = principal(request, credentials)  # no valid token: the key decides
        job = jobs.store.get(job_id)
        if not who.sees(job.index):
            raise JobNotFoundError(f"no job '{job_id}'")
        open_index(ws, who, job.index, Role.reader)
    path = jobs.store.file(job_id, kind)
    return FileResponse(path, media_type=_MEDIA[kind],
                        headers={"Content-Security-Policy": REPORT_POLICY, "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-store"})

