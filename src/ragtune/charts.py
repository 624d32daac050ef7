"""The drawing shared by the reports' inline SVG charts: a plot area inside margins, linear or log scales, grid lines
with tick labels, the two axes and their titles, points and bars with interval whiskers. Text passed in is escaped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable, Iterable

AXIS, GRID = "#374151", "#e5e7eb"
COLOURS = {"base": "#6b7280", "prompt": "#6b7280", "rag": "#2563eb", "ft": "#ea580c", "rag+ft": "#16a34a"}  # per approach


@dataclass(frozen=True)
class Scale:
    """A map from data values in ``[lo, hi]`` onto pixels ``start`` to ``end``, linear or by powers of ten."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def _unit(self, v: float) -> float:
        return math.log10(max(v, 1e-9)) if self.log else v

    def __call__(self, v: float) -> float:
        lo, hi = self._unit(self.lo), self._unit(self.hi)
        return self.start + (self._unit(v) - lo) / ((hi - lo) or 1.0) * (self.end - self.start)

    def ticks(self) -> list[float]:
        """Powers of ten on a log scale, whole numbers on a short one from a whole number, round numbers else."""
        lo, hi = self._unit(self.lo), self._unit(self.hi)
        if self.log:
            return [10.0 ** e for e in range(math.floor(lo), math.ceil(hi) + 1) if lo <= e <= hi]
        if hi - lo <= 24 and float(lo).is_integer():
            return list(range(int(lo), int(hi) + 1, max(1, math.ceil((hi - lo) / 12))))
        return [t for t in nice_ticks(hi, 6) if lo <= t <= hi]


def tag(name: str, body: str = "", **attrs: object) -> str:
    """One SVG element; ``font_size`` is written ``font-size``, ``cls`` is written ``class``; ``body`` is escaped."""
    text = "".join(f' {"class" if k == "cls" else k.replace("_", "-")}="{_fmt(v)}"' for k, v in attrs.items())
    return f"<{name}{text}>{escape(body)}</{name}>" if body else f"<{name}{text}/>"


def _fmt(v: object) -> str:
    return f"{v:.1f}".removesuffix(".0") if isinstance(v, float) else escape(str(v))


class Plot:
    """A chart being drawn: its plot area (inside ``margins``: left, right, top, bottom) and the markup so far."""

    def __init__(self, title: str, label: str, width: int, height: int, margins: tuple[int, int, int, int],
                 fluid: bool = False) -> None:
        self.left, right, self.top, bottom = margins
        self.right, self.bottom, self.height = width - right, height - bottom, height
        self.labels: list[tuple[float, float, float]] = []  # point labels drawn so far: x, baseline y, width
        size = 'width="100%" preserveAspectRatio="xMidYMid meet"' if fluid else f'width="{width}" height="{height}"'
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" {size} role="img" '
                      f'aria-label="{escape(label)}" font-family="sans-serif" font-size="11">{tag("title", title)}']

    def scales(self, x: tuple[float, float], y: tuple[float, float], log_x: bool = False) -> tuple[Scale, Scale]:
        """The x and y scales from the data ranges ``x`` and ``y`` onto the plot area (y upwards)."""
        return Scale(*x, self.left, self.right, log_x), Scale(*y, self.bottom, self.top)

    def add(self, *parts: str) -> None:
        self.parts.extend(parts)

    def heading(self, text: str, x: float | None = None) -> None:
        self.add(tag("text", text, x=self.left if x is None else x, y=18, font_size=13, font_weight="bold", cls="t"))

    def y_grid(self, y: Scale, ticks: Iterable[float], label: Callable[[float], str]) -> None:
        """A horizontal grid line and a label left of the axis at each tick."""
        for t in ticks:
            self.add(tag("line", x1=self.left, y1=y(t), x2=self.right, y2=y(t), stroke=GRID, cls="grid"),
                     tag("text", label(t), x=self.left - 6, y=y(t) + 4, text_anchor="end", cls="l"))

    def x_ticks(self, x: Scale, ticks: Iterable[float], label: Callable[[float], str]) -> None:
        """A short tick below the axis and its label at each tick."""
        for t in ticks:
            self.add(tag("line", x1=x(t), y1=self.bottom, x2=x(t), y2=self.bottom + 4, stroke=AXIS),
                     tag("text", label(t), x=x(t), y=self.bottom + 16, text_anchor="middle", cls="l"))

    def axes(self, x_title: str, y_title: str) -> None:
        """The two axis lines, the x title centred below and the y title turned up the left side."""
        mid = (self.top + self.bottom) / 2
        self.add(tag("line", x1=self.left, y1=self.bottom, x2=self.right, y2=self.bottom, stroke=AXIS, cls="axis"),
                 tag("line", x1=self.left, y1=self.top, x2=self.left, y2=self.bottom, stroke=AXIS, cls="axis"),
                 tag("text", x_title, x=(self.left + self.right) / 2, y=self.height - 8, text_anchor="middle", cls="t"),
                 tag("text", y_title, x=14, y=mid, text_anchor="middle", transform=f"rotate(-90 14 {mid})", cls="t"))

    def point(self, x: float, y: float, whisker: tuple[float, float] | None, colour: str, label: str,
              tooltip: str = "", r: int = 5) -> None:
        """A dot at pixel ``(x, y)``, a whisker over the pixel interval ``whisker``, its label clear of those drawn."""
        if whisker:
            self.add(tag("line", x1=x, y1=whisker[0], x2=x, y2=whisker[1], stroke=colour, stroke_width=2))
        dot = tag("circle", cx=x, cy=y, r=r, fill=colour)
        self.add(dot.removesuffix("/>") + f">{tag('title', tooltip)}</circle>" if tooltip else dot,
                 tag("text", label, x=x + 8, y=self.free_line(x + 8, y - 6, 7.0 * len(label)), cls="v"))

    def free_line(self, x: float, y: float, width: float) -> float:
        """The baseline nearest above ``y`` where a label of ``width`` at ``x`` overlaps no label drawn (then taken)."""
        while any(abs(y - ly) < 13 and x < lx + lw and lx < x + width for lx, ly, lw in self.labels):
            y -= 14
        self.labels.append((x, y, width))
        return y

    def hbar(self, y: float, thickness: float, end: float, whisker: tuple[float, float] | None, colour: str,
             label: str, value: str) -> None:
        """A bar from the y axis to pixel ``end`` with ``label`` to its left, a whisker and ``value`` to its right."""
        mid = y + thickness / 2
        self.add(tag("text", label, x=self.left - 6, y=mid + 4, text_anchor="end", cls="l"),
                 tag("rect", x=self.left, y=y, width=end - self.left, height=thickness, fill=colour))
        if whisker:
            lo, hi = (_fmt(v) for v in whisker)
            self.add(tag("path", d=f"M{lo} {mid}H{hi}M{lo} {mid - 5}V{mid + 5}M{hi} {mid - 5}V{mid + 5}", cls="ci",
                         stroke="#111827", fill="none"))
        self.add(tag("text", value, x=max(end, whisker[1] if whisker else 0) + 4, y=mid + 4, cls="v"))

    def legend(self, i: int, colour: str, name: str, line: bool = False) -> None:
        """The ``i``-th legend entry right of the plot: a short line (or a dot) in ``colour``, then the name."""
        x, y = self.right, self.top + 14 + i * 18
        self.add(tag("line", x1=x + 12, y1=y, x2=x + 32, y2=y, stroke=colour, stroke_width=3) if line
                 else tag("circle", cx=x + 22, cy=y, r=5, fill=colour), tag("text", name, x=x + 38, y=y + 4))

    def svg(self) -> str:
        return "".join(self.parts) + "</svg>"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from zero to at least ``top``, about ``count`` steps of 1, 2, 2.5 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    magnitude = 10 ** math.floor(math.log10(top / count))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= top / count)
    return [step * i for i in range(int(math.ceil(top / step)) + 1)]

