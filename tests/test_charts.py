import re
import xml.etree.ElementTree as ET

from ragtune.charts import Plot, nice_ticks


def _plot() -> Plot:
    return Plot("t <1>", "a & b", 400, 200, (50, 50, 20, 30))


def test_a_log_scale_maps_each_decade_to_the_same_width():
    x = _plot().scales((1.0, 1000.0), (0.0, 1.0), log_x=True)[0]
    assert x(10.0) - x(1.0) == x(1000.0) - x(100.0) == (x.end - x.start) / 3


def test_a_log_scale_ticks_at_the_powers_of_ten_inside_it():
    assert _plot().scales((0.5, 2000.0), (0.0, 1.0), log_x=True)[0].ticks() == [1.0, 10.0, 100.0, 1000.0]


def test_a_linear_y_scale_puts_zero_at_the_bottom_of_the_plot():
    plot = _plot()
    assert plot.scales((0.0, 1.0), (0.0, 1.0))[1](0.0) == plot.bottom


def test_a_point_whisker_spans_its_interval():
    plot = _plot()
    y = plot.scales((0.0, 1.0), (0.0, 1.0))[1]
    plot.point(100.0, y(0.5), (y(0.25), y(0.75)), "#123456", "rag")
    whisker = ET.fromstring(plot.svg()).find("{http://www.w3.org/2000/svg}line")
    assert whisker is not None and (float(whisker.get("y1", 0)), float(whisker.get("y2", 0))) == (132.5, 57.5)


def test_a_bar_whisker_spans_its_interval():
    plot = _plot()
    plot.hbar(20.0, 10.0, 200.0, (180.0, 220.0), "#123456", "rag", "0.5")
    assert re.search(r'd="M180 25.0H220M180 20.0V30.0M220 20.0V30.0"', plot.svg())


def test_text_is_escaped_and_the_chart_is_well_formed():
    plot = _plot()
    plot.axes("x <cost>", "y & quality")
    svg = plot.svg()
    assert "&lt;cost&gt;" in svg and 'aria-label="a &amp; b"' in svg
    assert ET.fromstring(svg).tag.endswith("svg")


def test_nice_ticks_reach_the_top_in_round_steps():
    assert nice_ticks(9.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]


def test_labels_of_points_close_together_do_not_overlap():
    plot = _plot()
    first = plot.free_line(900.0, 100.0, 42.0)
    second = plot.free_line(910.0, 100.0, 21.0)  # a point 10 px to the right, same height
    elsewhere = plot.free_line(300.0, 100.0, 42.0)
    assert first == 100.0
    assert second == 86.0  # moved up one line
    assert elsewhere == 100.0


def test_a_short_linear_scale_ticks_at_whole_numbers():
    assert _plot().scales((0.0, 12.0), (0.0, 1.0))[0].ticks() == list(range(13))
