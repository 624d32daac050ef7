"""The job runner: records on disk, failures recorded, interrupted jobs marked failed, report-link tokens."""

import os

import pytest

from ragtune.errors import InputError, JobNotFoundError
from ragtune.serving.jobs import Job, JobRunner, JobStore


def test_a_job_runs_in_the_background_and_records_its_files(tmp_path):
    runner = JobRunner(JobStore(tmp_path))
    seen = []

    def work(folder, progress):
        progress("step", 1, 2)
        (folder / "report.md").write_text("# done\n")
        seen.append(folder)
        return {"answer": 42}

    job = runner.submit("eval", "support", {"x": 1}, work)
    assert job.status == "queued" and (tmp_path / "jobs" / job.id / "job.json").is_file()
    done = runner.wait(job.id, 10)
    assert done.status == "succeeded" and done.summary == {"answer": 42} and done.files == ["report.md"]
    assert done.started_at and done.finished_at and done.request == {"x": 1}
    assert runner.store.file(job.id, "markdown").read_text() == "# done\n"
    with pytest.raises(JobNotFoundError, match="has no html file"):
        runner.store.file(job.id, "html")


def test_failures_are_recorded_with_their_message(tmp_path):
    runner = JobRunner(JobStore(tmp_path))

    def bad_input(folder, progress):
        raise InputError("questions[0]: field 'question' is missing or empty")

    def crash(folder, progress):
        raise RuntimeError("boom")

    a = runner.wait(runner.submit("eval", "support", {}, bad_input).id, 10)
    b = runner.wait(runner.submit("eval", "support", {}, crash).id, 10)
    assert a.status == "failed" and a.error == "questions[0]: field 'question' is missing or empty"
    assert b.status == "failed" and b.error == "RuntimeError: boom"
    assert "Traceback" in (tmp_path / "jobs" / b.id / "error.log").read_text()


def test_a_job_whose_server_died_is_marked_failed_by_the_next_runner(tmp_path):
    store = JobStore(tmp_path)
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    orphan = Job(id="a" * 32, kind="eval", index="support", status="running", pid=dead)
    store.save(orphan)
    JobRunner(store)
    job = store.get(orphan.id)
    assert job.status == "failed" and "the server stopped before the job finished" in job.error


def test_ids_are_checked_and_tokens_expire_and_bind_to_one_job(tmp_path):
    store = JobStore(tmp_path)
    for bad in ("../etc", "x" * 32, ""):
        with pytest.raises(JobNotFoundError):
            store.get(bad)
    runner = JobRunner(store, secret=b"s" * 32, link_ttl_s=60)
    token = runner.link_token("a" * 32, now=1000.0)
    assert runner.check_token("a" * 32, token, now=1059.0)
    assert not runner.check_token("a" * 32, token, now=1061.0)
    assert not runner.check_token("b" * 32, token, now=1000.0)
    assert not runner.check_token("a" * 32, token.replace(".", ".0"), now=1000.0)
    assert not runner.check_token("a" * 32, "garbage", now=1000.0)
    assert not JobRunner(store).check_token("a" * 32, token, now=1000.0)  # another server's secret
