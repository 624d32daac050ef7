import json

import pytest

from ragtune.documents.beir import read_beir_jsonl, read_qrels
from ragtune.errors import InputError


def test_read_beir_jsonl_joins_titles_like_the_index(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"_id": 7, "title": " Keys ", "text": " Rotate them. "}) + "\n\n"
                    + json.dumps({"_id": "d2", "text": "No title."}) + "\n", encoding="utf-8")
    assert read_beir_jsonl(path, title=True) == {"7": "Keys\nRotate them.", "d2": "No title."}
    assert read_beir_jsonl(path) == {"7": "Rotate them.", "d2": "No title."}


@pytest.mark.parametrize("line,message", [("{oops", r"corpus.jsonl:2: not valid JSON"),
                                          ('{"text": "x"}', r"corpus.jsonl:2: expected a JSON object with an '_id'"),
                                          ('{"_id": "a"}', r"corpus.jsonl:2: field 'text' is missing")])
def test_read_beir_jsonl_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "ok", "text": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_beir_jsonl(path)
    with pytest.raises(InputError, match="missing"):
        read_beir_jsonl(tmp_path / "queries.jsonl")


def test_read_qrels_is_shared_with_evaluation(tmp_path):
    from ragtune.evaluation import retrieval

    assert retrieval.read_qrels is read_qrels
    path = tmp_path / "q.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    assert read_qrels(path) == {"q1": {"d1": 1}}
