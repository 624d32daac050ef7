"""Embedding through onnxruntime and tokenizers alone: no torch, transformers or sentence-transformers.

``open_export(folder, precision, threads, load_model)`` gives a checked ``OnnxEncoder`` for an export folder
(``ragtune.embeddings.onnx_export``), making the export first when there is none (that is where torch loads,
through ``load_model``) and the int8 model when int8 is asked for. A new export must embed the probe texts as torch
did (its vectors are recorded when the export is made), and every opening checks two of them again; an export that
cannot be made, read or matched raises ``ExportError``, and the embedder falls back to torch.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ragtune.common import exclusive_lock
from ragtune.embeddings.onnx_export import (MIN_COSINE, MODEL_FILES, TOKENIZER, ExportError, export_model, mark_unusable,
                                            quantize_int8, read_meta, unusable_marker)


class OnnxEncoder:
    """Tokenizes with the export's tokenizer, runs its ONNX model, truncates to ``truncate_dim`` and normalises."""

    def __init__(self, folder: Path, precision: str, threads: int, meta: dict[str, Any] | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = meta if meta is not None else read_meta(folder)
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
        self.truncate_dim = int(meta["truncate_dim"]) if meta.get("truncate_dim") else None

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
        if self.truncate_dim:
            vector = vector[: self.truncate_dim]
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
    _refuse_marked(folder, precision)
    meta = read_meta(folder)
    if meta is None or not (folder / MODEL_FILES[precision]).is_file():
        made = _make(folder, precision, threads, load_model)
        if made is not None:
            return made
        meta = read_meta(folder)
    try:
        encoder = OnnxEncoder(folder, precision, threads, meta)
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


def _refuse_marked(folder: Path, precision: str) -> None:
    """``ExportError`` with the recorded reason where an earlier attempt found ``precision`` unusable."""
    for marker in {unusable_marker(folder, "fp32"), unusable_marker(folder, precision)}:
        if marker.is_file():
            raise ExportError(marker.read_text(encoding="utf-8", errors="replace").strip() + f" (recorded in {marker})")


def _make(folder: Path, precision: str, threads: int, load_model: Callable[[], Any]) -> OnnxEncoder | None:
    """Make what ``folder`` lacks for ``precision``, one process at a time (every Ray actor of an ingest may ask at
    once; the others wait and use it): the checked encoder of the model made for ``precision``, or None when another
    process made it first."""
    logging.getLogger(__name__).info(f"preparing the embedder's ONNX model in {folder} (once; about a minute)")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(folder.parent / f".{folder.name}.lock"):
            _refuse_marked(folder, precision)
            made = None
            if read_meta(folder) is None:
                made = _made(folder, "fp32", threads, lambda: export_model(load_model(), folder))
            if precision != "fp32" and not (folder / MODEL_FILES[precision]).is_file():
                made = _made(folder, precision, threads, lambda: quantize_int8(folder))
    except OSError as exc:
        raise ExportError(f"cannot make an ONNX export in {folder.parent}: {exc.strerror or exc}") from exc
    return made if made is not None and made.precision == precision else None


def _made(folder: Path, precision: str, threads: int, make: Callable[[], None]) -> OnnxEncoder:
    """Make the ``precision`` model of ``folder`` and check it against torch (its checked encoder); a failure is
    recorded in the folder (so no later process tries again) and raised as ``ExportError``."""
    try:
        make()
        encoder = OnnxEncoder(folder, precision, threads)
        encoder.check()
        return encoder
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
