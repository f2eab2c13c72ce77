"""One metric series: a label with the current value and threshold, and a sparkline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from widgets.formatting import number, sparkline_data, threshold_text

if TYPE_CHECKING:
    from app.model import MetricSeries

SPARK_WIDTH = 40  # cells; every cell is bytes over SSH


def metric_label(series: MetricSeries) -> Content:
    """`request-success-rate  99.20%  ≥ 99  ok`, red when out of range."""
    value = series.current
    ok = series.in_range(value)
    verdict = "ok" if ok else ("NO DATA" if value is None else "BREACH")
    status = "$success" if ok else "bold $error"
    return Content.assemble(
        (series.name, "bold"),
        " ",
        (number(value, series.unit), status),
        " ",
        (f"({threshold_text(series)})", "$text-muted"),
        " ",
        (verdict, status),
    )


class MetricSpark(Widget):
    """Label + sparkline of one series; `-breach` when the current value is out of range."""

    DEFAULT_CSS = """
    MetricSpark { height: 2; layout: vertical; }
    MetricSpark > .metric-label { height: 1; width: 1fr; }
    MetricSpark > Sparkline { width: 40; max-width: 100%; height: 1; }
    MetricSpark > Sparkline > .sparkline--max-color { color: $success; }
    MetricSpark > Sparkline > .sparkline--min-color { color: $success 40%; }
    MetricSpark.-breach > Sparkline > .sparkline--max-color { color: $error; }
    MetricSpark.-breach > Sparkline > .sparkline--min-color { color: $error 50%; }
    """

    def __init__(self, series: MetricSeries, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.series = series

    def compose(self) -> ComposeResult:
        yield Static(metric_label(self.series), classes="metric-label", markup=False)
        yield Sparkline(sparkline_data(self.series, SPARK_WIDTH))

    def on_mount(self) -> None:
        self._apply_breach()
        self.tooltip = self.series.source or None  # the query behind the number

    def show(self, series: MetricSeries) -> None:
        if series == self.series:
            return
        self.series = series
        self.query_one(".metric-label", Static).update(metric_label(series))
        self.query_one(Sparkline).data = sparkline_data(series, SPARK_WIDTH)
        self._apply_breach()
        self.tooltip = series.source or None

    def _apply_breach(self) -> None:
        self.set_class(not self.series.in_range(self.series.current), "-breach")

    @property
    def label_text(self) -> str:
        return metric_label(self.series).plain
