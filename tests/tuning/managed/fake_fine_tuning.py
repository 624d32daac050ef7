"""A faithful fake of the OpenAI fine-tuning surface, served on loopback by the tests and the benchmark.

Routes: ``POST /v1/files`` (multipart upload), ``POST /v1/fine_tuning/jobs``, ``GET /v1/fine_tuning/jobs/{id}``,
``GET /v1/fine_tuning/jobs/{id}/events`` (newest first), ``POST /v1/fine_tuning/jobs/{id}/cancel`` and
``POST /v1/chat/completions`` (the fine-tuned models answer, and the models named in ``serves``). ``FakeProvider.script`` sets how a new job goes:
how many polls it stays running, and whether it then succeeds, fails (with a message) or is cancelled.
``fine_tuning=False`` makes it a server without fine-tuning (404 on those routes).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Script:
    running_polls: int = 1  # polls that see the job running before it ends
    outcome: str = "succeeded"  # succeeded, failed or cancelled
    error: str = "training file has too few examples for this model"
    reports_tokens: bool = True  # whether the succeeded job reports its trained (billed) tokens


@dataclass
class FakeProvider:
    script: Script = field(default_factory=Script)
    fine_tuning: bool = True
    serves: tuple[str, ...] = ()  # base models that answer chat completions besides the fine-tuned ones
    files: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body)
    polls: int = 0


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def fake_app(state: FakeProvider):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()

    def missing() -> JSONResponse:
        return JSONResponse({"error": {"message": "Not Found", "type": "invalid_request_error"}}, status_code=404)

    async def upload(request: Request):
        if not state.fine_tuning:
            return missing()
        form = await request.form()
        data = await form["file"].read()
        file_id = f"file-{len(state.files) + 1}"
        state.files[file_id] = data
        state.requests.append(("POST", "/files", {"purpose": form["purpose"], "bytes": len(data)}))
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": 1_700_000_000, "filename": form["file"].filename,
                "purpose": form["purpose"], "status": "processed"}

    async def create(request: Request):
        if not state.fine_tuning:
            return missing()
        body = await request.json()
        state.requests.append(("POST", "/fine_tuning/jobs", body))
        if body["training_file"] not in state.files:
            return JSONResponse({"error": {"message": f"invalid training_file: {body['training_file']}", "type": "invalid_request_error",
                                           "param": "training_file", "code": None}}, status_code=400)
        job_id = f"ftjob-{len(state.jobs) + 1}"
        epochs = (body.get("hyperparameters") or {}).get("n_epochs", 1)
        tokens = sum(len(m["content"]) // 4 + 4 for line in state.files[body["training_file"]].splitlines()
                     for m in json.loads(line)["messages"]) * epochs
        state.jobs[job_id] = {"id": job_id, "object": "fine_tuning.job", "model": body["model"], "created_at": 1_700_000_000,
                              "finished_at": None, "fine_tuned_model": None, "organization_id": "org-fake", "result_files": [],
                              "status": "validating_files", "training_file": body["training_file"], "validation_file": None,
                              "hyperparameters": {"n_epochs": epochs}, "trained_tokens": None, "error": None, "seed": body.get("seed", 0),
                              "_polls": 0, "_tokens": tokens, "_suffix": body.get("suffix"), "_script": state.script,
                              "_events": [("info", "Validating training file", {})]}
        return _job_view(state.jobs[job_id])

    def advance(job: dict[str, Any]) -> None:
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return
        job["_polls"] += 1
        script: Script = job["_script"]
        if job["_polls"] <= script.running_polls:
            if job["status"] != "running":
                job["status"] = "running"
                job["_events"].append(("info", "Fine-tuning job started", {}))
            step = job["_polls"]
            job["_events"].append(("metrics", f"Step {step}/{script.running_polls}: training loss={1.0 / step:.3f}",
                                   {"step": step, "train_loss": round(1.0 / step, 3), "total_steps": script.running_polls}))
            return
        job["finished_at"] = job["created_at"] + 60 * job["_polls"]
        if script.outcome == "succeeded":
            job.update(status="succeeded", trained_tokens=job["_tokens"] if script.reports_tokens else None,
                       result_files=["file-result-1"],
                       fine_tuned_model=f"ft:{job['model']}:org-fake:{job['_suffix']}:{job['id']}")
            job["_events"].append(("info", "The job has successfully completed", {}))
        elif script.outcome == "failed":
            job.update(status="failed", error={"code": "invalid_training_file", "message": script.error, "param": "training_file"})
            job["_events"].append(("error", f"Fine-tuning job failed: {script.error}", {}))
        else:
            job.update(status="cancelled")
            job["_events"].append(("info", "Job cancelled", {}))

    async def retrieve(job_id: str):
        if not state.fine_tuning or job_id not in state.jobs:
            return missing()
        state.polls += 1
        advance(state.jobs[job_id])
        return _job_view(state.jobs[job_id])

    async def events(job_id: str):
        if not state.fine_tuning or job_id not in state.jobs:
            return missing()
        listed = [{"id": f"ftevent-{job_id}-{i}", "object": "fine_tuning.job.event", "created_at": 1_700_000_000 + i, "level":
                   "error" if kind == "error" else "info", "message": message, "type": "metrics" if kind == "metrics" else "message",
                   "data": data} for i, (kind, message, data) in enumerate(state.jobs[job_id]["_events"])]
        return {"object": "list", "data": list(reversed(listed)), "has_more": False}

    async def cancel(job_id: str):
        if not state.fine_tuning or job_id not in state.jobs:
            return missing()
        job = state.jobs[job_id]
        state.requests.append(("POST", f"/fine_tuning/jobs/{job_id}/cancel", None))
        if job["status"] not in ("succeeded", "failed", "cancelled"):
            job.update(status="cancelled", finished_at=job["created_at"] + 1)
            job["_events"].append(("info", "Job cancelled", {}))
        return _job_view(job)

    async def chat(request: Request):
        body = await request.json()
        state.requests.append(("POST", "/chat/completions", {"model": body["model"]}))
        known = {j["fine_tuned_model"] for j in state.jobs.values() if j["fine_tuned_model"]} | set(state.serves)
        if body["model"] not in known:
            return JSONResponse({"error": {"message": f"The model '{body['model']}' does not exist", "type": "invalid_request_error"}},
                                status_code=404)
        text = f"answer from {body['model']}"
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}

    upload.__annotations__ = {"request": Request}
    create.__annotations__ = {"request": Request}
    chat.__annotations__ = {"request": Request}
    for fn in (retrieve, events, cancel):
        fn.__annotations__ = {"job_id": str}
    app.post("/v1/files")(upload)
    app.post("/v1/fine_tuning/jobs")(create)
    app.get("/v1/fine_tuning/jobs/{job_id}")(retrieve)
    app.get("/v1/fine_tuning/jobs/{job_id}/events")(events)
    app.post("/v1/fine_tuning/jobs/{job_id}/cancel")(cancel)
    app.post("/v1/chat/completions")(chat)
    return app


if __name__ == "__main__":  # serve it by hand: python tests/tuning/managed/fake_fine_tuning.py [--port 8009] [--polls 3]
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="A fake OpenAI fine-tuning API on loopback.")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--polls", type=int, default=3, help="Polls a job stays running before it succeeds.")
    parser.add_argument("--outcome", default="succeeded", choices=["succeeded", "failed", "cancelled"])
    parser.add_argument("--serves", action="append", default=[], help="A base model that answers chat completions too.")
    args = parser.parse_args()
    state = FakeProvider(script=Script(running_polls=args.polls, outcome=args.outcome), serves=tuple(args.serves))
    uvicorn.run(fake_app(state), host="127.0.0.1", port=args.port, log_level="warning")
