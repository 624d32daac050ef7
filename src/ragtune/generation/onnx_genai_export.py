"""ONNX Runtime GenAI exports of local causal LMs: made once by the package's model builder (fp32, CPU) from the
transformers folder, kept beside the embedders' ONNX exports.

An export lives in ``<RAGTUNE_MODEL_CACHE>/onnx`` when that is set, else ``<home>/models/.onnx``, in a folder named
by the model folder's key (its path and every file's name, size and time of change: a changed model is exported
again). The builder writes into a private folder beside it, which is renamed into place once whole, so a reader
sees a whole export or none; a lock keeps two processes from building the same one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ragtune.common import exclusive_lock, model_key
from ragtune.errors import ConfigError

EXTRA_HINT = "the onnx local backend needs onnxruntime-genai and onnx-ir: pip install 'ragtune[onnx-genai]'"
CONFIG_FILE = "genai_config.json"
PRECISION = "fp32"


def onnx_genai_installed() -> bool:
    """Whether onnxruntime-genai and the model builder's onnx-ir can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime_genai", "onnx_ir"))


def export_root(home: Path) -> Path:
    """Where ONNX exports of models live: ``<RAGTUNE_MODEL_CACHE>/onnx``, else ``<home>/models/.onnx``."""
    cache = os.environ.get("RAGTUNE_MODEL_CACHE")
    return (Path(cache) / "onnx" if cache else Path(home) / "models" / ".onnx").resolve()


def export_folder(source: Path, home: Path) -> Path:
    """The export of the transformers folder ``source`` (made now if there is none for its current files)."""
    folder = export_root(home) / f"genai-{PRECISION}-{model_key(source)}"
    if (folder / CONFIG_FILE).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder.parent / f".{folder.name}.lock"):
        if not (folder / CONFIG_FILE).is_file():
            build_export(source, folder)
    return folder


def build_export(source: Path, folder: Path) -> None:
    """Run the model builder on ``source`` into a private folder and rename it to ``folder``; ``ConfigError`` naming
    the model when the builder cannot export it."""
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(staging / "model"),
                   "-p", PRECISION, "-e", "cpu", "-c", str(staging / "cache")]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not (staging / "model" / CONFIG_FILE).is_file():
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
            raise ConfigError(f"local model '{source}': the ONNX Runtime GenAI model builder cannot export it: {reason}")
        os.rename(staging / "model", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
