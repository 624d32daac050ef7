"""The documentation site builds with warnings as errors, and the examples marked runnable run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = re.compile(r"<!-- runnable -->\s*\n```(python|bash)\n(.*?)\n```", re.DOTALL)
LINK = re.compile(r"\]\(((?:docs/|examples/)[^)#\s]+)")


def runnable_blocks() -> list[tuple[str, str, str]]:
    """(page, language, code) of every block marked ``<!-- runnable -->`` in docs/ and the README."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [(str(p.relative_to(ROOT)), lang, code) for p in pages for lang, code in RUNNABLE.findall(p.read_text())]


def test_the_docs_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr


def test_every_readme_link_into_the_checkout_exists():
    missing = [link for link in LINK.findall((ROOT / "README.md").read_text()) if not (ROOT / link).exists()]
    assert missing == []


def test_some_examples_are_marked_runnable():
    assert {lang for _, lang, _ in runnable_blocks()} == {"python", "bash"}


@pytest.mark.parametrize("page,lang,code", runnable_blocks(), ids=lambda v: v if isinstance(v, str) and "\n" not in v else "")
def test_a_runnable_example_runs(page, lang, code, tmp_path):
    """Each block runs from a copy of the checkout's examples/ in a fresh workspace (fake embedder, extractive)."""
    work = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples", work / "examples")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "RAGTUNE_HOME": str(tmp_path / "home"), "RAGTUNE_EMBEDDER": "fake:64", "RAGTUNE_MODEL": "extractive",
           "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "src")}
    argv = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]
    proc = subprocess.run(argv, check=False, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{page}: {proc.stderr[-2000:]}"
