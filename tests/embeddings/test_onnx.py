"""The ONNX path of sentence-transformers embedders, against the torch pipeline of the same model.

The bundled MiniLM is exported once for this module (into a shared cache folder); each test that needs a broken,
missing or mismatching export makes its own folder. Vectors must match torch's (cosine >= 0.999 for fp32), the
identity an index records must not change, and any export that cannot be made, read or matched must leave the
embedder on torch with exactly one warning, never a wrong vector.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from ragtune.api import Workspace
from ragtune.config import EmbedderConfig
from ragtune.embeddings import OnnxFallbackWarning, load_embedder
from ragtune.embeddings.onnx_export import MODEL_FILES, unusable_marker
from ragtune.common import model_key
from ragtune.embeddings.sentence_transformers import bundled_model_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"
LONG = " ".join(f"Sentence {i} of a long report on enzyme kinetics, dosage and outcomes." for i in range(120))
TEXTS = [
    "how do I rotate keys", "rotate", "Rotate API keys every 90 days from the admin console.", "audit log retention",
    "What does the audit log record?", "x", "", "   ", "?", "1234567890", "3.14159 2.71828", "e=mc^2",
    "Vitamin C does not prevent the common cold.", "Ünïcödé — text 東京 ✓", "Привет, как дела?", "مرحبا بالعالم",
    "emoji 🚀🔥 and symbols ∑∫√", "def f(x):\n    return x * 2  # code", "SELECT * FROM users WHERE id = 1;",
    "https://example.com/path?q=1&r=2", "user@example.com", "CamelCaseIdentifiersAndSnake_case_names",
    "THE QUICK BROWN FOX", "the quick brown fox", "tab\tseparated\tvalues", "line one\nline two\n\nline four",
    "Backups run nightly and are kept for thirty days; restores take an hour.",
    "Patients with type 2 diabetes showed lower HbA1c after 12 weeks (p < 0.01).",
    "The mitochondria is the powerhouse of the cell.", "a " * 300, "word " * 600, LONG, LONG[:900], LONG[:2000],
    "-" * 500, "The same sentence. " * 40,
] + [p.strip() for f in sorted(EXAMPLES.glob("*.md")) for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
TEXTS = TEXTS[:60]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_minilm():
    return load_embedder("local", EmbedderConfig(runtime="torch", precision="fp32", threads=1))


@pytest.fixture(scope="module")
def reference(torch_minilm) -> np.ndarray:
    return torch_minilm.embed_documents(TEXTS)


@pytest.fixture(scope="module")
def onnx_minilm(cache):
    return load_embedder("local", EmbedderConfig(onnx_cache=cache, precision="fp32", threads=1))


def export_dir(cache: Path) -> Path:
    return cache / model_key(bundled_model_dir())


def test_fifty_varied_texts_embed_as_with_torch(onnx_minilm, torch_minilm, reference, cache):
    assert len(TEXTS) >= 50
    with warnings.catch_warnings():
        warnings.simplefilter("error", OnnxFallbackWarning)
        docs, queries = onnx_minilm.embed_documents(TEXTS), onnx_minilm.embed_queries(TEXTS)
    assert onnx_minilm.runtime == "onnx"
    assert (export_dir(cache) / MODEL_FILES["fp32"]).is_file()
    assert docs.dtype == np.float32 and docs.shape == reference.shape
    assert cosines(docs, reference).min() >= 0.999
    assert cosines(queries, reference).min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)


def test_the_identity_an_index_records_does_not_change(onnx_minilm, torch_minilm, cache):
    assert onnx_minilm.info == torch_minilm.info and onnx_minilm.info.same_model(torch_minilm.info)
    assert "precision" not in onnx_minilm.info.model_dump_json()  # fp32 indexes read and write as before
    again = load_embedder("local", EmbedderConfig(onnx_cache=cache, precision="fp32", threads=1))
    assert again.info == torch_minilm.info and again._model is None  # read from the export: no model loaded


def test_int8_is_the_default_its_own_precision_close_to_torch(cache, reference, torch_minilm):
    int8 = load_embedder("local", EmbedderConfig(onnx_cache=cache, threads=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", OnnxFallbackWarning)
        docs = int8.embed_documents(TEXTS)
    assert int8.runtime == "onnx" and (export_dir(cache) / MODEL_FILES["int8"]).is_file()
    single = np.stack([int8.embed_query(t) for t in TEXTS[:12]])
    np.testing.assert_allclose(docs[:12], single, rtol=0, atol=1e-6)  # a text's vector does not depend on its batch
    assert int8.info.precision == "int8" and not int8.info.same_model(torch_minilm.info)
    assert '"precision":"int8"' in int8.info.model_dump_json()
    assert cosines(docs, reference).min() >= 0.95
    assert cosines(docs, reference).mean() >= 0.985


def copied_export(cache: Path, tmp_path: Path) -> Path:
    target = tmp_path / "cache"
    shutil.copytree(export_dir(cache), export_dir(target))
    return target


FEW = [0, 2, 5, 6, 13, TEXTS.index(LONG)]  # short, empty, unicode and a text that truncates


def one_fallback(embedder, reference: np.ndarray) -> None:
    """The embedder gives torch's vectors with exactly one OnnxFallbackWarning, however often it is used."""
    reference = reference[FEW]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        docs, queries = embedder.embed_documents([TEXTS[i] for i in FEW]), embedder.embed_queries([TEXTS[i] for i in FEW])
        embedder.embed_query("again")
    fallbacks = [w for w in seen if issubclass(w.category, OnnxFallbackWarning)]
    assert len(fallbacks) == 1, [str(w.message) for w in seen]
    assert "embedding with torch" in str(fallbacks[0].message)
    assert embedder.runtime == "torch"
    np.testing.assert_allclose(docs, reference, atol=1e-5)
    np.testing.assert_allclose(queries, reference, atol=1e-5)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another model"])
def test_a_broken_stored_export_falls_back_to_torch_once(damage, onnx_minilm, cache, reference, tmp_path):
    onnx_minilm.embed_query("made")  # the module's export exists
    broken = copied_export(cache, tmp_path)
    model = export_dir(broken) / MODEL_FILES["fp32"]
    if damage == "garbage":
        model.write_bytes(b"not an onnx model" * 100)
    elif damage == "truncated":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    else:  # loads and runs, but is not the model torch runs
        load_embedder("local", EmbedderConfig(onnx_cache=cache, precision="int8", threads=1)).embed_query("quantise")
        shutil.copyfile(export_dir(cache) / MODEL_FILES["int8"], model)
    one_fallback(load_embedder("local", EmbedderConfig(onnx_cache=broken, precision="fp32", threads=1)), reference)
    assert not export_dir(broken).exists()  # removed: the next process makes it again


def test_an_export_that_differs_from_torch_is_never_used(monkeypatch, tmp_path, reference):
    from ragtune.embeddings import onnx_encoder

    real = onnx_encoder.OnnxEncoder._one
    monkeypatch.setattr(onnx_encoder.OnnxEncoder, "_one", lambda self, encoding: np.roll(real(self, encoding), 1))
    config = EmbedderConfig(onnx_cache=tmp_path / "cache", precision="fp32", threads=1)
    one_fallback(load_embedder("local", config), reference)
    folder = export_dir(tmp_path / "cache")
    assert "differs from torch" in unusable_marker(folder, "fp32").read_text()
    monkeypatch.setattr("ragtune.embeddings.onnx_encoder.export_model", lambda *a: pytest.fail("exported again"))
    one_fallback(load_embedder("local", config), reference)  # recorded: the next embedder goes straight to torch


def test_an_export_that_cannot_be_made_falls_back_to_torch_once(monkeypatch, tmp_path, reference):
    def fail(*args):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr("ragtune.embeddings.onnx_export._export_graph", fail)
    one_fallback(load_embedder("local", EmbedderConfig(onnx_cache=tmp_path / "cache", precision="fp32", threads=1)), reference)
    assert "unsupported operator" in unusable_marker(export_dir(tmp_path / "cache"), "fp32").read_text()


def test_a_truncated_tuned_embedder_matches_torch(tmp_path, torch_minilm):
    from ragtune.components.registry import ModelCard, ModelRegistry

    home = tmp_path / "home"
    registry = ModelRegistry(home)
    staging = registry.staging("short")
    model = torch_minilm.load()
    model.truncate_dim = 128  # as the embedding tuner publishes --dim 128
    try:
        model.save(str(staging / "model"))
    finally:
        model.truncate_dim = None
    registry.publish(staging, ModelCard(kind="embedding", name="short"))
    onnx = Workspace(Workspace().config.model_copy(update={"home": home})).embedder("tuned:short", "fp32")
    torch = load_embedder("tuned:short", EmbedderConfig(runtime="torch", precision="fp32", threads=1), home)
    texts = TEXTS[:12] + [LONG]
    with warnings.catch_warnings():
        warnings.simplefilter("error", OnnxFallbackWarning)
        docs = onnx.embed_documents(texts)
    assert onnx.runtime == "onnx" and (home / "models" / "short" / "v1" / "onnx" / MODEL_FILES["fp32"]).is_file()
    expected = torch.embed_documents(texts)
    assert docs.shape == expected.shape == (len(texts), 128)
    assert cosines(docs, expected).min() >= 0.999
    assert onnx.info == torch.info and onnx.info.dimension == 128


def test_an_int8_index_is_queried_with_int8(tmp_path, cache, config_for):
    built = Workspace(config_for(tmp_path / "home", embedder={"model": "local", "precision": "int8", "onnx_cache": str(cache)}))
    built.ingest([str(EXAMPLES)], "support")
    assert built.index("support").manifest.embedder.precision == "int8"
    reader = Workspace(config_for(tmp_path / "home", embedder={"model": "local", "precision": "fp32", "onnx_cache": str(cache)}))
    assert reader.config.embedder.precision.value == "fp32"
    idx = reader.index("support")
    assert idx.embedder(None).info.precision == "int8"
    assert idx.search("how often are keys rotated", mode="dense")[0].doc_id == "docs/security-policy.md"
    report = idx.reindex("local")  # the configured precision: fp32
    assert report.changed and idx.manifest.embedder.precision == "fp32"


def test_torch_runtime_builds_fp32_unless_told_otherwise():
    assert EmbedderConfig().precision.value == "int8"  # the default: as good as fp32 on SciFact, faster
    assert EmbedderConfig(runtime="torch").precision.value == "fp32"
    assert EmbedderConfig(runtime="torch", precision="int8").precision.value == "int8"



def test_an_embedder_that_runs_torch_names_no_export_folder(tmp_path, monkeypatch):
    """runtime torch at fp32 never looks for an export: the model folder is not walked to name one."""
    import ragtune.embeddings as embeddings

    walked = []
    monkeypatch.setattr(embeddings, "model_key", lambda folder: walked.append(folder) or "key")
    torch_side = load_embedder("local", EmbedderConfig(runtime="torch", threads=1), tmp_path)
    assert torch_side.runtime == "torch" and walked == []
    onnx_side = load_embedder("local", EmbedderConfig(threads=1), tmp_path)
    assert onnx_side.runtime == "onnx" and walked == [bundled_model_dir()]


def test_processes_that_need_the_same_export_at_once_make_it_once(tmp_path):
    """Two processes (as the actors of a Ray ingest) ask for the int8 export of one cache at the same moment: one
    makes it, the other waits and uses it; neither falls back to torch (the quantiser writes a scratch file beside
    its input, which two makers in one folder would corrupt)."""
    import json
    import subprocess
    import sys

    script = ("import json, sys, warnings; from pathlib import Path; from ragtune.config import EmbedderConfig;"
              "from ragtune.embeddings import load_embedder; warnings.simplefilter('error');"
              "e = load_embedder('local', EmbedderConfig(threads=1, onnx_cache=Path(sys.argv[1])), Path(sys.argv[1]));"
              "print(json.dumps([e.runtime, e.embed_query('rotate keys').tolist()]))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "cache")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    (runtime_a, vector_a), (runtime_b, vector_b) = (json.loads(out) for out, _ in outputs)
    assert runtime_a == runtime_b == "onnx" and np.allclose(vector_a, vector_b, atol=1e-6)
    assert not list((tmp_path / "cache").rglob("unusable-*.txt"))
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 1  # no staging folder left behind
