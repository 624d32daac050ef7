"""Scenario data for the advisor, built once per session from the real data sets in shared/data.

- index ``support``: the Red Hat Developer Hub guides (rhdh_docs_qa), ingested three times: first with
  eight guides in a shorter, earlier edition, then the full guides (eight updates), then with the release
  notes withdrawn (one removal). A large corpus with a change history.
- index ``news``: the CLARK news evidence spans (clark_news), each with its article URL: a small static corpus.
- examples: SNIPS NLU rows (``{"input", "output": {"intent", "slots"}}``), a consistent JSON format.
- eval results: SNIPS test rows answered per variant and scored for JSON validity against the SNIPS schema.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
from pathlib import Path
from typing import Callable

import pytest
from jsonschema import Draft202012Validator

from ragtune.advisor import example_facts, index_facts, token_counter
from ragtune.api import Workspace
from ragtune.config import RagtuneConfig

CHANGED_GUIDES = 8
WITHDRAWN = "rel-notes-rhdh.txt"


def _workspace(home: Path) -> Workspace:
    return Workspace(RagtuneConfig.load({"home": str(home), "embedder": {"model": "fake:64"}}, env={}))


@pytest.fixture(scope="session")
def counter():
    """The generator's tokenizer (SmolLM2's where installed), loaded once."""
    return token_counter(None)


@pytest.fixture(scope="session")
def advisor_home(tmp_path_factory, shared_data) -> Path:
    root = tmp_path_factory.mktemp("advisor")
    home = root / "home"
    ws = _workspace(home)
    guides = root / "rhdh"
    shutil.copytree(shared_data / "rhdh_docs_qa" / "docs", guides)
    guides.chmod(0o755)
    changed = sorted(p for p in guides.iterdir() if p.name != WITHDRAWN)[:CHANGED_GUIDES]
    full = {}
    for path in changed:
        path.chmod(0o644)
        full[path] = path.read_text(encoding="utf-8")
        lines = full[path].splitlines()
        path.write_text("\n".join(lines[: int(len(lines) * 0.6)]) + "\n", encoding="utf-8")
    first = ws.ingest([str(guides)], index="support")
    assert first.added == 28
    for path, text in full.items():
        path.write_text(text, encoding="utf-8")
    second = ws.ingest([str(guides)], index="support")
    assert second.updated == CHANGED_GUIDES
    (guides / WITHDRAWN).chmod(0o644)
    (guides / WITHDRAWN).unlink()
    third = ws.ingest([str(guides)], index="support")
    assert third.removed == 1
    ws.ingest([str(shared_data / "clark_news" / "docs.jsonl")], index="news")
    return home


@pytest.fixture
def advisor_ws(advisor_home) -> Workspace:
    return _workspace(advisor_home)


@pytest.fixture(scope="session")
def snips_rows(shared_data) -> list[str]:
    return (shared_data / "snips_nlu_json" / "train.jsonl").read_text(encoding="utf-8").splitlines()


def _sample(rows: list[str], n: int) -> list[str]:
    """``n`` rows spread evenly over the file (it is sorted by intent)."""
    return [rows[i * len(rows) // n] for i in range(n)]


@pytest.fixture(scope="session")
def examples_2000(tmp_path_factory, snips_rows) -> Path:
    """2,000 SNIPS rows across all intents: thousands of consistent JSON examples."""
    path = tmp_path_factory.mktemp("examples") / "snips2000.jsonl"
    path.write_text("\n".join(_sample(snips_rows, 2000)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def examples_300(tmp_path_factory, snips_rows) -> Path:
    """300 SNIPS rows: a few hundred examples."""
    path = tmp_path_factory.mktemp("examples") / "snips300.jsonl"
    path.write_text("\n".join(_sample(snips_rows, 300)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def broken_examples(tmp_path_factory, snips_rows) -> Path:
    """1,200 SNIPS rows with three broken ones: line 5 is not JSON, line 10 lacks its output, line 20's output is text."""
    rows = _sample(snips_rows, 1200)
    rows[4] = rows[4][:-7]
    rows[9] = json.dumps({"input": json.loads(rows[9])["input"]})
    rows[19] = json.dumps({"input": json.loads(rows[19])["input"], "output": "PlayMusic"})
    path = tmp_path_factory.mktemp("examples") / "broken.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _snips_schema(shared_data: Path) -> dict:
    slots = json.loads((shared_data / "snips_nlu_json" / "schema_slots_per_intent.json").read_text(encoding="utf-8"))
    return {"type": "object", "required": ["intent", "slots"], "additionalProperties": False,
            "properties": {"intent": {"enum": sorted(slots)}, "slots": {"type": "object"}},
            "allOf": [{"if": {"properties": {"intent": {"const": intent}}},
                       "then": {"properties": {"slots": {"propertyNames": {"enum": names}}}}} for intent, names in slots.items()]}


def _aggregate(values: list[float]) -> dict[str, float]:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(mean, 4), "ci95": round(1.96 * sd / math.sqrt(len(values)), 4)}


@pytest.fixture(scope="session")
def make_eval(tmp_path_factory, shared_data, advisor_home) -> Callable[..., Path]:
    """Write an eval results file over 100 SNIPS test rows; ``answers[variant](row, hits)`` gives each answer.

    Rows are scored for ``json_valid``, ``schema_valid`` (against the SNIPS slot schema) and ``exact_match``;
    ``rag`` variants get the index's best lexical hit for the question as their context.
    """
    validator = Draft202012Validator(_snips_schema(shared_data))
    test_rows = [json.loads(line) for line in
                 (shared_data / "snips_nlu_json" / "test.jsonl").read_text(encoding="utf-8").splitlines()[::7][:100]]
    index = _workspace(advisor_home).index("support")
    hits = {r["input"]: index.search(r["input"], k=1, mode="lexical") for r in test_rows}

    def make(index_name: str, answers: dict[str, Callable[[dict, list], str]], extra: dict | None = None) -> Path:
        rows, per_variant = [], {}
        for variant, answer_fn in answers.items():
            scores: dict[str, list[float]] = {"json_valid": [], "schema_valid": [], "exact_match": []}
            for i, row in enumerate(test_rows):
                answer = answer_fn(i, row, hits[row["input"]])
                try:
                    parsed = json.loads(answer)
                except json.JSONDecodeError:
                    parsed = None
                metrics = {"json_valid": float(isinstance(parsed, dict)),
                           "schema_valid": float(isinstance(parsed, dict) and validator.is_valid(parsed)),
                           "exact_match": float(parsed == row["output"])}
                for k, v in metrics.items():
                    scores[k].append(v)
                rows.append({"id": f"q{i}", "variant": variant, "answer": answer, "citations": [], **metrics})
            per_variant[variant] = {k: _aggregate(v) for k, v in scores.items()}
            per_variant[variant].update((extra or {}).get(variant, {}))
        path = tmp_path_factory.mktemp("eval") / f"{index_name}.json"
        path.write_text(json.dumps({"config": {"index": index_name, "variants": list(answers), "format_version": 1}, "rows": rows,
                                    "aggregates": per_variant}), encoding="utf-8")
        return path

    return make


def tuned_answer(i: int, row: dict, hits: list) -> str:
    """A tuned model's answer: the labelled JSON, with every tenth answer cut short (invalid)."""
    text = json.dumps(row["output"])
    return text[: len(text) // 2] if i % 10 == 0 else text


def retrieved_answer(i: int, row: dict, hits: list) -> str:
    """A retrieval answer: the retrieved passage, quoted (free text, not the JSON the task asks for)."""
    return hits[0].text if hits else "I could not find that."


@pytest.fixture(scope="session")
def support_facts(advisor_home, counter):
    """Measured facts of the large, changing ``support`` index."""
    return index_facts(_workspace(advisor_home).store, "support", counter)


@pytest.fixture(scope="session")
def news_facts(advisor_home, counter):
    """Measured facts of the small, static ``news`` index."""
    return index_facts(_workspace(advisor_home).store, "news", counter)


@pytest.fixture(scope="session")
def facts_2000(examples_2000, counter):
    return example_facts(examples_2000, counter)


@pytest.fixture(scope="session")
def facts_300(examples_300, counter):
    return example_facts(examples_300, counter)


@pytest.fixture(scope="session")
def facts_broken(broken_examples, counter):
    return example_facts(broken_examples, counter)
