"""Charts where a picture beats numbers (plotext through textual-plotext, one `plt` per widget).

`MetricChart.show(ChartData)` draws one metric's history against clock time,
its threshold(s) as horizontal lines and the analysis decisions as vertical
lines; `UpliftChart.show(UpliftData)` draws an experiment's cumulative uplift
with its interval over its whole life, and the day significance is expected.
Both redraw only when the data they are given changes (`draws` counts it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual_plotext import PlotextPlot

from app.history import Mark

#: Colours of the decision marks, and what the legend calls them.
MARK_COLORS = {
    "step": "cyan",
    "check-failed": "orange",
    "rollback": "red",
    "failed": "red",
    "switch-back": "red",
    "promote": "green",
    "succeeded": "green",
    "switch": "green",
}
MARK_NAMES = {"cyan": "step", "orange": "failed check", "red": "rollback", "green": "promotion"}
#: The same colours as terminal (Rich) styles, for the legend.
RICH = {"cyan": "cyan", "orange": "dark_orange", "red": "red", "green": "green", "white": "white"}


def clock_label(t: float, spacing: float = 60.0) -> str:
    """A tick's clock time, as precise as ticks `spacing` seconds apart need to differ (and the day past a day)."""
    fmt = "%H:%M:%S" if spacing < 60 else ("%b %d %H:%M" if spacing >= 6 * 3600 else "%H:%M")
    return time.strftime(fmt, time.gmtime(t))


@dataclass(frozen=True)
class ChartData:
    title: str
    unit: str
    points: tuple[tuple[float, float | None], ...]
    low: float | None = None  # the check's minimum (success rate ≥ 99)
    high: float | None = None  # the check's maximum (latency ≤ 500)
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True)
class UpliftData:
    title: str
    start: float  # clock time of the experiment's first point
    days: tuple[float, ...]  # days since `start`
    estimate: tuple[float, ...]  # relative uplift, percent
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    expected_day: float | None = None  # day since start when significance is expected (None: cannot tell)


class _Chart(PlotextPlot):
    DEFAULT_CSS = "_Chart { height: 12; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: object | None = None
        self.draws = 0

    def _changed(self, data: object) -> bool:
        if data == self.data:
            return False
        self.data = data
        self.draws += 1
        self.plt.clear_figure()
        return True


class MetricChart(_Chart):
    def show(self, data: ChartData) -> None:
        if not self._changed(data):
            return
        plt = self.plt
        plt.title(f"{data.title} ({data.unit})" if data.unit else data.title)
        known = [(t, v) for t, v in data.points if v is not None]
        if not known:
            plt.title(f"{data.title}: no data yet")
            self.refresh()
            return
        origin = known[0][0]
        xs = [(t - origin) / 60 for t, _ in known]
        for segment in segments(data.points):  # a metrics outage is a gap, not a line across it
            plt.plot([(t - origin) / 60 for t, _ in segment], [v for _, v in segment], marker="braille", color="cyan+")
        for limit in (data.low, data.high):
            if limit is not None:
                plt.hline(limit, "red")
        for mark in data.marks:
            if mark.t >= origin:
                plt.vline((mark.t - origin) / 60, MARK_COLORS.get(mark.kind, "white"))
        _time_axis(plt, origin, xs[-1] if xs else 0.0)
        values = [v for _, v in known] + [x for x in (data.low, data.high) if x is not None]
        pad = (max(values) - min(values)) * 0.1 or 1.0
        plt.ylim(min(values) - pad, max(values) + pad)
        self.refresh()


class UpliftChart(_Chart):
    DEFAULT_CSS = "UpliftChart { height: 16; }"

    def show(self, data: UpliftData) -> None:
        if not self._changed(data):
            return
        plt = self.plt
        if not data.days:
            plt.title(f"{data.title}: not enough history yet (both variants need users)")
            self.refresh()
            return
        expected = (
            ("significance expected on day " + f"{data.expected_day:.1f}")
            if data.expected_day is not None
            else "significance: cannot tell yet"
        )
        plt.title(f"{data.title}: cumulative uplift, % ({expected})")
        days = list(data.days)
        plt.plot(days, list(data.hi), marker="dot", color="gray")
        plt.plot(days, list(data.lo), marker="dot", color="gray")
        plt.plot(days, list(data.estimate), marker="braille", color="cyan+")
        plt.hline(0.0, "white")
        right = max(days[-1] * 2, 1.0)  # the life so far, and as much again ahead
        if data.expected_day is not None and data.expected_day <= right:
            plt.vline(data.expected_day, "green")
            right = max(right, data.expected_day)
        plt.xlabel(
            "days since the experiment started"
            + (" (the expected day is further right)" if data.expected_day and data.expected_day > right else "")
        )
        plt.xlim(0.0, right)
        self.refresh()


def segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """The runs of points that have a value, split where a value is missing."""
    out: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None:
            if out[-1]:
                out.append([])
        else:
            out[-1].append((t, v))
    return [run for run in out if run]


def _time_axis(plt: Any, origin: float, last_minute: float, ticks: int = 5) -> None:
    span = max(last_minute, 1.0)
    positions = [span * i / (ticks - 1) for i in range(ticks)]
    plt.xticks(positions, [clock_label(origin + p * 60, span * 60 / (ticks - 1)) for p in positions])
    plt.xlim(0.0, span)


def legend(kinds: Sequence[str]) -> list[tuple[str, str]]:
    """(colour, name) of each kind of mark present, in a stable order."""
    colours = {MARK_COLORS.get(k, "white") for k in kinds}
    return [(RICH[c], n) for c, n in MARK_NAMES.items() if c in colours]
