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


def runnable_blocks() -> dict[str, list[tuple[str, str]]]:
    """Per page (docs/ and the README), its (language, code) blocks marked ``<!-- runnable -->``, in page order."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = {str(p.relative_to(ROOT)): RUNNABLE.findall(p.read_text()) for p in pages}
    return {page: blocks for page, blocks in found.items() if blocks}


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
    pages = runnable_blocks()
    assert "README.md" in pages and {lang for blocks in pages.values() for lang, _ in blocks} == {"python", "bash"}


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(runnable_blocks()))
def test_a_pages_runnable_examples_run_in_order(page, tmp_path):
    """A page's blocks run one after another, as a reader would, from a copy of the checkout's examples/ in a fresh
    workspace (fake embedder, extractive generator)."""
    work = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples", work / "examples")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "RAGTUNE_HOME": str(tmp_path / "home"), "RAGTUNE_EMBEDDER": "fake:64", "RAGTUNE_MODEL": "extractive",
           "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "src")}
    for n, (lang, code) in enumerate(runnable_blocks()[page], start=1):
        argv = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]
        proc = subprocess.run(argv, check=False, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{page}, block {n}: {proc.stderr[-2000:]}"
