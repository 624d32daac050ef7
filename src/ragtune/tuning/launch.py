"""Training through the standard launchers: ``accelerate launch`` or ``torchrun`` start ``nproc`` processes that each
run the same tuner, data-parallel (DDP; FSDP with ``fsdp``), over gloo on CPUs and NCCL on GPUs.

The job (the workspace configuration, the tuning method and its arguments) is pickled into a folder; every rank
unpickles it and trains (``ragtune.api.launched``); rank 0 alone writes the run, publishes the version, reports
its progress events into ``events.jsonl`` (relayed here) and leaves the card in ``card.json``. The registry and the
card are those of a single-process run, with the world size recorded.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from ragtune.errors import ConfigError, TuningError
from ragtune.tuning.base import TrainingEvent
from ragtune.components.registry import ModelCard

JOB_FILE, EVENTS_FILE, CARD_FILE = "job.pkl", "events.jsonl", "card.json"


class Launcher(str, Enum):
    """Which launcher starts the processes."""

    accelerate = "accelerate"
    torchrun = "torchrun"


@dataclass(frozen=True)
class Launch:
    """How to launch a training: the launcher, the processes on this machine, and FSDP instead of DDP."""

    launcher: Launcher = Launcher.torchrun
    nproc: int = 2
    fsdp: bool = False

    def __post_init__(self) -> None:
        if self.nproc < 1:
            raise ConfigError("--nproc must be at least 1")


@dataclass(frozen=True)
class LaunchedJob:
    """What every rank runs: ``Workspace(config).<method>(*args, progress=...)``."""

    config: Any
    method: str
    args: tuple


def command(launch: Launch, module: str, job_dir: Path) -> list[str]:
    """The launcher's command line that runs ``python -m module job_dir`` in ``launch.nproc`` processes."""
    if launch.launcher is Launcher.accelerate:
        if shutil.which("accelerate") is None and not _has_module("accelerate"):
            raise ConfigError("--launcher accelerate: accelerate is not installed (pip install 'ragtune[tune]')")
        return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(launch.nproc),
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", module, str(job_dir)]
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(launch.nproc), "--nnodes", "1",
            "--standalone", "-m", module, str(job_dir)]


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def run_launched(launch: Launch, module: str, job: LaunchedJob, progress: Callable[[TrainingEvent], None] | None) -> ModelCard:
    """Run ``job`` under ``launch`` and return the card rank 0 published; ``TuningError`` when the launch fails."""
    job_dir = Path(tempfile.mkdtemp(prefix="ragtune-launch-"))
    process: subprocess.Popen | None = None
    try:
        (job_dir / JOB_FILE).write_bytes(pickle.dumps(job))
        env = {**os.environ, "RAGTUNE_FSDP": "1" if launch.fsdp else "0", "PYTHONPATH": _python_path()}
        process = subprocess.Popen(command(launch, module, job_dir), env=env, stdout=sys.stderr)
        relay = _Relay(job_dir / EVENTS_FILE, progress)
        while process.poll() is None:
            relay.forward()
            time.sleep(0.2)
        relay.forward()
        card = job_dir / CARD_FILE
        if process.returncode != 0 or not card.is_file():
            raise TuningError(f"the launched training ({launch.launcher.value}, {launch.nproc} processes) failed with exit code "
                              f"{process.returncode}; its output is above (the run is kept; --resume continues it)")
        return ModelCard.model_validate_json(card.read_text(encoding="utf-8"))
    except KeyboardInterrupt:
        if process is not None:
            process.wait()  # the ranks got the same interrupt: no version is published
        raise
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _python_path() -> str:
    """``PYTHONPATH`` with the folder ragtune is imported from first, so every rank runs this ragtune."""
    here = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([here, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])


class _Relay:
    """Forwards the events rank 0 appends to ``events.jsonl`` to ``progress``."""

    def __init__(self, path: Path, progress: Callable[[TrainingEvent], None] | None) -> None:
        self.path, self.progress, self.offset = path, progress, 0

    def forward(self) -> None:
        if self.progress is None or not self.path.is_file():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            if line.strip():
                self.progress(TrainingEvent(**json.loads(line)))
