"""The eval cache under concurrent writers: two processes writing the same keys at once (two candidates side by side,
or two runs over one workspace) leave every entry whole, one writer's or the other's, and no temporary file."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from ragtune.evaluation.cache import GenerationCache, cache_key

KEYS = [cache_key({"question": f"q{i}"}) for i in range(40)]


def _write(root: str, writer: int, rounds: int) -> None:
    cache = GenerationCache(root, "answers")
    for round_ in range(rounds):
        for key in KEYS:
            cache.put(key, {"writer": writer}, {"answer": f"writer {writer} " + "x" * 2000, "round": round_})


def test_two_writers_at_once_leave_every_entry_whole(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write, args=(str(tmp_path), n, 5)) for n in (1, 2)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
    assert [p.exitcode for p in writers] == [0, 0]
    cache = GenerationCache(tmp_path, "answers")
    values = [cache.get(key) for key in KEYS]
    assert all(v is not None and v["answer"].startswith(("writer 1 ", "writer 2 ")) for v in values)
    assert all(len(v["answer"]) == len("writer 1 ") + 2000 for v in values if v is not None)
    assert not [p for p in (tmp_path / "answers").rglob("*") if p.is_file() and p.suffix != ".json"]
