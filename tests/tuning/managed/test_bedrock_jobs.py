"""Amazon Bedrock model customization through boto3, with botocore's Stubber in place of the service: the job's
lifecycle is the same as on other providers, and the card states the assumed training cost and the hosting on
provisioned throughput."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ragtune.errors import ConfigError, InputError, MissingKeyError, TuningError
from ragtune.costs.prices import ModelPrice, PriceTable
from ragtune.tuning.managed import ManagedConfig, ManagedTuner
from ragtune.tuning.managed.bedrock import BedrockCustomization

boto3 = pytest.importorskip("boto3")
from botocore.stub import ANY, Stubber  # noqa: E402

MODEL = "anthropic.claude-3-haiku-20240307-v1:0:200k"
ARN = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/anthropic.claude-3-haiku/abc123"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/anthropic.claude-3-haiku/intents"
ROLE = "arn:aws:iam::123456789012:role/bedrock-tuning"
T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.timezone.utc)


def _client(name):
    return boto3.client(name, region_name="us-east-1", aws_access_key_id="AKIDTEST", aws_secret_access_key="secret")


@pytest.fixture
def stubbed():
    """``(service, bedrock stubber, s3 stubber)``; the stubbers must have seen every expected call by the end."""
    bedrock, s3 = _client("bedrock"), _client("s3")
    with Stubber(bedrock) as b, Stubber(s3) as s:
        yield BedrockCustomization(bedrock=bedrock, s3=s3), b, s
        b.assert_no_pending_responses()
        s.assert_no_pending_responses()


@pytest.fixture
def examples(tmp_path, jsonl, rows):
    return jsonl(tmp_path / "intents.jsonl", rows(12))


def config(examples, **extra):
    values = {"name": "intents", "data": examples, "base": f"bedrock:{MODEL}", "poll_interval_s": 0, "epochs": 2,
              "role_arn": ROLE, "s3_uri": "s3://tuning-bucket/ragtune", "system": "Reply with JSON.", **extra}
    return ManagedConfig.build(**values)


def _job(status, **extra):
    return {"jobArn": ARN, "jobName": "intents-1", "outputModelName": "intents", "roleArn": ROLE, "status": status,
            "creationTime": T0, "baseModelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}",
            "trainingDataConfig": {"s3Uri": "s3://tuning-bucket/ragtune/intents/provider_data.jsonl"},
            "validationDataConfig": {"validators": []}, "outputDataConfig": {"s3Uri": "s3://tuning-bucket/ragtune/intents/output/"},
            **extra}


def _start(b, s):
    s.add_response("put_object", {}, {"Bucket": "tuning-bucket", "Key": "ragtune/intents/provider_data.jsonl", "Body": ANY})
    b.add_response("create_model_customization_job", {"jobArn": ARN}, {
        "jobName": ANY, "customModelName": "intents", "roleArn": ROLE, "baseModelIdentifier": MODEL, "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": "s3://tuning-bucket/ragtune/intents/provider_data.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://tuning-bucket/ragtune/intents/output/"}, "hyperParameters": {"epochCount": "2"}})


def _poll(b, job):
    b.add_response("get_model_customization_job", job, {"jobIdentifier": ARN})


def test_a_completed_job_is_published_with_the_assumed_cost_and_hosting(workspace, stubbed, examples):
    service, b, s = stubbed
    _start(b, s)
    _poll(b, _job("InProgress", statusDetails={"validationDetails": {"status": "Completed"}, "trainingDetails": {"status": "InProgress"}}))
    _poll(b, _job("Completed", outputModelArn=MODEL_ARN, endTime=T0 + dt.timedelta(minutes=42),
                  trainingMetrics={"trainingLoss": 0.21}))
    seen = []
    card = ManagedTuner(config(examples), workspace.models, service, MODEL).train(seen.append)
    assert card.managed["job_id"] == ARN
    assert card.managed["model_id"] == MODEL_ARN
    assert card.managed["region"] == "us-east-1"
    assert card.metrics["job_time_s"] == 42 * 60
    assert card.metrics["provider_metrics"]["training"] == {"trainingLoss": 0.21}
    assert card.metrics["trained_tokens_billed"] is False
    training = card.cost["training"]
    assert training["label"] == "assumed"
    assert training["usd"] == pytest.approx(card.metrics["trained_tokens"] * 4.00 / 1e6)
    assert card.cost["hosting"]["label"] == "unknown"
    assert "provisioned throughput" in card.cost["hosting"]["note"]
    assert any(e.message == "bedrock: training: InProgress" for e in seen)


def test_the_upload_is_in_bedrocks_conversation_format(workspace, stubbed, examples):
    service, b, s = stubbed
    _start(b, s)
    _poll(b, _job("Completed", outputModelArn=MODEL_ARN))
    card = ManagedTuner(config(examples), workspace.models, service, MODEL).train()
    first = json.loads((workspace.models.path(card.ref) / "provider_data.jsonl").read_text().splitlines()[0])
    assert first["system"] == "Reply with JSON."
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]


def test_a_hosting_price_in_the_table_is_stated_on_the_card(workspace, stubbed, examples):
    service, b, s = stubbed
    _start(b, s)
    _poll(b, _job("Completed", outputModelArn=MODEL_ARN))
    prices = PriceTable(prices={"bedrock:ft:anthropic.claude-3-haiku": ModelPrice(training_per_mtok=4.0, hosting_per_hour=9.5,
                                                                                    as_of="2026-01")})
    card = ManagedTuner(config(examples), workspace.models, service, MODEL, prices).train()
    assert card.cost["hosting"]["usd_per_hour"] == 9.5
    assert card.cost["hosting"]["label"] == "listed"


def test_a_failed_job_shows_its_message_and_registers_nothing(workspace, stubbed, examples):
    service, b, s = stubbed
    _start(b, s)
    _poll(b, _job("Failed", failureMessage="Insufficient permissions to read s3://tuning-bucket"))
    with pytest.raises(TuningError, match="Insufficient permissions to read s3://tuning-bucket"):
        ManagedTuner(config(examples), workspace.models, service, MODEL).train()
    assert workspace.models.versions("intents") == []


def test_a_stopped_job_registers_nothing(workspace, stubbed, examples):
    service, b, s = stubbed
    _start(b, s)
    _poll(b, _job("Stopped"))
    with pytest.raises(TuningError, match="cancelled"):
        ManagedTuner(config(examples), workspace.models, service, MODEL).train()
    assert workspace.models.versions("intents") == []


def test_cancel_stops_the_job(stubbed):
    service, b, _ = stubbed
    b.add_response("stop_model_customization_job", {}, {"jobIdentifier": ARN})
    _poll(b, _job("Stopping"))
    assert service.cancel(ARN).provider_status == "Stopping"


def test_a_refused_request_is_input_error_with_bedrocks_message(workspace, stubbed, examples):
    service, b, s = stubbed
    s.add_response("put_object", {}, {"Bucket": "tuning-bucket", "Key": "ragtune/intents/provider_data.jsonl", "Body": ANY})
    b.add_client_error("create_model_customization_job", "ValidationException", "The base model does not support fine-tuning")
    with pytest.raises(InputError, match="ValidationException.*does not support fine-tuning"):
        ManagedTuner(config(examples), workspace.models, service, MODEL).train()
    assert workspace.models.versions("intents") == []


def test_the_role_and_bucket_are_required(workspace, examples):
    with pytest.raises(ConfigError, match="--role-arn"):
        ManagedTuner(config(examples, role_arn=None), workspace.models, BedrockCustomization(bedrock=object(), s3=object()),
                     MODEL).train()


def test_missing_credentials_name_the_variables(workspace, examples, monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(MissingKeyError, match="AWS_ACCESS_KEY_ID"):
        ManagedTuner(config(examples), workspace.models, BedrockCustomization(region="us-east-1"), MODEL).train()


def test_a_bedrock_version_does_not_answer_through_ragtune(workspace, stubbed, examples):
    service, b, s = stubbed
    _start(b, s)
    _poll(b, _job("Completed", outputModelArn=MODEL_ARN))
    ManagedTuner(config(examples), workspace.models, service, MODEL).train()
    with pytest.raises(ConfigError, match="provisioned throughput"):
        workspace.generator("tuned:intents")
