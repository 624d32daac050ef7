"""What each process of a launched training runs (``python -m ragtune.api.launched JOB_DIR``, started by
``accelerate launch`` or ``torchrun``; see ``ragtune.tuning.launch``): the workspace method of the job, with rank 0
reporting its progress events to ``events.jsonl`` and leaving the published card in ``card.json``."""

from __future__ import annotations

import dataclasses
import json
import pickle
import sys
from pathlib import Path

from ragtune.components.process import prepare_process
from ragtune.api.workspace import Workspace
from ragtune.common import write_json_atomic
from ragtune.tuning.base import TrainingEvent
from ragtune.tuning.launch import CARD_FILE, EVENTS_FILE, JOB_FILE, LaunchedJob
from ragtune.tuning.ranks import is_leader


class _Events:
    """Appends rank 0's training events to ``events.jsonl``, one JSON object a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: TrainingEvent) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(dataclasses.asdict(event)) + "\n")


def main(argv: list[str]) -> int:
    job_dir = Path(argv[0])
    job: LaunchedJob = pickle.loads((job_dir / JOB_FILE).read_bytes())
    leader = is_leader()
    prepare_process(job.config)
    card = getattr(Workspace(job.config), job.method)(*job.args, progress=_Events(job_dir / EVENTS_FILE) if leader else None)
    if leader:
        write_json_atomic(job_dir / CARD_FILE, card.model_dump(mode="json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
