"""Plain progress lines for pipes: a line per long stage every interval, with the measured rate and the time left."""

from ragtune.cli.progress_lines import ProgressLines, duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(steps: list[tuple[float, str, int, int]]) -> list[str]:
    clock, lines = Clock(), []
    progress = ProgressLines(lines.append, every_s=10, clock=clock)
    for at, stage, done, total in steps:
        clock.now = at
        progress(stage, done, total)
    return lines


def test_a_long_stage_reports_its_rate_and_time_left():
    lines = run([(0, "base", 0, 16), (5, "base", 2, 16), (20, "base", 8, 16)])
    assert lines == ["base: 8/16 (50%) in 20 s, 0.40/s, about 20 s left"]


def test_a_stage_that_reported_says_when_it_is_done():
    lines = run([(0, "rag", 0, 4), (12, "rag", 2, 4), (13, "rag", 4, 4)])
    assert lines[-1] == "rag: 4/4 (100%) in 13 s, done"


def test_a_quick_stage_prints_nothing():
    assert run([(0, "base", 0, 4), (1, "base", 2, 4), (2, "base", 4, 4)]) == []


def test_durations_read_naturally():
    assert [duration(42), duration(185), duration(3720)] == ["42 s", "3 min 5 s", "1 h 2 min"]
