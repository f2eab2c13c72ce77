"""The plotted series: a ring that has not moved is handed out as the same object; one that has, anew."""

from __future__ import annotations

from typing import Any

from app.clock import VirtualClock
from app.control.health import HealthBoard
from app.control.sampling import Sampler
from app.model import MetricCheck, MetricSample


class CountingMetrics:
    """A metrics backend whose value is the number of queries so far."""

    name = "metrics"
    read_only = True

    def __init__(self) -> None:
        self.queries = 0

    async def ping(self) -> None:
        return None

    async def query(self, check: MetricCheck, targets: Any) -> dict[tuple[str, str], MetricSample]:
        self.queries += 1
        return {w: MetricSample(t=0.0, value=float(self.queries)) for w in targets}

    async def history(self, *args: Any) -> list[tuple[float, float | None]]:
        return []


async def test_unchanged_rings_are_not_rebuilt_and_changed_ones_are() -> None:
    clock = VirtualClock()
    sampler = Sampler(CountingMetrics(), clock, HealthBoard(clock), every=5, points=4)
    rate = MetricCheck(name="error-rate", max=1)
    plotted = {"ns/a": (("ns", "a"), (rate,)), "ns/b": (("ns", "b"), (rate,))}
    checks = {"ns/a": (rate,), "ns/b": (rate,)}
    await sampler.refresh_series(clock.now(), plotted)
    first = sampler.series(checks)
    again = sampler.series(checks)
    assert [a is b for a, b in zip(first, again, strict=True)] == [True, True]

    await clock.advance(5)
    await sampler.refresh_series(clock.now(), {"ns/a": plotted["ns/a"]})  # only a's ring moves
    moved = {s.target: s for s in sampler.series(checks)}
    assert moved["ns/b"] is first[1]
    assert moved["ns/a"] is not first[0] and moved["ns/a"].values == (1.0, 2.0)

    stricter = MetricCheck(name="error-rate", max=0.5)  # the target's check changed: the threshold too
    redrawn = {s.target: s for s in sampler.series({"ns/a": (rate,), "ns/b": (stricter,)})}
    assert redrawn["ns/b"] is not first[1] and redrawn["ns/b"].max == 0.5

    for _ in range(6):  # a full ring keeps its length: its newest time still says it moved
        await clock.advance(5)
        await sampler.refresh_series(clock.now(), plotted)
        before = {s.target: s for s in sampler.series(checks)}
        await clock.advance(5)
        await sampler.refresh_series(clock.now(), plotted)
        after = {s.target: s for s in sampler.series(checks)}
        assert after["ns/a"].times != before["ns/a"].times and len(after["ns/a"].times) <= 4
