"""Charts of one rollout (`c` in the room) or one experiment: the whole life, not the last minutes.

`ChartScreen(key, source)` shows each metric of rollout `key` against clock
time with its threshold and the analysis decisions marked. `source()` returns
the latest `RoomState`; the screen looks once a second and redraws a chart
only when its data changed. The points are the engine's whole-life history
(`RoomState.histories`, time-bucketed by `app.history.History`) and its
decision marks (`RoomState.marks`); a snapshot without them (an engine that
does not keep them) is bucketed here from the recent series and events.
Experiments (`ChartScreen("experiment:<id>", ...)`) get the cumulative uplift
of each variant over control, with its interval band and the day significance
is expected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from app.history import History, Mark
from app.model import Experiment, MetricSeries, RoomState
from app.sanitize import clean
from widgets.charts import MARK_COLORS, ChartData, MetricChart, UpliftChart, UpliftData, legend

#: Event actions drawn as marks on a rollout's charts.
MARKED = frozenset(MARK_COLORS)
EXPERIMENT = "experiment:"


def marks_of(state: RoomState, key: str) -> tuple[Mark, ...]:
    if state.marks:
        return tuple(Mark(m.t, m.kind, clean(m.label, 80)) for m in state.marks_for(key))
    return tuple(
        Mark(e.t, e.action, clean(e.reason, 80)) for e in state.events if e.target == key and e.action in MARKED
    )


class ChartScreen(Screen[None]):
    DEFAULT_CSS = """
    ChartScreen #charts-title { height: 1; padding: 0 1; text-style: bold; }
    ChartScreen #charts-legend { height: 1; padding: 0 1; }
    ChartScreen MetricChart { height: 12; margin: 0 0 1 0; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="charts-back"),
        Binding("c", "app.pop_screen", "Back", id="charts-close", show=False),
    ]

    def __init__(self, key: str, source: Callable[[], RoomState], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.source = source
        self.seq = -1
        self.histories: dict[str, History] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="charts-title", markup=False)
        yield Static("", id="charts-legend", markup=False)
        yield VerticalScroll(id="charts-body")
        yield Footer()

    def on_mount(self) -> None:
        self.look()
        self.set_interval(1.0, self.look)

    def look(self) -> None:
        state = self.source()
        if state.seq == self.seq:
            return
        self.seq = state.seq
        if self.key.startswith(EXPERIMENT):
            self._experiment(state, self.key[len(EXPERIMENT) :])
        else:
            self._rollout(state)

    def _charts(self, kind: type[MetricChart] | type[UpliftChart], count: int) -> list[Any]:
        body = self.query_one("#charts-body", VerticalScroll)
        have = list(body.query(kind))
        if len(have) < count:
            extra = [kind() for _ in range(count - len(have))]
            body.mount_all(extra)
            have += extra
        return have

    def _rollout(self, state: RoomState) -> None:
        rollout = state.rollout(self.key)
        if rollout is None:
            self.query_one("#charts-title", Static).update(f"no rollout {clean(self.key)} in this room")
            return
        self.query_one("#charts-title", Static).update(
            f"{clean(rollout.key)} · {rollout.phase.value} · {rollout.actual.stable}/{rollout.actual.canary}"
        )
        marks = marks_of(state, rollout.key)
        series = state.series_for(rollout.key) or tuple(  # a Flagger Canary: the engine's history of its checks
            MetricSeries(target=h.target, name=h.name, unit=h.unit, min=h.min, max=h.max)
            for h in state.histories
            if h.target == rollout.key
        )
        charts = self._charts(MetricChart, len(series))
        for chart, s in zip(charts, series, strict=False):
            chart.show(
                ChartData(
                    title=clean(s.name),
                    unit=clean(s.unit),
                    points=self._points(state, rollout.key, s),
                    low=s.min,
                    high=s.max,
                    marks=marks,
                )
            )
        self._legend([m.kind for m in marks])

    def _points(self, state: RoomState, key: str, s: MetricSeries) -> tuple[tuple[float, float | None], ...]:
        kept = state.history_of(key, s.name)
        if kept is not None:
            return tuple(zip(kept.times, kept.values, strict=False))
        history = self.histories.setdefault(s.name, History(bucket=5.0, limit=240))
        last = history.buckets[-1].start + history.width if history.buckets else float("-inf")
        for t, v in zip(s.times, s.values, strict=False):
            if t >= last:
                history.add(t, v)
        return tuple(history.points())

    def _legend(self, kinds: list[str]) -> None:
        text = Text("threshold ", style="red")
        for colour, name in legend(kinds):
            text.append("│ ", style=colour)
            text.append(name + "  ")
        self.query_one("#charts-legend", Static).update(text)

    def _experiment(self, state: RoomState, exp_id: str) -> None:
        exp = next((e for e in state.experiments if e.id == exp_id), None)
        if exp is None:
            self.query_one("#charts-title", Static).update(f"no experiment {clean(exp_id)} in this room")
            return
        self.query_one("#charts-title", Static).update(
            f"experiment {clean(exp.name or exp.id)} · {clean(exp.status)} · day {exp.elapsed_days:.1f}"
        )
        data = uplift_data(exp)
        for chart, one in zip(self._charts(UpliftChart, len(data)), data, strict=False):
            chart.show(one)


def open_charts(screen: Screen[Any], key: str | None) -> None:
    """Push the charts of `key` (a rollout's key, or "experiment:<id>") over `screen`; the App's `state`
    is where the charts read the latest snapshot."""
    if not key:
        screen.notify("select a rollout or an experiment first to see its charts", severity="warning")
        return
    app: Any = screen.app
    screen.app.push_screen(ChartScreen(key, lambda: app.state))


def uplift_data(exp: Experiment, control: str = "control") -> list[UpliftData]:
    """One chart per variant against control, over the experiment's whole recorded life."""
    from app.stats import progress
    from widgets.uplift_plot import uplift_series

    names = [v.name for v in exp.variants]
    base = control if control in names else (names[0] if names else control)
    expected = None
    if exp.elapsed_days > 0:
        days_left = progress(exp, exp.elapsed_days, control=base).days_to_significance
        expected = exp.elapsed_days + days_left if days_left is not None else None
    out = []
    start = exp.history[0].t if exp.history else 0.0
    for name in names:
        if name == base:
            continue
        points = uplift_series(exp.history, base, name)
        out.append(
            UpliftData(
                title=f"{clean(name)} vs {clean(base)}",
                start=start,
                days=tuple((p.t - start) / 86400 for p in points),
                estimate=tuple(p.estimate * 100 for p in points),
                lo=tuple(p.lo * 100 for p in points),
                hi=tuple(p.hi * 100 for p in points),
                expected_day=expected,
            )
        )
    return out
