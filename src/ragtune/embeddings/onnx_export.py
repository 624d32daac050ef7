"""ONNX exports of sentence-transformers embedders: made once with torch, then run without it.

An export folder holds:

- ``model.onnx``: the whole pipeline as sentence-transformers runs it, token ids in, sentence embedding out
  (transformer, pooling, and any dense or normalise module), traced from the loaded model;
- ``tokenizer.json``: the model's fast tokenizer as sentence-transformers configured it (lower-casing included);
- ``export.json``: the sequence length and truncation side, the output dimension and ``truncate_dim``, and torch's
  vectors of the probe texts, against which every use of the folder is checked;
- ``model.int8.onnx`` once int8 is asked for: the weights of every MatMul quantised to 8 bits, per channel
  (``onnxruntime.quantization.quantize_dynamic``; no torch needed).

A folder is written beside its final place and renamed into it, so readers see a whole export or none. An export
that fails or differs from torch leaves ``unusable-<precision>.txt`` with the reason, so later processes go
straight to torch instead of exporting again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ragtune.common import read_json, write_text_atomic
from ragtune.errors import ExportError
from ragtune.errors import InputError

FORMAT = 1
META = "export.json"
TOKENIZER = "tokenizer.json"
MODEL_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
# Lowest cosine between an export's vector and torch's on any probe text: fp32 must be the same model; int8 moves
# vectors by quantisation noise (0.98 or more on MiniLM), and anything below this is a broken model.
MIN_COSINE = {"fp32": 0.999, "int8": 0.95}
PROBES = [
    "How do I rotate API keys?",
    "x",
    "",
    "Ünïcödé — text 東京 ✓, numbers 3.14 and URLs https://example.com/a?b=c",
    "Vitamin C does not prevent the common cold, but it may shorten it slightly in adults who take it daily.",
    " ".join(["Long passages are cut at the model's sequence length before they are embedded."] * 40),
]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def unusable_marker(folder: Path, precision: str) -> Path:
    return folder / f"unusable-{precision}.txt"


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The export's ``export.json``, or None when there is none of this format."""
    try:
        meta = read_json(folder / META, "ONNX export record") if (folder / META).is_file() else None
    except InputError:
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == FORMAT else None


def check_exportable(model: Any) -> None:
    """``ExportError`` for a model whose inputs the export cannot reproduce (no fast tokenizer, a default prompt)."""
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ExportError("the model has no fast tokenizer")
    if getattr(model, "default_prompt_name", None):
        raise ExportError(f"the model adds the prompt '{model.default_prompt_name}' to every text")
    if not isinstance(getattr(model, "max_seq_length", None), int):
        raise ExportError("the model has no maximum sequence length")


def export_model(model: Any, folder: Path) -> None:
    """Export the loaded SentenceTransformer ``model`` into ``folder`` with its tokenizer and torch's probe vectors
    (written beside it and renamed into place; a folder another process finished first is kept)."""
    check_exportable(model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        _export_graph(model, staging / MODEL_FILES["fp32"])
        model.tokenizer.backend_tokenizer.save(str(staging / TOKENIZER))
        probes = model.encode(PROBES, batch_size=len(PROBES), normalize_embeddings=True, convert_to_numpy=True,
                              show_progress_bar=False)
        meta = {"format": FORMAT, "max_length": int(model.max_seq_length),
                "truncation_side": model.tokenizer.truncation_side,
                "dimension": int(probes.shape[1]), "truncate_dim": model.truncate_dim,
                "probes": {"texts": PROBES, "vectors": probes.astype(float).round(7).tolist()}}
        (staging / META).write_text(json.dumps(meta), encoding="utf-8")
        _place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``; a whole export already there is kept."""
    try:
        os.rename(staging, folder)
    except OSError:
        if not (folder / META).is_file():
            raise


def _export_graph(model: Any, path: Path) -> None:
    """Trace ``model`` (tokens to sentence embedding) to ONNX at ``path``."""
    import torch

    names = [n for n in _INPUTS if n in model.tokenizer.model_input_names]
    sample = model.tokenizer(["a b", "a longer sample text"], padding=True, return_tensors="pt")
    device = next(model.parameters()).device
    args = tuple(sample[n].to(device) for n in names)

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(dict(zip(names, tensors)))["sentence_embedding"]

    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"sentence_embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pipeline().eval(), args, str(path), input_names=names, output_names=["sentence_embedding"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


def quantize_int8(folder: Path) -> None:
    """Write ``model.int8.onnx`` beside ``model.onnx``: dynamic int8 quantisation of every MatMul, per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = folder / MODEL_FILES["int8"]
    work = Path(tempfile.mkdtemp(prefix=".int8.", dir=folder))  # the quantiser writes beside its input and output
    source, staging = work / MODEL_FILES["fp32"], work / target.name
    try:
        os.link(folder / MODEL_FILES["fp32"], source)
    except OSError:
        shutil.copyfile(folder / MODEL_FILES["fp32"], source)
    root = logging.getLogger()  # the quantiser logs advice through logging.warning, which would configure the root logger
    level, silent = root.level, logging.NullHandler()
    root.setLevel(logging.ERROR)
    root.addHandler(silent)
    try:
        quantize_dynamic(str(source), str(staging), op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QUInt8)
        os.replace(staging, target)
    finally:
        root.removeHandler(silent)
        root.setLevel(level)
        shutil.rmtree(work, ignore_errors=True)


def mark_unusable(folder: Path, precision: str, reason: str) -> None:
    """Record that ``precision`` cannot run from ``folder`` (made for the record alone when it does not exist; the
    caller holds the folder's lock, see ``open_export``)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(unusable_marker(folder, precision), reason)
    except OSError:
        pass  # a read-only cache: this process falls back all the same
