"""A local Ray (two CPUs) started once for these tests and shut down after them; never assumed to be running."""

from __future__ import annotations

import pytest

from . import helpers


@pytest.fixture(scope="session")
def ray_local():
    """Ray on this machine with two CPUs, the test helpers shipped to its workers by value."""
    ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'ragtune[ray]'")
    from ray import cloudpickle

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="error", log_to_driver=False)
    cloudpickle.register_pickle_by_value(helpers)  # the workers cannot import the test folder
    yield ray
    if started:
        ray.shutdown()
