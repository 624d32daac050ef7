"""Run every benchmark in bench/ (each ``bench/*.py`` but this one) as its own process, going on past failures.

    python bench/run_all.py              # all of them; exit 1 if any failed
    python bench/run_all.py scaling      # only the named ones
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(names: list[str]) -> list[Path]:
    """The benchmark scripts to run: all of ``bench/*.py`` except this file and helper modules (``_*.py``), or only ``names``."""
    found = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    return [p for p in found if not names or p.stem in names]


def main(argv: list[str]) -> int:
    chosen = scripts(argv)
    unknown = set(argv) - {p.stem for p in chosen}
    if unknown:
        print(f"no benchmark named {', '.join(sorted(unknown))} in {HERE}", file=sys.stderr)
        return 2
    outcomes = []
    for script in chosen:
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        outcomes.append((script.name, code, time.perf_counter() - start))
    print("== summary")
    for name, code, seconds in outcomes:
        print(f"{name:<28} {'ok' if code == 0 else f'FAILED (exit {code})':<16} {seconds:7.0f} s")
    return 1 if any(code for _, code, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
