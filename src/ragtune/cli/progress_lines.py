"""Progress as plain lines where no progress bar can be drawn (a pipe, a log file, CI): how far a stage is, its
measured rate and the time left at that rate."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def progress_line(stage: str, done: int, total: int, elapsed: float) -> str:
    """``base: 8/16 (50%) in 40 s, 0.20/s, about 40 s left`` (``done`` at the end)."""
    share = f"{done}/{total} ({100 * done // max(total, 1)}%) in {duration(elapsed)}"
    if done >= total:
        return f"{stage}: {share}, done"
    if done == 0 or elapsed <= 0:
        return f"{stage}: {share}"
    rate = done / elapsed
    return f"{stage}: {share}, {rate:.2f}/s, about {duration((total - done) / rate)} left"
