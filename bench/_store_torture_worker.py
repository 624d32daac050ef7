"""A writer process for ``store_torture.py``: runs the ingests it reads on stdin, one JSON reply each; with a kill
point, it SIGKILLs itself there (see ``KILL_POINTS`` in ``store_torture.py``)."""

from __future__ import annotations

import json
import os
import signal
import sys


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    """Patch the ingest path so that the process dies at ``point``."""
    from ragtune.index import lancedb, lancedb_commit, manifest_files, sync

    if point == "create":
        real_begin = manifest_files.ManifestFiles.begin_creation

        def begin(self):
            real_begin(self)
            die()
        manifest_files.ManifestFiles.begin_creation = begin
    elif point == "prepare":
        sync._prepare = lambda *a, **k: die()
    elif point == "segment":
        lancedb_commit.SegmentWriter.add = lambda *a, **k: die()
    elif point in ("manifest_copy", "swap"):
        real_write = manifest_files.write_text_atomic

        def write(path, text, **kwargs):
            if point == "swap" or path.parent.name != "manifests":
                real_write(path, text, **kwargs)
            if '"generation": 0,' not in text and (path.parent.name == "manifests") == (point == "manifest_copy"):
                die()
        manifest_files.write_text_atomic = write
    elif point == "collect":
        lancedb.collect = lambda *a, **k: die()


def main() -> None:
    home, ann, kill = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig
    from ragtune.errors import RagtuneError

    if kill:
        arm(kill["at"])
    print("ready", flush=True)
    for line in sys.stdin:
        task = json.loads(line)
        ws = Workspace(RagtuneConfig.load({"home": home, "index": {"ann_threshold": ann}}))
        try:
            report = ws.ingest(task["paths"], task["index"])
            reply = {"ok": True, **report.to_json()}
        except RagtuneError as exc:
            reply = {"ok": False, "error": str(exc)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
