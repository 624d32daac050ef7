"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis): no 500s, ever."""

import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.http import create_app  # noqa: E402

# The schema is read when the module loads; each test then points the app at its own populated workspace.
APP = create_app(Workspace(RagtuneConfig.load({"home": tempfile.mkdtemp(prefix="rtfuzz"), "embedder": {"model": "fake:64"}})))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(autouse=True)
def populated(served, keys):
    APP.state.workspace = served
    APP.state.fuzz_key = keys["root"]  # an admin for every index, so the fuzzer reaches every route's logic
    yield
    APP.state.workspace = None


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    if case.path_parameters and "name" in case.path_parameters and len(str(case.path_parameters["name"])) % 2:
        case.path_parameters["name"] = "support"  # half the cases on a real index, with generated bodies
    response = case.call(headers={"Authorization": f"Bearer {APP.state.fuzz_key}"})
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        content_type = response.headers["content-type"]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type == "application/problem+json", response.text
