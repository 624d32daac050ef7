"""Cold start: the everyday read commands never import torch, transformers or sentence-transformers;
``search`` and ``ask`` import neither lancedb nor pandas either: they read the index's memory-mapped segments.

An index is built here with the default (bundled MiniLM) embedder, which makes its ONNX export; then one fresh
Python process runs ``indexes``, ``docs``, ``search`` and ``ask -m extractive`` in turn through the CLI app and
reports, after each, which of those modules it has imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ragtune.api import Workspace

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("torch", "transformers", "sentence_transformers")
RUNNER = """
import json, sys
from ragtune.cli import app

report = []
for argv in json.loads(sys.argv[1]):
    code = app(argv, standalone_mode=False)
    loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "sentence_transformers", "onnxruntime", "lancedb", "pandas"})
    report.append({"command": argv[0], "code": code or 0, "loaded": loaded})
print("REPORT " + json.dumps(report))
"""


def test_read_commands_never_import_torch(tmp_path, config_for, example_docs):
    home = tmp_path / "home"
    Workspace(config_for(home, embedder={"model": "local"})).ingest([str(example_docs)], "support")
    commands = [["indexes", "--json"], ["search", "how do I rotate keys", "--index", "support", "--json"],
                ["ask", "How long are audit log entries kept?", "--index", "support", "-m", "extractive", "--json"],
                ["docs", "--index", "support", "--json"]]
    env = {**os.environ, "RAGTUNE_HOME": str(home), "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(commands)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    report = json.loads(next(line for line in lines if line.startswith("REPORT "))[len("REPORT "):])
    assert [r["code"] for r in report] == [0, 0, 0, 0], done.stderr[-3000:]
    for row in report:
        assert not set(row["loaded"]) & set(HEAVY), row
    assert report[0]["loaded"] == []  # listing indexes embeds nothing
    assert report[1]["loaded"] == ["onnxruntime"]  # the query embedding ran through the ONNX export, nothing else
    assert report[2]["loaded"] == ["onnxruntime"]  # searched and answered from the segments: no lancedb, no pandas
    outputs = [json.loads(line) for line in lines if line.startswith(("{", "["))]
    search = next(o for o in outputs if isinstance(o, dict) and o.get("query") == "how do I rotate keys")
    assert search["hits"][0]["doc_id"] == "docs/security-policy.md"
    answer = next(o for o in outputs if isinstance(o, dict) and "answer" in o)
    assert "400 days" in answer["answer"] and answer["citations"]
