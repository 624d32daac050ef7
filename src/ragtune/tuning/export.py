"""``models export``: a registry version as a folder that works without ragtune.

Without ``merge`` the folder holds the peft adapter (load it with ``PeftModel.from_pretrained`` on the base
model named in its ``adapter_config.json``); with ``merge`` the adapter is folded into the base weights
and the folder is a standalone transformers checkpoint (``AutoModelForCausalLM.from_pretrained(dir)``).
Either way the card is copied as ``ragtune_card.json``. The folder is written beside its target and renamed
into place, and an existing non-empty folder is never overwritten.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ragtune.common import write_json_atomic
from ragtune.errors import InputError
from ragtune.tuning.generate import load_with_adapter
from ragtune.tuning.tuned import resolve_tuned


def export_model(ref: str, home: Path | str, out: Path | str, merge: bool = False) -> Path:
    """Write ``ref`` (``NAME[@vN]``) to ``out``; returns ``out``."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: already exists and is not an empty folder; choose another --out")
    base, adapter, card = resolve_tuned(ref, home)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if merge:
            model, tokenizer = load_with_adapter(base, adapter, merge=True)
            model.save_pretrained(str(staging))
            tokenizer.save_pretrained(str(staging))
        else:
            shutil.copytree(adapter, staging, dirs_exist_ok=True)
        write_json_atomic(staging / "ragtune_card.json", {**card.model_dump(mode="json"), "exported": {"merged": merge}})
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
