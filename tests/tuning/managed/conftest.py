"""Fixtures for managed fine-tuning: the fake provider on loopback and a command runner."""

from __future__ import annotations

import pytest

from .fake_fine_tuning import FakeProvider, fake_app


@pytest.fixture
def provider(loopback):
    """``(state, url)``: a fresh fake fine-tuning provider served on loopback (``url`` ends in /v1)."""
    state = FakeProvider()
    with loopback(fake_app(state)) as url:
        yield state, f"{url}/v1"

