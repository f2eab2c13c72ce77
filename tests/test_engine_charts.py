"""The charts' data kept by the engine: whole-life metric histories per (target, check), decision marks
from the recorded events, experiment counts bucketed in time; and the chart screen reading them."""

from __future__ import annotations

from pathlib import Path

from app.clock import VirtualClock
from app.control.chart_book import ChartBook, Timeline
from app.history import MARK_KINDS
from app.model import AuditEvent, DecisionMark, ExperimentPoint, MetricHistory, MetricSeries, RoomState, VariantStats
from app.screens.charts import ChartScreen, marks_of
from tests.control_world import CANARY, demo, rollout, run_until
from widgets.charts import MARK_COLORS

RELEASE = """
    name: t-release
    duration: 900
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""


async def test_the_engine_publishes_each_checks_history_and_the_decisions(tmp_path: Path) -> None:
    clock = VirtualClock()
    d = demo(tmp_path, RELEASE, clock=clock)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).step >= 2, limit=300)
        await clock.run_for(30)
        await d.engine.idle()
        state = d.engine.state
        names = {c.name for c in d.engine.controllers[CANARY].checks}
        kept = {h.name: h for h in state.histories if h.target == CANARY}
        assert set(kept) == names
        series = {s.name: s for s in state.series_for(CANARY)}
        for name, h in kept.items():
            assert len(h.times) == len(h.values) > 2 and h.bucket == d.engine.series_every
            assert list(h.times) == sorted(h.times)
            assert h.times[-1] <= series[name].times[-1] + h.bucket
        steps = [m for m in state.marks_for(CANARY) if m.kind == "step"]
        events = [e for e in state.events if e.target == CANARY and e.action == "step"]
        assert len(steps) == len(events) >= 2 and [m.t for m in steps] == [e.t for e in events]
    finally:
        await d.engine.stop()


def test_histories_take_only_new_points_and_marks_only_decisions() -> None:
    book = ChartBook(bucket=5.0)
    s = MetricSeries(target="ns/a", name="error-rate", times=(0.0, 5.0, 10.0), values=(1.0, None, 3.0))
    book.add_series([s])
    book.add_series([s.model_copy(update={"times": (5.0, 10.0, 15.0), "values": (None, 3.0, 5.0)})])
    (h,), _ = book.published()
    assert (h.times, h.values) == ((2.5, 7.5, 12.5, 17.5), (1.0, None, 3.0, 5.0))
    book.add_event(AuditEvent(t=20.0, actor="x", target="ns/a", action="step", reason="10% → 20%"))
    book.add_event(AuditEvent(t=21.0, actor="x", target="ns/a", action="pause"))
    assert book.published()[1] == (DecisionMark(target="ns/a", t=20.0, kind="step", label="10% → 20%"),)


def test_experiment_points_are_bucketed_in_time_and_keep_the_start() -> None:
    line = Timeline(bucket=60.0, limit=10)
    for minute in range(0, 24 * 60, 1):  # one day of counts, changing every minute
        line.add(ExperimentPoint(t=minute * 60.0, variants=(VariantStats(name="control", users=minute),)))
    assert len(line.points) <= 10 and line.points[0].t == 0.0
    assert line.points[-1].variants[0].users == 24 * 60 - 1, "the latest counts are kept"
    assert line.width > 60.0
    gaps = [b.t - a.t for a, b in zip(line.points[1:], line.points[2:], strict=False)]
    assert all(g >= line.width / 2 for g in gaps)


def test_the_chart_screen_reads_the_engines_history_and_marks() -> None:
    series = MetricSeries(target="ns/a", name="error-rate", times=(100.0,), values=(9.0,))
    kept = MetricHistory(target="ns/a", name="error-rate", bucket=5.0, times=(2.5, 7.5), values=(1.0, 2.0))
    mark = DecisionMark(target="ns/a", t=7.0, kind="rollback", label="error rate")
    state = RoomState(series=(series,), histories=(kept,), marks=(mark,))
    screen = ChartScreen("ns/a", lambda: state)
    assert screen._points(state, "ns/a", series) == ((2.5, 1.0), (7.5, 2.0))
    assert [(m.t, m.kind) for m in marks_of(state, "ns/a")] == [(7.0, "rollback")]
    bare = RoomState(series=(series,))  # an engine that keeps no history: bucketed from the series
    assert screen._points(bare, "ns/a", series) == ((102.5, 9.0),)


def test_every_marked_decision_has_a_colour() -> None:
    assert set(MARK_COLORS) == MARK_KINDS
