"""The error tree: every error class lives in ``ragtune.errors``; exit codes and HTTP statuses follow the tree."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import ragtune.errors as errors
from ragtune.errors import ChunkNotFoundError, InputError, QuestionError, RagtuneError, StoreError

SRC = Path(__file__).resolve().parents[1] / "src" / "ragtune"
HTTP_LEVEL = {"HTTPProblem", "BodyTooLarge"}  # the HTTP face's own refusals (401, 413 while streaming), not ragtune errors

TREE = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, RagtuneError)]


def _error_classes_outside() -> list[str]:
    found = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name not in HTTP_LEVEL:
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    found.append(f"{path.relative_to(SRC)}:{node.name}")
    return found


def test_every_error_class_is_defined_in_ragtune_errors():
    assert _error_classes_outside() == []


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_exit_code_is_2_for_bad_input_and_1_otherwise(cls):
    assert cls.exit_code == (2 if issubclass(cls, InputError) else 1)


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_every_class_is_drawn_in_the_tree_docstring(cls):
    assert f" {cls.__name__} " in errors.__doc__


@pytest.mark.parametrize("cls", TREE, ids=lambda c: c.__name__)
def test_bad_input_is_a_4xx_status_unless_the_server_lacks_a_setting(cls):
    status = cls.http_status
    assert 400 <= status < 500 or not issubclass(cls, InputError) or cls.__name__ == "MissingKeyError"


def test_store_errors_are_failures_not_bad_input():
    assert StoreError.exit_code == 1 and not issubclass(StoreError, InputError)


def test_a_reader_racing_a_reingest_is_a_store_error():
    assert issubclass(ChunkNotFoundError, StoreError) and not issubclass(ChunkNotFoundError, InputError)


def test_one_question_that_cannot_be_answered_is_bad_input():
    assert QuestionError.exit_code == 2


def test_the_http_face_reads_the_status_the_class_declares():
    from ragtune.http.errors import status_for

    assert [status_for(cls("x")) for cls in TREE] == [cls.http_status for cls in TREE]


def test_moved_classes_are_still_importable_where_they_were():
    from ragtune.documents.loaders.pdf import EncryptedPdfError
    from ragtune.embeddings.onnx_export import ExportError
    from ragtune.index.segments import SegmentError
    from ragtune.components.registry import ModelNotFoundError

    assert (EncryptedPdfError, ExportError, SegmentError, ModelNotFoundError) == (
        errors.EncryptedPdfError, errors.ExportError, errors.SegmentError, errors.ModelNotFoundError)
