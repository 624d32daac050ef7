"""Fixtures for eval tests: a private copy of the 'support' workspace (the eval cache writes into it), a small
question set over examples/docs, a tuned model in the registry that generates through a fake, and a generator
prefix whose behaviour a test swaps (to crash a run part-way and count what a resumed run generates)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ragtune.generation import FakeGenerator, generators
from ragtune.components.registry import ModelCard, ModelRegistry

QUESTIONS = [
    {"id": "retention", "question": "How long are audit entries kept?", "reference_answer": "400 days",
     "gold_doc_ids": ["audit-log.md"]},
    {"id": "port", "question": "Which port does the server listen on by default?", "reference_answer": "port 8420",
     "gold_doc_ids": ["install-guide.txt"]},
    {"id": "sla", "question": "What is the monthly availability target of the hosted service?", "reference_answer": "99.95%",
     "reference_contexts": ["The hosted Northwind Vault service has a monthly availability target of 99.95%."]},
    {"id": "mercury", "question": "What is the boiling point of mercury?", "answerable": False},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def eval_home(support_home, tmp_path) -> Path:
    """A copy of the session's 'support' workspace that this test may write into."""
    home = tmp_path / "ws"
    shutil.copytree(support_home, home)
    return home


@pytest.fixture
def eval_ws(ws_for, eval_home):
    """``eval_ws(**sections)``: a fresh Workspace over the private copy (fresh: no generator is reused)."""
    return lambda **sections: ws_for(eval_home, **sections)


@pytest.fixture
def questions_file(tmp_path) -> Path:
    return write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)


class ScriptedGenerator(FakeGenerator):
    """A fake generator that counts its calls and can be told to fail after ``fail_after`` calls."""

    def __init__(self, spec: str, state: dict) -> None:
        super().__init__(state.get("reply"), spec=spec)
        self.state = state

    def generate(self, prompt, options=None, on_text=None):
        self.state["calls"] += 1
        if self.state.get("fail_after") is not None and self.state["calls"] > self.state["fail_after"]:
            raise RuntimeError("the model server went away")
        return super().generate(prompt, options, on_text)


@pytest.fixture
def scripted(register_plugin) -> dict:
    """Spec 'scripted' builds a ``ScriptedGenerator`` sharing this dict: ``calls``, ``fail_after``, ``reply``."""
    state = {"calls": 0, "fail_after": None, "reply": None}
    register_plugin(generators, "scripted", lambda rest, config, home: ScriptedGenerator("scripted", state))
    return state


@pytest.fixture
def tuned_model(eval_home, register_plugin) -> dict:
    """'support-ft' v1 and v2 in the registry; ``tuned:`` specs generate with fixed replies by version."""
    registry = ModelRegistry(eval_home)
    for _ in range(2):
        staging = registry.staging("support-ft")
        (staging / "adapter").mkdir()
        (staging / "adapter" / "adapter_config.json").write_text("{}")
        registry.publish(staging, ModelCard(kind="lora", name="support-ft", base_model={"spec": "local"},
                                            settings={"system": "You answer Northwind Vault questions."},
                                            files={"adapter": "adapter"}))
    replies = {"support-ft@v1": "Audit entries are kept for 30 days.", "support-ft@v2": "Audit entries are kept for 400 days."}
    register_plugin(generators, "tuned", lambda rest, config, home: FakeGenerator(replies[rest], spec=f"tuned:{rest}"))
    return replies
