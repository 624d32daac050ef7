"""Measuring the facts the advisor decides from: an index, an examples file, an eval run.

Nothing here is asked of the user. Index facts come from the store (documents, chunks, their text) and the
manifest's ingest history (how often content changed); tokens are counted with the generator's tokenizer
where it is available offline, else with the chunker's word-piece estimate (and a note says so). Example
facts come from ``ragtune data check``'s reading of the file. Eval facts are the aggregates of an
``eval --out`` file, read by metric name: what is present is used, what is absent is ignored.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

from ragtune.advisor.base import EvalFacts, ExampleFacts, ExampleIssue, IndexFacts, MetricValue
from ragtune.costs.hosting import EMBEDDED, SERVER
from ragtune.documents import count_tokens
from ragtune.errors import ConfigError, InputError
from ragtune.evaluation.base import read_results
from ragtune.index import ChunkRecord, DocRecord, Store
from ragtune.index.base import content_changes

_URL_FIELDS = ("url", "link", "source_url", "href", "uri")
_MONTH_DAYS = 30.0
_SHOWN_ERRORS = 20


@dataclass
class TokenCounter:
    """Counts tokens of texts with a named tokenizer; ``notes`` say when it is a stand-in.

    ``tokenizer`` is the transformers tokenizer behind it, when there is one (the data checker renders
    examples through its chat template to count training tokens exactly).
    """

    name: str
    count_many: Callable[[Sequence[str]], list[int]]
    notes: list[str] = field(default_factory=list)
    tokenizer: Any = None

    def count(self, texts: Sequence[str]) -> list[int]:
        return self.count_many(list(texts)) if texts else []


def regex_counter(note: str | None = None) -> TokenCounter:
    """The chunker's word-piece estimate (always available)."""
    return TokenCounter("word-pieces (estimate)", lambda texts: [count_tokens(t) for t in texts], [note] if note else [])


def token_counter(model: str | None = None) -> TokenCounter:
    """The tokenizer of generator ``model`` where it is available offline, else the default local model's.

    ``model='regex'`` asks for the word-piece estimate; when no tokenizer loads at all the estimate is used,
    with a note.
    """
    if model == "regex":
        return regex_counter()
    from ragtune.tuning.base_models import load_tokenizer

    notes: list[str] = []
    try:
        try:
            tokenizer, name = load_tokenizer(model or "local")
        except ConfigError:
            if not model or model == "local":
                raise
            notes.append(f"the tokenizer of '{model}' is not available offline: tokens counted with the default local model's")
            tokenizer, name = load_tokenizer("local")
    except (ConfigError, ImportError) as exc:
        return regex_counter(f"no tokenizer could be loaded ({exc}); tokens are a word-piece estimate")

    def count_many(texts: Sequence[str]) -> list[int]:
        counts: list[int] = []
        for start in range(0, len(texts), 512):
            ids = tokenizer(list(texts[start:start + 512]), add_special_tokens=False)["input_ids"]
            counts.extend(len(i) for i in ids)
        return counts

    return TokenCounter(f"{name} tokenizer", count_many, notes, tokenizer)


def is_citable(doc: DocRecord) -> bool:
    """A source a reader can follow: a URL, a file, or a titled record in a JSONL corpus."""
    if doc.source.startswith(("http://", "https://")):
        return True
    for key in _URL_FIELDS:
        value = doc.metadata.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return True
    if doc.doc_type != "jsonl":
        return True
    return bool(str(doc.metadata.get("title") or "").strip())


def _new_text(chunks: list[ChunkRecord]) -> list[str]:
    """Each chunk's text minus the overlap it repeats from the chunk before it (chunks of one document)."""
    pieces, end = [], 0
    for c in sorted(chunks, key=lambda c: c.position):
        skip = max(0, min(end, c.end) - c.start)
        pieces.append(c.text[skip:])
        end = max(end, c.end)
    return pieces


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def index_facts(store: Store, name: str, counter: TokenCounter) -> IndexFacts:
    """Measure index ``name``: size in tokens, change history, citability (``IndexNotFoundError`` if unknown)."""
    manifest = store.manifest(name)
    docs = store.documents(name)
    chunks = store.all_chunks(name)
    by_doc: dict[str, list[ChunkRecord]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    chunk_tokens = counter.count([c.text for c in chunks])
    new_pieces = [p for group in by_doc.values() for p in _new_text(group)]
    total_tokens = sum(counter.count(new_pieces))

    history = manifest.history
    times = [t for t in (_parse_time(e.at) for e in history) if t is not None]
    days = (max(times) - min(times)).total_seconds() / 86400 if len(times) > 1 else 0.0
    changes = content_changes(history)[1:]  # the first commit is the corpus itself, not a change to it
    n_docs = len(docs)
    cycles = sum(1 for c in changes if c)
    changed_documents = sum(changes)
    share = changed_documents / max(1, n_docs)
    measured = days >= _MONTH_DAYS
    changed = sum(1 for d in docs if d.version > 1)
    citable = sum(1 for d in docs if is_citable(d))
    notes = list(counter.notes)
    if history[1:] and not measured:
        notes.append(f"the change history spans {days:.1f} days, under {_MONTH_DAYS:.0f}: its {changed_documents} content "
                     f"change(s) are assumed to be one month's")
    return IndexFacts(
        index=name, documents=n_docs, chunks=len(chunks), total_tokens=total_tokens,
        chunk_tokens_mean=round(statistics.fmean(chunk_tokens), 2) if chunk_tokens else 0.0,
        chunk_bytes_mean=round(statistics.fmean(len(c.text.encode("utf-8")) for c in chunks), 2) if chunks else 0.0,
        tokenizer=counter.name, embedding_dimension=manifest.embedder.dimension, store=EMBEDDED if store.embedded else SERVER,
        indexes_in_workspace=len(store.list_indexes()), ingests=len(history),
        first_ingest=history[0].at if history else None, last_ingest=history[-1].at if history else None,
        observed_days=round(days, 3), change_cycles=cycles,
        change_cycles_per_month=round(cycles / max(1.0, days / _MONTH_DAYS), 4),
        documents_changed=changed, changed_share=round(changed / n_docs, 4) if n_docs else 0.0,
        versions_per_document=round(statistics.fmean(d.version for d in docs), 4) if docs else 0.0,
        content_changes=changed_documents, churn_per_cycle=round(min(1.0, share / cycles), 4) if cycles else 0.0,
        monthly_churn=round(share / max(1.0, days / _MONTH_DAYS), 4), churn_measured=measured,
        citable_documents=citable, citable_share=round(citable / n_docs, 4) if n_docs else 0.0, notes=notes)


# --- examples -------------------------------------------------------------------------------------------


def _bigram_ratio(texts: list[str]) -> float:
    grams: list[tuple[str, str]] = []
    for t in texts:
        words = t.lower().split()
        grams.extend(zip(words, words[1:]))
    return round(len(set(grams)) / len(grams), 4) if grams else 0.0


def _output_labels(values: list[Any]) -> int | None:
    """Distinct output structures: an 'intent'/'label'-like field's values, else distinct key sets."""
    objects = [v for v in values if isinstance(v, dict)]
    if not objects:
        return None
    for key in ("intent", "label", "category", "class", "type"):
        if all(key in o for o in objects):
            return len({json.dumps(o[key], sort_keys=True) for o in objects})
    return len({tuple(sorted(o)) for o in objects})


def example_facts(path: Path | str, counter: TokenCounter, max_length: int = 2048) -> ExampleFacts:
    """Measure a fine-tuning examples file on top of ``ragtune data check``: count, format, schema fit,
    lengths, diversity, and the errors it found (located)."""
    from ragtune.tuning.data import check_examples, read_examples
    from ragtune.tuning.data.examples import prompt_key

    path = Path(path)
    examples = read_examples(path)
    if examples.lines - examples.blank_lines == 0:
        raise InputError(f"{path}: no examples (the file is empty)")
    report = check_examples(examples, tokenizer=counter.tokenizer, max_length=max_length, tokenizer_name=counter.name)
    valid = examples.valid
    prompts = ["\n".join(m["content"] for m in e.prompt) for e in valid]
    completions = [e.completion for e in valid]
    prompt_tokens = counter.count(prompts)
    completion_tokens = counter.count(completions)
    rows = len(valid)
    tokens = report.tokens or {}
    total = int(tokens.get("total") or (sum(prompt_tokens) + sum(completion_tokens)))
    output = report.output
    notes = list(counter.notes)
    if examples.invalid_lines:
        notes.append(f"{len(examples.invalid_lines)} row(s) have errors; see them all with: ragtune data check {path}")
    if tokens.get("total"):
        notes.append(f"training tokens counted on rows rendered through the {counter.name}'s chat template")
    return ExampleFacts(
        file=str(path), format=examples.format.value if examples.format else None, rows=rows,
        invalid_rows=len(examples.invalid_lines),
        format_share=round(rows / (examples.lines - examples.blank_lines), 4),
        errors=[ExampleIssue(line=i.line, field=i.field, message=i.message) for i in examples.issues[:_SHOWN_ERRORS]],
        output_kind=output.get("kind", "text"), schema_fit=output.get("fit") if output.get("kind") == "json" else None,
        prompt_tokens_mean=round(statistics.fmean(prompt_tokens), 2) if rows else 0.0,
        completion_tokens_mean=round(statistics.fmean(completion_tokens), 2) if rows else 0.0,
        total_tokens=total, unique_prompt_share=round(len({prompt_key(e) for e in valid}) / rows, 4) if rows else 0.0,
        distinct_bigram_ratio=_bigram_ratio(prompts),
        output_labels=(_output_labels([e.output_json for e in valid if e.output_json is not None])
                       if examples.json_outputs else None),
        tokenizer=counter.name, notes=notes)


# --- eval runs ------------------------------------------------------------------------------------------


def _metric_value(raw: Any, where: str) -> MetricValue | None:
    """``{"mean", "ci95"}`` (ci95 a half-width or a [low, high] pair) or a bare number; None for other shapes."""
    if isinstance(raw, bool):
        raw = float(raw)
    if isinstance(raw, (int, float)):
        return MetricValue(mean=float(raw))
    if not isinstance(raw, dict) or not isinstance(raw.get("mean"), (int, float)) or isinstance(raw.get("mean"), bool):
        return None
    ci = raw.get("ci95")
    half: float | None = None
    if isinstance(ci, (int, float)) and not isinstance(ci, bool):
        half = abs(float(ci))
    elif isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        half = abs(float(ci[1]) - float(ci[0])) / 2
    elif ci is not None:
        raise InputError(f"{where}: 'ci95' must be a number or a [low, high] pair")
    return MetricValue(mean=float(raw["mean"]), ci95=half)


def eval_facts(path: Path | str) -> EvalFacts:
    """Read an ``eval --out`` results file; errors name the file and the field."""
    path = Path(path)
    result = read_results(path)
    aggregates = result.aggregates
    if not aggregates:
        raise InputError(f"{path}: field 'aggregates' is missing or empty: expected {{variant: {{metric: {{mean, ci95}}}}}}")
    index = result.config.get("index")
    rows = result.rows
    variants: dict[str, dict[str, MetricValue]] = {}
    notes: list[str] = []
    for variant, metrics in aggregates.items():
        if not isinstance(metrics, dict):
            raise InputError(f"{path}: field 'aggregates.{variant}' must be an object of metrics")
        values = {}
        for metric, raw in metrics.items():
            value = _metric_value(raw, f"{path}: field 'aggregates.{variant}.{metric}'")
            if value is not None:
                values[metric] = value
        variants[str(variant)] = values
    unknown = [v for v in variants if v not in ("base", "rag", "ft", "rag+ft")]
    if unknown:
        notes.append(f"variant(s) {', '.join(unknown)} are not one of base, rag, ft, rag+ft: shown but not compared")
    if index is None:
        notes.append("the eval file does not name the index it ran against (config.index)")
    return EvalFacts(file=str(path), index=str(index) if index is not None else None, rows=len(rows),
                     variants=variants, notes=notes)
