"""Embedding through onnxruntime and tokenizers alone: no torch, transformers or sentence-transformers.

``open_export(folder, precision, threads, load_model)`` gives a checked ``OnnxEncoder`` for an export folder
(``ragtune.embeddings.onnx_export``), making the export first when there is none (that is where torch loads,
through ``load_model``) and the int8 model when int8 is asked for. A new export must embed the probe texts as torch
did (its vectors are recorded when the export is made), and every opening checks two of them again; an export that
cannot be made, read or matched raises ``ExportError``, and the embedder falls back to torch.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ragtune.embeddings.onnx_export import (MIN_COSINE, MODEL_FILES, TOKENIZER, ExportError, export_model, mark_unusable,
                                            quantize_int8, read_meta, unusable_marker)


class OnnxEncoder:
    """Tokenizes with the export's tokenizer, runs its ONNX model, truncates to ``truncate_dim`` and normalises."""

    def __init__(self, folder: Path, precision: str, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = read_meta(folder)
        if meta is None:
            raise ExportError(f"{folder}: no {MODEL_FILES[precision]} export of this format")
        self.meta, self.precision = meta, precision
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / MODEL_FILES[precision]), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.tokenizer.enable_truncation(int(meta["max_length"]), direction=meta["truncation_side"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dimension = int(meta["dimension"])

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit float32 vectors of ``texts``. Each text runs alone, unpadded: its vector never depends on the texts
        beside it (int8 scales its activations per run), and on a CPU no time goes to padding (``batch_size`` only
        bounds how many texts are tokenized at once)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), max(1, batch_size)):
            for offset, encoding in enumerate(self.tokenizer.encode_batch(list(texts[start:start + batch_size]))):
                out[start + offset] = self._one(encoding)
        return out

    def _one(self, encoding: Any) -> np.ndarray:
        columns = {"input_ids": encoding.ids, "attention_mask": encoding.attention_mask, "token_type_ids": encoding.type_ids}
        feed = {name: np.asarray([columns[name]], dtype=np.int64) for name in self.inputs}
        vector = np.asarray(self.session.run(None, feed)[0][0], dtype=np.float32)
        if self.meta.get("truncate_dim"):
            vector = vector[: int(self.meta["truncate_dim"])]
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def check(self, quick: bool = False) -> None:
        """``ExportError`` unless the probe texts embed as torch embedded them (cosine at least ``MIN_COSINE``);
        ``quick``: the first two probes only (a stored export at each opening; a new one is checked on them all)."""
        probes = self.meta["probes"]
        count = 2 if quick else len(probes["texts"])
        expected = np.asarray(probes["vectors"][:count], dtype=np.float32)
        got = self.encode(probes["texts"][:count], batch_size=1)
        if got.shape != expected.shape:
            raise ExportError(f"the export makes {got.shape[1]}-d vectors, torch {expected.shape[1]}-d")
        worst = float(np.min(np.sum(got * expected, axis=1)))
        if not worst >= MIN_COSINE[self.precision]:  # also catches NaN
            raise ExportError(f"the {self.precision} export differs from torch (lowest cosine on the probe texts "
                              f"{worst:.4f}, tolerance {MIN_COSINE[self.precision]})")


def open_export(folder: Path, precision: str, threads: int, load_model: Callable[[], Any]) -> OnnxEncoder:
    """The checked encoder of ``folder`` at ``precision``, exporting with ``load_model()`` (torch) when there is no
    export yet; ``ExportError`` (with the reason) when none can be made or used."""
    for marker in {unusable_marker(folder, "fp32"), unusable_marker(folder, precision)}:
        if marker.is_file():
            raise ExportError(marker.read_text(encoding="utf-8", errors="replace").strip() + f" (recorded in {marker})")
    if read_meta(folder) is None:
        _made(folder, "fp32", threads, lambda: export_model(load_model(), folder))
    if precision != "fp32" and not (folder / MODEL_FILES[precision]).is_file():
        _made(folder, precision, threads, lambda: quantize_int8(folder))
    try:
        encoder = OnnxEncoder(folder, precision, threads)
        encoder.check(quick=True)
        return encoder
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - a stored export that no longer loads or matches: made again next time
        stale = folder / MODEL_FILES[precision]
        if precision == "fp32":
            shutil.rmtree(folder, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        raise ExportError(f"the stored ONNX model {stale} is unusable ({_reason(exc)}); it is removed and will be "
                          "made again") from exc


def _made(folder: Path, precision: str, threads: int, make: Callable[[], None]) -> None:
    """Make the ``precision`` model of ``folder`` and check it against torch; a failure is recorded in the folder
    (so no later process tries again) and raised as ``ExportError``."""
    try:
        make()
        OnnxEncoder(folder, precision, threads).check()
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - a model the exporter or onnxruntime cannot handle, or a mismatch
        reason = f"no usable {precision} ONNX export of this model in {folder}: {_reason(exc)}"
        mark_unusable(folder, precision, reason)
        raise ExportError(reason) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ExportError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
