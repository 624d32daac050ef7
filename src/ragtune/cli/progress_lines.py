"""Progress as plain lines on stderr where no progress bar can be drawn (a pipe, a log file, CI): every ``every_s``
seconds a stage reports how far it is, its measured rate and the time left at that rate."""

from __future__ import annotations

import time
from typing import Callable


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class ProgressLines:
    """A ``(stage, done, total)`` callback writing a line per stage at most every ``every_s`` seconds, and one when a
    stage that has reported ends; nothing for stages done sooner."""

    def __init__(self, write: Callable[[str], None], every_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.write, self.every_s, self.clock = write, every_s, clock
        self._started: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        started = self._started.setdefault(stage, now)
        if done == 0 and now == started:
            return
        last = self._last.get(stage, started)
        if now - last < self.every_s and not (done >= total and stage in self._last):
            return
        self._last[stage] = now
        self.write(self.line(stage, done, total, now - started))

    @staticmethod
    def line(stage: str, done: int, total: int, elapsed: float) -> str:
        """``base: 8/16 (50%) in 40 s, 0.20/s, about 40 s left`` (``done`` at the end)."""
        share = f"{done}/{total} ({100 * done // max(total, 1)}%) in {duration(elapsed)}"
        if done >= total:
            return f"{stage}: {share}, done"
        if done == 0 or elapsed <= 0:
            return f"{stage}: {share}"
        rate = done / elapsed
        return f"{stage}: {share}, {rate:.2f}/s, about {duration((total - done) / rate)} left"
