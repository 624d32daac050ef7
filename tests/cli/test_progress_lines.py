"""Plain progress lines for pipes: how far a stage is, with the measured rate and the time left."""

from ragtune.cli.progress_lines import duration, progress_line


def test_a_stage_under_way_reports_its_rate_and_time_left():
    assert progress_line("base", 8, 16, 20) == "base: 8/16 (50%) in 20 s, 0.40/s, about 20 s left"


def test_a_finished_stage_says_it_is_done():
    assert progress_line("rag", 4, 4, 13) == "rag: 4/4 (100%) in 13 s, done"


def test_a_stage_with_nothing_done_has_no_rate_yet():
    assert progress_line("base", 0, 4, 5) == "base: 0/4 (0%) in 5 s"


def test_durations_read_naturally():
    assert [duration(42), duration(185), duration(3720)] == ["42 s", "3 min 5 s", "1 h 2 min"]
