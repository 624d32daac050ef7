"""Fixtures for the tuning tests: example files and (slow) one tiny trained version shared by a module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _var, _value in {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}.items():
    os.environ.setdefault(_var, _value)

INTENTS = {
    "PlayMusic": ["play {x} on spotify", "put on some {x}", "I want to hear {x}"],
    "GetWeather": ["weather in {x} tomorrow", "will it rain in {x}", "forecast for {x}"],
}
VALUES = ["jazz", "Paris", "Lyon", "rock", "Oslo", "blues"]


def intent_rows(n: int = 12) -> list[dict]:
    """Small, distinct text -> JSON rows for two intents."""
    rows = []
    for i in range(n):
        intent = sorted(INTENTS)[i % 2]
        template = INTENTS[intent][(i // 2) % 3]
        value = VALUES[(i // 6) % len(VALUES)] + ("" if i < 36 else f" {i}")
        slot = "genre" if intent == "PlayMusic" else "city"
        rows.append({"input": template.format(x=value), "output": {"intent": intent, "slots": {slot: value}}})
    return rows


@pytest.fixture
def rows():
    """``rows(n)``: n distinct text -> JSON intent examples."""
    return intent_rows


@pytest.fixture
def intents_file(tmp_path: Path, jsonl) -> Path:
    return jsonl(tmp_path / "intents.jsonl", intent_rows(12))


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


FACTS = [
    ("How often must API keys be rotated?", "API keys must be rotated every ninety days from the admin console."),
    ("How long are audit entries kept?", "Audit entries are kept for four hundred days and can be exported."),
    ("When do backups run?", "Backups of the vault run every six hours and are copied to a second region."),
    ("How is the team plan billed?", "The team plan is billed monthly for each active user, by invoice."),
    ("Which identity providers work with single sign-on?", "Single sign-on works with any SAML identity provider."),
    ("What port does the server listen on?", "The server listens on port 8420 unless NV_LISTEN_PORT says otherwise."),
    ("What happens to a revoked key?", "A revoked key stops working at once and cannot be restored."),
    ("How much memory does a small team need?", "A small team needs two CPU cores, four gigabytes of memory and 20 GB of disk."),
    ("Who can approve a key rotation?", "Only an owner of the workspace can approve the rotation of a key."),
    ("How do I export audit entries?", "Audit entries are exported as JSON lines through the nightly export endpoint."),
    ("Where are backup copies stored?", "Backup copies are stored in a second region, encrypted at rest."),
    ("How do I change the listen port?", "Set the NV_LISTEN_PORT environment variable and restart the server."),
]


@pytest.fixture
def pairs_file(tmp_path: Path, jsonl) -> Path:
    """Twelve query/positive pairs about a small product (each fact on its own)."""
    return jsonl(tmp_path / "pairs.jsonl", [{"query": q, "positive": p} for q, p in FACTS])


@pytest.fixture
def facts_index(tmp_path: Path):
    """A workspace (fake embedder) whose index 'facts' holds each fact as a document, to mine negatives from."""
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    folder = tmp_path / "facts"
    folder.mkdir()
    for i, (_, fact) in enumerate(FACTS):
        (folder / f"fact{i:02d}.txt").write_text(fact + "\n", encoding="utf-8")
    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home"), "embedder": {"model": "fake:64"}}, env={}))
    ws.ingest([str(folder)], "facts")
    return ws
