"""SimMetrics: Flagger's built-in metrics over the simulated traffic, outages as values."""

from __future__ import annotations

import pytest

from app.clock import VirtualClock
from app.model import MetricCheck, SampleStatus
from backends.base import Metrics, Unavailable
from backends.sim import build_world

NS = "microservices"
RATE = MetricCheck(name="request-success-rate", min=99, interval="30s")
P99 = MetricCheck(name="request-duration", max=500, interval="30s")
ERRORS = MetricCheck(name="error-rate", max=1, interval="30s")
CANARY, PRIMARY = (NS, "microservices"), (NS, "microservices-primary")


async def _start_canary(world, clock) -> None:
    """What the canary controller does on a new image: scale the canary up and wait for it."""
    await clock.advance(21)
    assert (await world.cluster.get_deployment(*CANARY)).image == "microservices/api:1.5.0"
    await world.cluster.scale(NS, "microservices", 3)
    await clock.advance(15)
    assert (await world.cluster.get_deployment(*CANARY)).ready


async def _step(world, clock, weight: int) -> dict:
    weights = {"microservices-primary": 100 - weight, "microservices": weight}
    await world.cluster.set_weights(NS, "microservices-canary", weights)
    await clock.advance(30)
    return {c.name: (await world.metrics.query(c, [CANARY, PRIMARY])) for c in (RATE, P99, ERRORS)}


async def test_healthy_canary_reads_within_thresholds() -> None:
    clock = VirtualClock()
    world = build_world("healthy-canary", clock)
    assert isinstance(world.metrics, Metrics)
    await _start_canary(world, clock)
    for weight in (10, 20, 30, 40, 50):
        got = await _step(world, clock, weight)
        for name, check in (("request-success-rate", RATE), ("request-duration", P99), ("error-rate", ERRORS)):
            sample = got[name][CANARY]
            assert sample.ok and check.passes(sample.value), (weight, name, sample)
            assert 'destination_workload="microservices"' in sample.query
            assert 'destination_workload_namespace="microservices"' in sample.query
        assert got["request-success-rate"][CANARY].value + got["error-rate"][CANARY].value == pytest.approx(100)


async def test_bad_canary_fails_only_from_30_percent() -> None:
    clock = VirtualClock()
    world = build_world("bad-canary", clock)
    await _start_canary(world, clock)
    image = "microservices/api:1.5.0"
    rates = {}
    for weight in (10, 20):
        rates[weight] = (await _step(world, clock, weight))["error-rate"][CANARY].value
        assert world.behaviour(image).success_rate == 99.95
    for weight in (30, 40):
        rates[weight] = (await _step(world, clock, weight))["error-rate"][CANARY].value
        assert world.behaviour(image).success_rate == 92
    assert rates[10] <= 1 and rates[20] <= 1, rates
    assert rates[30] > 4 and rates[40] > 4, rates
    primary = (await world.metrics.query(ERRORS, [PRIMARY]))[PRIMARY]
    assert primary.value <= 1  # only the canary degrades
    assert any(e.reason == "Scenario" and "30%" in e.message for e in world.events)


async def test_latency_regression_climbs_past_500ms() -> None:
    clock = VirtualClock()
    world = build_world("latency-regression", clock)
    await _start_canary(world, clock)
    p99 = [(await _step(world, clock, w))["request-duration"][CANARY].value for w in (10, 20, 30, 40, 50)]
    assert p99[0] < 500 < p99[-1], p99
    assert p99 == sorted(p99)  # it only gets worse


async def test_empty_window_is_no_data() -> None:
    clock = VirtualClock()
    world = build_world(None, clock)
    await clock.advance(60)
    got = await world.metrics.query(RATE, [CANARY, PRIMARY])
    assert got[CANARY].status is SampleStatus.NO_DATA and got[CANARY].value is None
    assert not RATE.passes(got[CANARY].value)
    assert got[PRIMARY].ok


async def test_metrics_outage_gives_error_samples_then_recovers() -> None:
    clock = VirtualClock()
    world = build_world("metrics-outage", clock)
    await clock.advance(90)
    await world.metrics.ping()
    assert (await world.metrics.query(RATE, [PRIMARY]))[PRIMARY].ok
    await clock.advance(20)  # metrics go down at 100 s
    with pytest.raises(Unavailable, match="sim metrics"):
        await world.metrics.ping()
    got = await world.metrics.query(RATE, [PRIMARY, CANARY])
    for sample in got.values():
        assert sample.status is SampleStatus.ERROR and sample.value is None
        assert sample.error.startswith("sim metrics: ") and sample.error.count(". ") == 0
    with pytest.raises(Unavailable):
        await world.metrics.history(RATE, PRIMARY, clock.now() - 60, clock.now(), 10)
    await clock.advance(60)  # back at 160 s
    await world.metrics.ping()
    assert (await world.metrics.query(RATE, [PRIMARY]))[PRIMARY].ok


async def test_unreachable_flag_turns_every_sample_into_an_error() -> None:
    clock = VirtualClock()
    world = build_world(None, clock)
    await clock.advance(40)
    world.metrics.unreachable = True
    got = await world.metrics.query(ERRORS, [PRIMARY])
    assert got[PRIMARY].status is SampleStatus.ERROR


async def test_unknown_metric_is_an_error_sample() -> None:
    clock = VirtualClock()
    world = build_world(None, clock)
    await clock.advance(40)
    got = await world.metrics.query(MetricCheck(name="cpu-usage"), [PRIMARY])
    assert got[PRIMARY].status is SampleStatus.ERROR and "cpu-usage" in got[PRIMARY].error


async def test_history_matches_point_queries() -> None:
    clock = VirtualClock()
    world = build_world(None, clock)
    await clock.advance(120)
    now = clock.now()
    points = await world.metrics.history(P99, PRIMARY, now - 60, now, 30)
    assert [t for t, _ in points] == [now - 60, now - 30, now]
    assert all(v is not None and 50 < v < 500 for _, v in points)
    assert points[-1][1] == (await world.metrics.query(P99, [PRIMARY]))[PRIMARY].value


async def test_windows_count_exactly_the_requests_in_them() -> None:
    clock = VirtualClock()
    world = build_world(None, clock)
    await clock.advance(90)
    world.sync()
    rec = world.traffic.recorder
    whole = rec.window(*PRIMARY, world.start, clock.now())
    first = rec.window(*PRIMARY, world.start, world.start + 45).count
    halves = first + rec.window(*PRIMARY, world.start + 45, clock.now()).count
    assert whole.count == halves == rec.totals()[(NS, "microservices-primary", "microservices-primary")].count
    assert 90 * 40 * 0.9 < whole.count < 90 * 40 * 1.1
