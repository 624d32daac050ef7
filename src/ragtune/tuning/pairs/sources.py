"""Where pairs come from: a pairs file, a BEIR folder, or an index's chunks made into synthetic pairs."""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from ragtune.documents.beir import read_beir_jsonl, read_qrels
from ragtune.documents.loaders.jsonl import jsonl_objects
from ragtune.errors import InputError
from ragtune.index.base import ChunkRecord
from ragtune.tuning.pairs.base import Notify, Pair, words

_QUERY_KEYS = ("query", "anchor", "question")
_POSITIVE_KEYS = ("positive", "pos", "passage")
_NEGATIVE_KEYS = ("negative", "negatives", "neg")


def _text_id(text: str) -> str:
    return "t" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _field(row: dict[str, Any], keys: Sequence[str]) -> tuple[str, Any]:
    for key in keys:
        if key in row:
            return key, row[key]
    return keys[0], None


def read_pairs(path: str | Path) -> list[Pair]:
    """Pairs from a JSONL file; a bad row (not JSON, a missing or empty text) is an ``InputError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    pairs: list[Pair] = []
    for number, row in jsonl_objects(path, "a JSON object with 'query' and 'positive'"):
        where = f"{path}:{number}"
        texts = {}
        for keys in (_QUERY_KEYS, _POSITIVE_KEYS):
            key, value = _field(row, keys)
            if value is None:
                raise InputError(f"{where}: field '{key}' is missing")
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{where}: field '{key}' is empty" if isinstance(value, str) else f"{where}: field '{key}' must "
                                                                                                   "be text")
            texts[keys[0]] = value.strip()
        key, negs = _field(row, _NEGATIVE_KEYS)
        negs = [] if negs is None else [negs] if isinstance(negs, str) else negs
        if not isinstance(negs, list) or any(not isinstance(n, str) or not n.strip() for n in negs):
            raise InputError(f"{where}: field '{key}' must be a non-empty text or a list of them")
        query, positive = texts["query"], texts["positive"]
        pairs.append(Pair(query_id=str(row.get("query_id") or _text_id(query)), query=query,
                          positive_id=str(row.get("positive_id") or _text_id(positive)), positive=positive,
                          negatives=[n.strip() for n in negs], positive_doc=row.get("positive_id"), where=where))
    if not pairs:
        raise InputError(f"{path}: no pairs")
    return pairs


def beir_pairs(folder: str | Path, split: str = "train") -> tuple[list[Pair], dict[str, str], dict[str, int], list[str]]:
    """Pairs of a BEIR folder's qrels split, its corpus (``title\\ntext``), counts, and notes on unknown ids."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        known = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise InputError(f"{qrels_path}: missing (splits here: {', '.join(known) or 'none'})")
    qrels = read_qrels(qrels_path)
    corpus = read_beir_jsonl(folder / "corpus.jsonl", title=True)
    queries = read_beir_jsonl(folder / "queries.jsonl")
    pairs: list[Pair] = []
    unknown_q: list[str] = []
    unknown_d: list[str] = []
    judged = 0
    for qid, docs in qrels.items():
        for did, grade in docs.items():
            if grade <= 0:
                continue
            judged += 1
            if qid not in queries:
                unknown_q.append(qid)
            elif did not in corpus:
                unknown_d.append(did)
            elif not queries[qid].strip() or not corpus[did].strip():
                raise InputError(f"{folder}: query '{qid}' or document '{did}' has empty text")
            else:
                pairs.append(Pair(query_id=qid, query=queries[qid], positive_id=did, positive=corpus[did], positive_doc=did,
                                  where=f"{qrels_path.name}:{qid}/{did}"))
    notes = []
    if unknown_q:
        notes.append(f"{qrels_path}: {len(unknown_q)} judgement(s) name queries missing from queries.jsonl "
                     f"(e.g. '{unknown_q[0]}'); left out")
    if unknown_d:
        notes.append(f"{qrels_path}: {len(unknown_d)} judgement(s) name documents missing from corpus.jsonl "
                     f"(e.g. '{unknown_d[0]}'); left out")
    if not pairs:
        raise InputError(f"{qrels_path}: no usable judgement ({judged} with a grade above 0; "
                         f"{len(unknown_q)} name unknown queries, {len(unknown_d)} unknown documents)")
    counts = {"judgements": judged, "unknown_queries": len(unknown_q), "unknown_documents": len(unknown_d)}
    return pairs, corpus, counts, notes


def key_sentence(text: str, idf: dict[str, float], default_idf: float) -> tuple[str, str] | None:
    """``(sentence, rest)``: the sentence of ``text`` with the rarest words (mean IDF) and the text without it."""
    from ragtune.generation.text import split_sentences

    best, best_score = None, -1.0
    for s in split_sentences(text):
        terms = words(s.text)
        if not 5 <= len(terms) <= 60:
            continue
        score = sum(idf.get(w, default_idf) for w in terms) / len(terms)
        if score > best_score:
            best, best_score = s, score
    if best is None:
        return None
    rest = (text[:best.start] + text[best.end:]).strip()
    return (best.text, rest) if len(words(rest)) >= 8 else None


_QUESTION_PROMPT = ("Write one short search query that a user could type to find the passage below. It must be answerable "
                    "from the passage. Reply with the query only.\n\nPassage:\n{text}")


def _clean_question(text: str) -> str | None:
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:\d+[.)]|[-*]|query:|question:)\s*", "", line, flags=re.IGNORECASE).strip().strip('"').strip()
    return line if 3 <= len(words(line)) <= 64 else None


def synthetic_pairs(chunks: list[ChunkRecord], samples: int, seed: int, generator: Any = None,
                    notify: Notify | None = None) -> tuple[list[Pair], dict[str, int]]:
    """Synthetic pairs from sampled chunks (see the module docstring); ``generator`` writes questions when given."""
    rng = random.Random(seed)
    usable = [c for c in chunks if len(words(c.text)) >= 12]
    picked = rng.sample(usable, min(samples, len(usable)))
    df: Counter[str] = Counter()
    for c in chunks:
        df.update(set(words(c.text)))
    n = max(1, len(chunks))
    idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in df.items()}
    default_idf = math.log(n + 1)
    pairs: list[Pair] = []
    counts: Counter[str] = Counter()
    seen_heads: set[tuple[str, str]] = set()
    options = None
    for i, c in enumerate(picked, start=1):
        if generator is not None:
            from ragtune.generation.base import GenerateOptions, Prompt

            options = options or GenerateOptions(max_new_tokens=48, temperature=0.0, stop=["\n\n"])
            try:
                reply = generator.generate(Prompt(messages=[{"role": "user",
                                                             "content": _QUESTION_PROMPT.format(text=c.index_text)}]), options)
                question = _clean_question(reply.text)
            except Exception as exc:  # noqa: BLE001 - a failed call falls back to the offline pairs for this chunk
                question, counts["generator_errors"] = None, counts["generator_errors"] + 1
                if counts["generator_errors"] == 1 and notify:
                    notify(f"the generator failed ({type(exc).__name__}: {exc}); falling back to offline pairs where it fails")
            if question:
                pairs.append(Pair(query_id=f"{c.chunk_id}~q", query=question, positive_id=c.chunk_id, positive=c.index_text,
                                  positive_doc=c.doc_id, where=c.chunk_id))
                counts["generated"] += 1
                continue
            counts["generator_rejected"] += 1
        if c.headings:
            head = c.headings[-1].strip()
            if len(words(head)) >= 3 and (c.doc_id, head) not in seen_heads:
                seen_heads.add((c.doc_id, head))
                pairs.append(Pair(query_id=f"{c.chunk_id}~h", query=head, positive_id=f"{c.chunk_id}~h", positive=c.text,
                                  positive_doc=c.doc_id, where=c.chunk_id))
                counts["heading"] += 1
        found = key_sentence(c.text, idf, default_idf)
        if found:
            sentence, rest = found
            body = (" / ".join(c.headings) + "\n" + rest) if c.headings else rest
            pairs.append(Pair(query_id=f"{c.chunk_id}~s", query=sentence, positive_id=f"{c.chunk_id}~s", positive=body,
                              positive_doc=c.doc_id, where=c.chunk_id))
            counts["key_sentence"] += 1
        if notify and i % 200 == 0:
            notify(f"synthetic pairs: {i}/{len(picked)} chunks")
    counts["chunks_sampled"] = len(picked)
    return pairs, dict(counts)
