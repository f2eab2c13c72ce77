"""Cumulative relative uplift of one variant over time, with its interval, in Unicode.

Each column is one instant of the experiment's history (stretched to the
width): the interval is a shaded band, the estimate a line, zero a dotted
rule. It draws at whatever width it gets, so it fits 80 columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual.content import Content
from textual.widget import Widget

from app.model import ExperimentPoint
from app.stats import compare
from widgets.formatting import duration

BAND, LINE, ZERO = "░", "━", "┄"
LABEL_WIDTH = 8


@dataclass(frozen=True)
class UpliftPoint:
    t: float
    estimate: float  # relative uplift, fraction (0.1 = +10%)
    lo: float
    hi: float


def uplift_series(
    history: Sequence[ExperimentPoint], control: str, variant: str, *, sequential: bool = True
) -> list[UpliftPoint]:
    """The relative uplift of `variant` over `control` at every point where both have data."""
    out = []
    for point in history:
        by_name = {v.name: v for v in point.variants}
        a, b = by_name.get(control), by_name.get(variant)
        if a is None or b is None or not a.users or not b.users:
            continue
        rel = compare((a.users, a.converters), (b.users, b.converters), sequential=sequential).relative
        if rel is not None:
            out.append(UpliftPoint(point.t, rel.estimate, rel.ci[0], rel.ci[1]))
    return out


def _label(value: float) -> str:
    return f"{value * 100:+.1f}%" if abs(value) >= 1e-9 else "0%"


def plot_lines(points: Sequence[UpliftPoint], width: int, height: int = 7) -> list[Content]:
    """`height` rows of plot plus an axis and a time line, `width` columns in all."""
    cols = max(4, width - LABEL_WIDTH)
    if not points:
        return [Content.styled("not enough history yet: the plot starts once both variants have users", "$text-muted")]
    final = points[-1]
    lo_y = min(0.0, final.lo, *(p.estimate for p in points))
    hi_y = max(0.0, final.hi, *(p.estimate for p in points))
    pad = (hi_y - lo_y) * 0.08 or 0.01
    lo_y, hi_y = lo_y - pad, hi_y + pad
    step = (hi_y - lo_y) / height

    def row_of(y: float) -> int:
        return min(height - 1, max(0, int((hi_y - y) / step)))

    zero_row = row_of(0.0)
    n = len(points)
    grid: list[list[tuple[str, str]]] = [[(" ", "")] * cols for _ in range(height)]
    for c in range(cols):
        p = points[min(n - 1, c * n // cols)]
        top, bottom = row_of(min(p.hi, hi_y)), row_of(max(p.lo, lo_y))
        for r in range(height):
            if r == row_of(p.estimate):
                grid[r][c] = (LINE, "bold $accent")
            elif top <= r <= bottom:
                grid[r][c] = (ZERO if r == zero_row else BAND, "$primary")
            elif r == zero_row:
                grid[r][c] = (ZERO, "$text-muted")
    labels = {0: _label(hi_y - step / 2), height - 1: _label(lo_y + step / 2)}
    labels[zero_row] = "0%"  # the zero rule is labelled zero, even on the top or bottom row
    lines = []
    for r in range(height):
        label = labels.get(r, "")
        lines.append(Content.assemble((f"{label:>{LABEL_WIDTH - 2}} ┤", "$text-muted"), *grid[r]))
    lines.append(Content.styled(" " * (LABEL_WIDTH - 1) + "└" + "─" * cols, "$text-muted"))
    span = final.t - points[0].t
    left, right = f"−{duration(span)}", "now"
    gap = max(1, cols - len(left) - len(right))
    lines.append(Content.styled(" " * LABEL_WIDTH + left + " " * gap + right, "$text-muted"))
    return lines


class UpliftPlot(Widget):
    """The plot for one variant; `show()` it the points and a title."""

    DEFAULT_CSS = """
    UpliftPlot { height: auto; width: 1fr; min-width: 30; padding: 0 1 0 0; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._points: list[UpliftPoint] = []
        self._title = ""
        self.plot_height = 7

    def show(self, points: Sequence[UpliftPoint], title: str) -> None:
        self._points, self._title = list(points), title
        self.refresh(layout=True)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return (self.plot_height + 3) if self._points else 2

    def render(self) -> Content:
        width = self.content_size.width or 76
        head = Content.styled(self._title, "bold")
        return Content("\n").join([head, *plot_lines(self._points, width, self.plot_height)])
