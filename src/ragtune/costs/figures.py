"""A cost figure with what it rests on: ``measured`` here, ``stated`` by the user (a flag, ``--prices``, a config
file), ``assumed`` (a dated default or a rule of thumb) or ``unknown`` (no price), and where it came from.

``Figures`` keeps the figures of one candidate (or one measurement) by name, in order; ``to_json`` writes each as
``{"value", "basis", "source"}`` (with ``ci95`` where there is an interval), the shape every report reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Basis(str, Enum):
    """What a figure rests on."""

    measured = "measured"
    stated = "stated"
    assumed = "assumed"
    unknown = "unknown"


@dataclass(frozen=True)
class Figure:
    """One labelled figure: its value (None: unknown), what it rests on and where it came from."""

    value: Any
    basis: Basis
    source: str
    ci95: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "basis": self.basis.value, "source": self.source}
        if self.ci95 is not None:
            out["ci95"] = list(self.ci95)
        return out


def stated_or_assumed(stated: bool) -> Basis:
    return Basis.stated if stated else Basis.assumed


class Figures:
    """The named figures of one costing, in the order they were found."""

    def __init__(self) -> None:
        self.items: dict[str, Figure] = {}

    def add(self, name: str, value: Any, basis: Basis | str, source: str, ci95: tuple[float, float] | None = None) -> Figure:
        figure = Figure(value, Basis(basis), source, ci95)
        self.items[name] = figure
        return figure

    def put(self, name: str, figure: Figure) -> Figure:
        self.items[name] = figure
        return figure

    @property
    def assumed(self) -> list[str]:
        """The assumed figures in words (``name = value: source``)."""
        return [f"{name} = {f.value}: {f.source}" for name, f in self.items.items() if f.basis is Basis.assumed]

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {name: f.to_json() for name, f in self.items.items()}
