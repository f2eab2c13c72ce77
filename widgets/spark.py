"""A one-line trend of a metric, scaled so that its threshold is inside the drawn range.

A sparkline scaled to its own min/max turns 99.8–100 % into full-height swings
that look like an outage. Here the scale always spans the threshold too, the
threshold's level is drawn as the first cell (`▃│` = "bars above this pass"
for a minimum), every reading outside the range is red, a gap (no data) is a
dot, and the numbers the scale spans are written after the bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    from app.model import MetricSeries


BARS = "▁▂▃▄▅▆▇█"
GAP = "·"


@dataclass(frozen=True)
class Scale:
    lo: float
    hi: float

    def level(self, value: float) -> int:
        """0..7: which bar a value gets."""
        span = self.hi - self.lo
        if span <= 0:
            return len(BARS) // 2
        fraction = (value - self.lo) / span
        return max(0, min(len(BARS) - 1, round(fraction * (len(BARS) - 1))))


def _present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def scale_of(series: MetricSeries, width: int) -> Scale | None:
    """The range the bars span: the readings and every threshold, so the threshold is always in it."""
    points = _present(list(series.values[-width:]))
    points += [t for t in (series.min, series.max) if t is not None]
    if not points:
        return None
    return Scale(min(points), max(points))


def scale_text(scale: Scale, unit: str = "") -> str:
    def one(v: float) -> str:
        return f"{v:.4g}"

    return f"{one(scale.lo)}–{one(scale.hi)}{unit if unit == '%' else ''}"


def spark_content(series: MetricSeries, width: int) -> Content:
    """`▃│▆▇▆▇█▂▁ 97.1–100%`: threshold level, bars (red out of range), the scale."""
    values = list(series.values[-width:])
    scale = scale_of(series, width)
    if scale is None or not values:
        return Content("")
    threshold = series.min if series.min is not None else series.max
    parts: list[tuple[str, str] | str] = []
    if threshold is not None:
        parts += [(BARS[scale.level(threshold)], "$warning"), ("│", "$text-muted")]
    for v in values:
        if v is None or math.isnan(v):
            parts.append((GAP, "$text-muted"))
        else:
            parts.append((BARS[scale.level(v)], "$success" if series.in_range(v) else "bold $error"))
    parts += [" ", (scale_text(scale, series.unit), "$text-muted")]
    return Content.assemble(*parts)


def spark_plain(series: MetricSeries, width: int) -> str:
    return spark_content(series, width).plain


def fitted_content(series: MetricSeries, width: int) -> Content:
    """As many bars as fit in `width` cells next to the threshold cell and the scale text."""
    room = width
    for _ in range(2):  # the scale text depends on the readings drawn, which depend on the room left
        scale = scale_of(series, room)
        room = max(4, width - 3 - (len(scale_text(scale, series.unit)) if scale else 0))
    return spark_content(series, room)


class ThresholdSpark(Widget):
    """The trend of one series as `fitted_content`, redrawn at whatever width it gets."""

    DEFAULT_CSS = """
    ThresholdSpark { height: 1; width: 1fr; }
    """

    series: reactive[MetricSeries | None] = reactive(None)

    def render(self) -> Content:
        if self.series is None:
            return Content("")
        return fitted_content(self.series, self.content_size.width or 40)
