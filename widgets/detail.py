"""The detail pane of the selected rollout: traffic, metrics, images, last decision."""

from __future__ import annotations

from typing import Any, Sequence

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from app.model import MetricSeries, Rollout, Strategy
from widgets.formatting import duration, fraction, image_tail
from widgets.metric_spark import MetricSpark
from widgets.traffic import TrafficSplit

IMAGE_WIDTH = 38  # fits the 50-column pane after the "stable " label

PHASE_STYLE = {
    "Succeeded": "bold $success",
    "Failed": "bold $error",
    "Progressing": "$accent",
    "Promoting": "$accent",
    "Finalising": "$accent",
}


def title_content(rollout: Rollout | None) -> Content:
    """Two lines: the target (and production mark), then strategy · phase · control."""
    if rollout is None:
        return Content.styled("no rollout selected", "$text-muted")
    first: list[tuple[str, str] | str] = [(rollout.key, "bold")]
    if rollout.production:
        first += ["  ", ("◆ production", "bold $error")]
    second: list[tuple[str, str] | str] = [
        ("blue-green" if rollout.strategy is Strategy.BLUE_GREEN else "canary", "$text-muted"),
        " · ",
        (rollout.phase.value, PHASE_STYLE.get(rollout.phase.value, "")),
        " · ",
        ("auto" if rollout.auto else "manual", "$text-muted" if rollout.auto else "bold $primary"),
    ]
    if rollout.paused:
        second += [" · ", ("PAUSED", "bold $warning")]
    return Content("\n").join([Content.assemble(*first), Content.assemble(*second)])


def history_content(history: Sequence[bool], limit: int = 24) -> Content:
    """Recent ticks, oldest first: ● passed, ✗ failed."""
    return Content.assemble(*[("●", "$success") if ok else ("✗", "bold $error") for ok in history[-limit:]])


def timing_content(rollout: Rollout, now: float | None) -> Content | None:
    """`next check in 12s`, `guard watching 4m 10s more`: what happens next, in clock time."""
    if now is None:
        return None
    parts: list[tuple[str, str] | str] = []
    if rollout.next_tick is not None and rollout.next_tick >= now and not rollout.paused:
        parts += [("next check in ", "$text-muted"), duration(rollout.next_tick - now)]
    if rollout.earliest_rollback is not None and rollout.earliest_rollback >= now:
        parts += ["  " if parts else "", ("rollback possible in ", "$text-muted"), duration(rollout.earliest_rollback - now)]
    if rollout.guard_until is not None and rollout.guard_until > now:
        parts += ["  " if parts else "", ("guard watching ", "$text-muted"), f"{duration(rollout.guard_until - now)} more"]
    return Content.assemble(*parts) if parts else None


def facts_content(rollout: Rollout, now: float | None = None, width: int = IMAGE_WIDTH) -> Content:
    """Images, progress, recent checks, what comes next and who drives it, one short line each."""
    lines = [
        Content.assemble(("stable ", "$text-muted"), image_tail(rollout.stable_image, width) if rollout.stable_image else "–"),
        Content.assemble(
            ("canary ", "$text-muted"),
            (image_tail(rollout.canary_image, width) if rollout.canary_image else "–", "$canary-color"),
        ),
    ]
    progress: list[tuple[str, str] | str] = []
    if rollout.strategy is Strategy.CANARY:
        failed_style = "bold $error" if rollout.threshold and rollout.failed_checks >= rollout.threshold else ""
        progress += [("step ", "$text-muted"), fraction(rollout.step, rollout.steps), "  "]
        progress += [("failed ", "$text-muted"), (fraction(rollout.failed_checks, rollout.threshold), failed_style)]
    if rollout.ready:
        progress += ["  " if progress else "", ("ready ", "$text-muted"), rollout.ready]
    if progress:
        lines.append(Content.assemble(*progress))
    if rollout.stage:
        lines.append(Content.assemble(("stage ", "$text-muted"), (rollout.stage, "bold $accent")))
    if rollout.history:
        lines.append(Content.assemble(("checks ", "$text-muted"), history_content(rollout.history)))
    timing = timing_content(rollout, now)
    if timing is not None:
        lines.append(timing)
    if rollout.driver:
        lines.append(Content.assemble(("driven by ", "$text-muted"), rollout.driver))
    return Content("\n").join(lines)


class RolloutDetail(VerticalScroll):
    """Everything about one rollout; `show(rollout, series)` updates it in place."""

    DEFAULT_CSS = """
    RolloutDetail { height: 1fr; padding: 0 1; }
    RolloutDetail > .detail-title { height: auto; margin-bottom: 1; }
    RolloutDetail > TrafficSplit { margin-bottom: 1; }
    RolloutDetail > .detail-facts { height: auto; margin-bottom: 1; }
    RolloutDetail > #metrics { height: auto; }
    RolloutDetail > .detail-message { height: auto; margin-top: 1; }
    RolloutDetail > .-empty { display: none; }
    """

    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rollout: Rollout | None = None
        self.series: tuple[MetricSeries, ...] = ()
        self.now: float | None = None

    def compose(self) -> ComposeResult:
        yield Static(title_content(None), classes="detail-title")
        yield TrafficSplit()
        yield Static("", classes="detail-facts")
        yield Vertical(id="metrics")
        yield Static("", classes="detail-message")

    def show(self, rollout: Rollout | None, series: Sequence[MetricSeries] = (), now: float | None = None) -> None:
        """`now` (the state's clock time) turns deadlines into `in 12s`."""
        series = tuple(series)
        if rollout == self.rollout and series == self.series and now == self.now:
            return
        self.rollout, self.series, self.now = rollout, series, now
        self.query_one(".detail-title", Static).update(title_content(rollout))
        self.query_one(TrafficSplit).show(rollout)
        facts = self.query_one(".detail-facts", Static)
        facts.update(facts_content(rollout, now) if rollout else "")
        facts.set_class(rollout is None, "-empty")
        message = self.query_one(".detail-message", Static)
        message.update(Content.assemble(("why ", "$text-muted"), rollout.message) if rollout and rollout.message else "")
        message.set_class(not (rollout and rollout.message), "-empty")
        self._show_metrics(series)

    def _show_metrics(self, series: tuple[MetricSeries, ...]) -> None:
        """Reuse the sparkline widgets in place; mount or remove only the difference."""
        box = self.query_one("#metrics", Vertical)
        existing = list(box.query_children(MetricSpark))
        for spark, one in zip(existing, series):
            spark.show(one)
        if len(series) > len(existing):
            box.mount_all(MetricSpark(s) for s in series[len(existing):])
        for spark in existing[len(series):]:
            spark.remove()

    @property
    def metric_labels(self) -> list[str]:
        return [m.label_text for m in self.query(MetricSpark)]
