"""Why a rollout is where it is: the last decision, every check behind it, what happens next, who drives it.

The pane answers the on-call questions without a second key: which metric failed,
by how much and against which range, where the number came from (the query,
in full in the tooltip), how many failures the analysis has counted, when the
next check runs, how soon an automatic rollback could happen, whether the router
has caught up with the desired split, and whether this room is the one driving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from app.enums import Phase, Strategy
from app.sanitize import clean
from widgets.formatting import (
    FAIL_MARK,
    PASS_MARK,
    driver_text,
    duration,
    fraction,
    in_time,
    number,
    threshold_text,
    weights_text,
)
from widgets.spark import ThresholdSpark
from widgets.static_update import set_content

if TYPE_CHECKING:
    from app.model import Check, MetricSeries, Rollout

SPARK_WIDTH = 40  # cells, as the metric sparklines elsewhere
HISTORY = 24  # ticks in the strip
Part = tuple[str, str] | str


# ---------------------------------------------------------------- what a metric row shows


@dataclass(frozen=True)
class MetricRow:
    """One metric: the value the last decision used (when there was one) and its trend."""

    name: str
    check: Check | None = None
    series: MetricSeries | None = None

    @property
    def value(self) -> float | None:
        if self.check is not None:
            return self.check.value
        return self.series.current if self.series is not None else None

    @property
    def passed(self) -> bool:
        if self.check is not None:
            return self.check.passed
        return self.series.in_range(self.value) if self.series is not None else True

    @property
    def webhook(self) -> bool:
        return self.check is not None and self.check.range == "2xx"

    @property
    def range(self) -> str:
        if self.check is not None and self.check.range:
            return self.check.range
        return threshold_text(self.series) if self.series is not None else "any"

    @property
    def value_text(self) -> str:
        if self.webhook:
            return "2xx" if self.passed else "failed"
        return number(self.value, self.series.unit if self.series is not None else "")

    @property
    def verdict(self) -> str:
        if self.passed:
            return "ok"
        if self.check is not None and self.check.critical:
            return "CRITICAL"
        if self.value is None and not self.webhook:
            return "NO DATA"
        return "FAILED" if self.webhook else "BREACH"

    @property
    def error(self) -> str:
        """The one sentence saying why there is no number (empty when there is one)."""
        if self.passed or (self.value is not None and not self.webhook):
            return ""
        if self.check is not None:
            return clean(self.check.error or self.check.status) or "no sample"
        return "no sample in the recent series"

    @property
    def source(self) -> str:
        if self.check is not None and self.check.query:
            return clean(self.check.query, multiline=True)
        return clean(self.series.source, multiline=True) if self.series is not None else ""


def metric_rows(rollout: Rollout | None, series: Sequence[MetricSeries] = ()) -> list[MetricRow]:
    """The last tick's checks first (with their series), then any series no check used."""
    if rollout is None:
        return []
    by_name = {s.name: s for s in series}
    rows = [MetricRow(c.name, c, by_name.pop(c.name, None)) for c in rollout.checks]
    return rows + [MetricRow(s.name, None, s) for s in by_name.values()]


def label_content(row: MetricRow) -> Content:
    """`✕ error-rate 8.57% (≤ 1) BREACH`: red when failing."""
    style = "$success" if row.passed else "bold $error"
    return Content.assemble(
        (PASS_MARK, "$success") if row.passed else (FAIL_MARK, "bold $error"),
        " ",
        (clean(row.name), "bold"),
        " ",
        (row.value_text, style),
        " ",
        (f"({row.range})", "$text-muted"),
        " ",
        (row.verdict, style),
    )


def source_content(row: MetricRow) -> Content:
    label = "url " if row.webhook else "query "
    return Content.assemble((label, "$text-muted"), (clean(row.source), "$text-muted italic"))


# ---------------------------------------------------------------- the decision and what comes next


def strip_content(history: Sequence[bool], limit: int = HISTORY) -> Content:
    """`●●●✕✕`, oldest first: green passed, red failed."""
    return Content.assemble(*[(PASS_MARK, "$success") if ok else (FAIL_MARK, "bold $error") for ok in history[-limit:]])


def headline_content(rollout: Rollout | None) -> Content:
    """The controller's last analysis decision, in its own words, with its numbers.

    A later mode change (paused, manual) never replaces the decision: it is the
    line under it, so "rolled back: failed checks 5/5 …" stays readable after `m`.
    """
    if rollout is None:
        return Content.styled("no rollout selected", "$text-muted")
    decision = clean(rollout.decision or rollout.message)
    if not decision:
        idle = rollout.phase is Phase.INITIALIZED
        return Content.styled("idle: waiting for a new revision" if idle else "no decision recorded yet", "$text-muted")
    if rollout.phase is Phase.FAILED:
        head = Content.styled(decision, "bold $error")
    elif rollout.paused or (rollout.history and not rollout.history[-1]):  # paused, or the last check failed
        head = Content.styled(decision, "$warning")
    else:
        head = Content(decision)
    later = clean(rollout.message) if rollout.decision and rollout.message != rollout.decision else ""
    if later:
        head = Content("\n").join([head, Content.assemble(("then ", "$text-muted"), (later, "$text-muted italic"))])
    return head


def failures_parts(rollout: Rollout) -> list[Part | Content]:
    """`failed checks 3/5 ●●✕✕✕` (a blue-green pair has no threshold: any failure stops it)."""
    if rollout.strategy is Strategy.CANARY:
        k, n = rollout.failed_checks, rollout.threshold
        style = "bold $error" if n and k >= n else ("bold $warning" if k else "")
        parts: list[Part | Content] = [("failed checks ", "$text-muted"), (fraction(k, n), style)]
    else:
        if not rollout.history:
            return []
        label = "health checks " if rollout.stage == "health" else "checks "
        parts = [(label, "$text-muted")]
    if rollout.history:
        parts += ["  " if len(parts) > 1 else "", strip_content(rollout.history)]
    return parts


def _line(*parts: Part | Content) -> Content:
    return Content.assemble(*parts)


def timing_lines(rollout: Rollout, now: float | None, compact: bool = False) -> list[Content]:
    """Paused, next check, earliest automatic rollback, post-rollout guard: all in clock time."""
    lines: list[Content] = []
    if rollout.paused:
        lines.append(Content.styled("paused: no checks and no steps until resumed", "bold $warning"))
    elif rollout.stage not in ("deploy", "scale", "ready"):  # those stages wait for pods, not for a clock
        when = in_time(rollout.next_tick, now)
        if when is not None:
            what = "next health check" if rollout.stage == "health" else "next check"
            lines.append(_line((f"{what} ", "$text-muted"), when))
    rollback = in_time(rollout.earliest_rollback, now) if not rollout.phase.terminal else None
    if rollback is not None:
        style = "bold $warning" if rollout.failed_checks else ""
        label = "earliest rollback " if compact else "earliest automatic rollback "
        lines.append(_line((label, "$text-muted"), (rollback, style)))
    if rollout.strategy is Strategy.BLUE_GREEN and rollout.stage == "stabilize" and not rollout.paused:
        lines.append(Content.styled("a failed check switches traffic back at once", "$text-muted"))
    if rollout.guard_until is not None and now is not None and rollout.guard_until > now:
        lines.append(_line(("guard watching ", "$text-muted"), f"{duration(rollout.guard_until - now)} more"))
    return lines


def router_content(rollout: Rollout) -> Content:
    """Desired vs actual router weights; the difference is what the router still has to do."""
    if rollout.strategy is Strategy.BLUE_GREEN:
        return _line(("service selects ", "$text-muted"), (rollout.active_color or "–", "bold"))
    desired, actual = weights_text(rollout.desired), weights_text(rollout.actual)
    if rollout.desired != rollout.actual:
        return _line(("router ", "$text-muted"), (f"desired {desired} ≠ actual {actual}", "bold $warning"))
    return _line(("router ", "$text-muted"), f"desired {desired} = actual {actual}")


def driver_content(rollout: Rollout, identity: str | None) -> Content:
    text = clean(driver_text(rollout.driver, identity))
    if identity is not None and rollout.driver == identity:
        return Content.styled(text, "$success")
    return Content.styled(text, "$warning" if rollout.driver else "$text-muted")


def status_content(rollout: Rollout | None, now: float | None, identity: str | None, compact: bool = False) -> Content:
    """Everything but the checks; `compact` packs it into two lines for a short terminal."""
    if rollout is None:
        return Content("")
    failures = failures_parts(rollout)
    timing = timing_lines(rollout, now, compact)
    tail = [router_content(rollout), driver_content(rollout, identity)]
    if compact:
        head = ([_line(*failures)] if failures else []) + timing
        gap = Content.styled(" · ", "$text-muted")
        return Content("\n").join(gap.join(group) for group in (head, tail) if group)
    return Content("\n").join(([_line(*failures)] if failures else []) + timing + tail)


# ---------------------------------------------------------------- widgets


class CheckView(Widget):
    """One metric: verdict line, trend, the no-data sentence, and the query (full text in the tooltip)."""

    DEFAULT_CSS = """
    CheckView { height: auto; margin-bottom: 1; }
    CheckView > .check-head { height: auto; layout: vertical; }
    CheckView .check-label { height: auto; width: 1fr; }
    CheckView ThresholdSpark { width: 1fr; max-width: 100%; height: 1; }
    CheckView > .check-error { height: auto; color: $error; }
    CheckView > .check-source { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    CheckView .-none { display: none; }
    """

    def __init__(self, row: MetricRow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.row = row
        self._ready = False  # composed and mounted: only then are the parts there to update

    def compose(self) -> ComposeResult:
        with Horizontal(classes="check-head"):
            yield Static(classes="check-label", markup=False)
            yield ThresholdSpark()
        yield Static(classes="check-error", markup=False)
        yield Static(classes="check-source", markup=False)

    def on_mount(self) -> None:
        self._ready = True
        self._apply()

    def on_unmount(self) -> None:
        self._ready = False

    def show(self, row: MetricRow) -> None:
        if row == self.row:
            return
        self.row = row
        self._apply()

    def _apply(self) -> None:
        """Draw the row; before the children are composed (or after removal) on_mount will."""
        if not self._ready or self._closing or self._pruning:
            return
        row = self.row
        self.set_class(not row.passed, "-failing")
        set_content(self.query_one(".check-label", Static), label_content(row))
        spark = self.query_one(ThresholdSpark)
        spark.series = row.series
        spark.set_class(row.series is None or not row.series.values, "-none")
        error = self.query_one(".check-error", Static)
        set_content(error, Content.assemble(("no data: " if row.value is None else "", "bold"), clean(row.error)))
        error.set_class(not row.error, "-none")
        source = self.query_one(".check-source", Static)
        set_content(source, source_content(row))
        source.tooltip = clean(row.source) or None
        source.set_class(not row.source, "-none")

    @property
    def label_text(self) -> str:
        return label_content(self.row).plain


class WhyPane(Vertical):
    """`show(rollout, series, now, identity)`: `identity` is this room's engine identity, when known."""

    DEFAULT_CSS = """
    WhyPane { height: auto; border-top: solid $panel-lighten-2; border-title-align: left; }
    WhyPane > .why-headline { height: auto; margin-bottom: 1; }
    WhyPane > .why-status { height: auto; margin-bottom: 1; }
    WhyPane > #why-checks { height: auto; }
    WhyPane.-compact { border-top: none; }
    WhyPane.-compact > .why-headline, WhyPane.-compact > .why-status { margin-bottom: 0; }
    WhyPane.-compact CheckView { margin-bottom: 0; }
    WhyPane.-compact CheckView > .check-head { layout: horizontal; }
    WhyPane.-compact CheckView ThresholdSpark { width: 30; }
    WhyPane.-compact CheckView > .check-source { display: none; }
    WhyPane .-empty { display: none; }
    App.-theme-wall WhyPane { border-top: heavy $foreground; }
    """
    SCOPED_CSS = False  # every rule names WhyPane; the wall rule starts at the App

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rollout: Rollout | None = None
        self.rows: list[MetricRow] = []
        self.now: float | None = None
        self.identity: str | None = None
        self.border_title = "why"

    def compose(self) -> ComposeResult:
        yield Static(headline_content(None), classes="why-headline", markup=False)
        yield Static("", classes="why-status", markup=False)
        yield Vertical(id="why-checks")

    @property
    def compact(self) -> bool:
        return self.has_class("-compact")

    def show(
        self,
        rollout: Rollout | None,
        series: Sequence[MetricSeries] = (),
        now: float | None = None,
        identity: str | None = None,
    ) -> None:
        self.rollout, self.now, self.identity = rollout, now, identity
        self.rows = metric_rows(rollout, series)
        set_content(self.query_one(".why-headline", Static), headline_content(rollout))
        self._show_status()
        self._show_rows()

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.set_class(compact, "-compact")
            if self.is_mounted:
                self._show_status()

    def _show_status(self) -> None:
        status = self.query_one(".why-status", Static)
        set_content(status, status_content(self.rollout, self.now, self.identity, compact=self.compact))
        status.set_class(self.rollout is None, "-empty")

    def _show_rows(self) -> None:
        """Reuse the row widgets in place; mount or remove only the difference."""
        box = self.query_one("#why-checks", Vertical)
        existing = [view for view in box.query_children(CheckView) if not (view._closing or view._pruning)]
        for view, row in zip(existing, self.rows, strict=False):
            view.show(row)
        if len(self.rows) > len(existing):
            box.mount_all(CheckView(row) for row in self.rows[len(existing) :])
        for view in existing[len(self.rows) :]:
            view.remove()

    # ------------------------------------------------------------ for tests and the help text

    @property
    def headline_text(self) -> str:
        return headline_content(self.rollout).plain

    @property
    def status_text(self) -> str:
        return status_content(self.rollout, self.now, self.identity, compact=self.compact).plain

    @property
    def labels(self) -> list[str]:
        return [label_content(row).plain for row in self.rows]
