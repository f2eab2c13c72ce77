"""Charts of a rollout and of an experiment, from fixed data: snapshots, and redraws only on change."""

from __future__ import annotations

import math
import time

from textual.app import App

from app.clock import EPOCH
from app.model import (
    AuditEvent,
    Experiment,
    ExperimentPoint,
    MetricSeries,
    Phase,
    Rollout,
    RoomState,
    VariantStats,
    Weights,
)
from app.screens.charts import ChartScreen, uplift_data
from widgets.charts import ChartData, MetricChart

KEY = "shop/checkout"
T0 = EPOCH + 3600


def _times(n: int = 120, step: float = 15.0) -> tuple[float, ...]:
    return tuple(T0 + i * step for i in range(n))


def rollout_state() -> RoomState:
    times = _times()
    success = tuple(99.9 - (0.0 if i < 80 else (i - 80) * 0.12) + 0.05 * math.sin(i / 3) for i in range(120))
    latency = tuple(180 + 20 * math.sin(i / 5) + (0 if i < 80 else (i - 80) * 9) for i in range(120))
    series = (
        MetricSeries(target=KEY, name="request-success-rate", unit="%", min=99.0, times=times, values=success),
        MetricSeries(
            target=KEY,
            name="request-duration",
            unit="ms",
            max=500.0,
            times=times,
            values=latency[:60] + (None,) * 4 + latency[64:],
        ),  # a metrics outage: a gap, not a zero
    )
    events = tuple(
        AuditEvent(
            t=T0 + i * 30 * 15 / 15 * 10, actor="shiftroom", target=KEY, action="step", reason=f"weight {10 * (i + 1)}%"
        )
        for i in range(4)
    )
    events += (
        AuditEvent(t=T0 + 1320, actor="shiftroom", target=KEY, action="check-failed", reason="1/5"),
        AuditEvent(t=T0 + 1500, actor="shiftroom", target=KEY, action="check-failed", reason="2/5"),
        AuditEvent(t=T0 + 1700, actor="shiftroom", target=KEY, action="rollback", reason="failed checks 5/5"),
    )
    rollout = Rollout(name="checkout", namespace="shop", phase=Phase.FAILED, actual=Weights(stable=100, canary=0))
    return RoomState(t=T0 + 1800, seq=1, rollouts=(rollout,), series=series, events=events)


def experiment_state() -> RoomState:
    history = []
    for day in range(1, 15):
        users = 400 * day
        history.append(
            ExperimentPoint(
                t=T0 + day * 86400,
                variants=(
                    VariantStats(name="control", weight=50, users=users, converters=int(users * 0.100)),
                    VariantStats(
                        name="variant_b",
                        weight=50,
                        users=users,
                        converters=int(users * 0.116 + 25 * math.sin(day * 1.3)),
                    ),
                ),
            )
        )
    exp = Experiment(
        id="checkout-button",
        name="Checkout button",
        status="active",
        duration_days=28,
        min_sample_size=5000,
        elapsed_days=14,
        variants=history[-1].variants,
        history=tuple(history),
    )
    return RoomState(t=T0 + 14 * 86400, seq=1, experiments=(exp,))


class ChartsApp(App[None]):
    def __init__(self, key: str, state: RoomState) -> None:
        super().__init__()
        self.key = key
        self.state = state

    def on_mount(self) -> None:
        self.push_screen(ChartScreen(self.key, lambda: self.state))


def test_rollout_charts(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(ChartsApp(KEY, rollout_state()), terminal_size=(120, 32))


def test_experiment_uplift_chart(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(ChartsApp("experiment:checkout-button", experiment_state()), terminal_size=(120, 24))


def test_a_gap_in_the_data_splits_the_line() -> None:
    from widgets.charts import segments

    assert segments([(0, 1.0), (1, None), (2, 2.0), (3, 3.0), (4, None)]) == [[(0, 1.0)], [(2, 2.0), (3, 3.0)]]
    assert segments([(0, None)]) == []


def test_uplift_data_covers_the_whole_life_and_expects_a_day() -> None:
    (data,) = uplift_data(experiment_state().experiments[0])
    assert data.days[0] == 0.0 and data.days[-1] == 13.0
    assert all(lo <= est <= hi for lo, est, hi in zip(data.lo, data.estimate, data.hi, strict=True))
    assert data.estimate[-1] > 10 and data.expected_day is not None and data.expected_day >= 14


async def test_a_chart_redraws_only_when_its_data_changes() -> None:
    app = ChartsApp(KEY, rollout_state())
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause()
        charts = list(app.screen.query(MetricChart))
        assert len(charts) == 2 and [c.draws for c in charts] == [1, 1]
        assert isinstance(charts[0].data, ChartData) and charts[0].data.marks[-1].kind == "rollback"
        app.state = app.state.model_copy(update={"seq": 2})  # a new snapshot, the same data
        app.screen.look()  # type: ignore[attr-defined]
        assert [c.draws for c in charts] == [1, 1]
        s = app.state.series[0]
        newer = s.model_copy(update={"times": s.times + (s.times[-1] + 15,), "values": s.values + (98.0,)})
        app.state = app.state.model_copy(update={"seq": 3, "series": (newer, app.state.series[1])})
        app.screen.look()  # type: ignore[attr-defined]
        assert [c.draws for c in charts] == [2, 1]
        await pilot.press("escape")
        assert not isinstance(app.screen, ChartScreen)


def test_time_ticks_differ_from_each_other_however_long_the_rollout() -> None:
    from widgets.charts import clock_label

    t = EPOCH + 9 * 3600 + 30 * 60  # 09:30:00
    assert [clock_label(t + i * 22.5, 22.5) for i in range(3)] == ["09:30:00", "09:30:22", "09:30:45"]
    assert [clock_label(t + i * 900, 900) for i in range(2)] == ["09:30", "09:45"]
    assert clock_label(t, 12 * 3600) == time.strftime("%b %d 09:30", time.gmtime(t))
