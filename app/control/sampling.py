"""Metric samples for the controllers and the plotted series: one query per metric for all targets."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from app.clock import Clock
from app.control.health import HealthBoard
from app.model import MetricCheck, MetricSample, MetricSeries, SampleStatus
from backends.base import BackendError, Metrics

UNITS = {"request-success-rate": "%", "error-rate": "%", "request-duration": "ms"}
Workload = tuple[str, str]
Wanted = tuple[Workload, tuple[MetricCheck, ...]]


def check_key(c: MetricCheck) -> str:
    return f"{c.name}|{c.interval}|{c.template or ''}"


class Sampler:
    def __init__(self, metrics: Metrics, clock: Clock, health: HealthBoard, *, every: float, points: int) -> None:
        self.metrics = metrics
        self.clock = clock
        self.health = health
        self.every = every
        self.points = points
        self._series: dict[tuple[str, str], deque[tuple[float, float | None]]] = {}
        self._sources: dict[tuple[str, str], str] = {}
        #: the last MetricSeries built for each ring, with what it was built from: a ring that has not
        #: moved since (most of them, most passes) is not copied into new tuples again
        self._built: dict[tuple[str, str], tuple[object, MetricSeries]] = {}

    async def sample(self, wanted: Iterable[Wanted]) -> dict[str, dict[Workload, MetricSample]]:
        """One query per distinct metric check for every workload that needs it."""
        by_check: dict[str, tuple[MetricCheck, list[Workload]]] = {}
        for workload, checks in wanted:
            for c in checks:
                by_check.setdefault(check_key(c), (c, []))[1].append(workload)
        out: dict[str, dict[Workload, MetricSample]] = {}
        for ck, (check, workloads) in by_check.items():
            out[ck] = await self._query(check, workloads)
        return out

    async def _query(self, check: MetricCheck, workloads: list[Workload]) -> dict[Workload, MetricSample]:
        now = self.clock.now()
        try:
            got = await self.metrics.query(check, workloads)
        except BackendError as err:  # protocol says values, but never trust a backend to crash politely
            self.health.mark("metrics", err)
            got = {}
        result = {
            w: got.get(w) or MetricSample(t=now, value=None, status=SampleStatus.ERROR, error="no sample returned")
            for w in workloads
        }
        errors = [s for s in result.values() if s.status is SampleStatus.ERROR]
        if errors and len(errors) == len(result):
            self.health.mark("metrics", BackendError("metrics", errors[0].error or "metrics backend failed"))
        elif result:
            self.health.mark_up("metrics")
        return result

    async def refresh_series(self, now: float, plotted: dict[str, Wanted]) -> None:
        """One batched instant query per metric for the plotted workloads (target key -> wanted); a
        series seen for the first time is back-filled with one range query, so a room opened
        mid-release has history."""
        wanted: dict[Workload, tuple[MetricCheck, ...]] = {}
        owners: dict[Workload, str] = {}
        for key, (workload, checks) in plotted.items():
            if checks:
                wanted[workload] = checks
                owners[workload] = key
        for workload, checks in wanted.items():
            for c in checks:
                await self._backfill(owners[workload], workload, c, now)
        samples = await self.sample(wanted.items())
        for workload, checks in wanted.items():
            key = owners[workload]
            for c in checks:
                s = samples[check_key(c)][workload]
                self._series[(key, c.name)].append((now, s.value if s.ok else None))
                self._sources[(key, c.name)] = s.query or f"{workload[0]}/{workload[1]}"

    async def _backfill(self, key: str, workload: Workload, check: MetricCheck, now: float) -> None:
        series = (key, check.name)
        if series in self._series:
            return
        ring = self._series[series] = deque(maxlen=self.points)
        start = now - (self.points - 1) * self.every
        try:
            points = await self.metrics.history(check, workload, start, now - self.every, self.every)
        except BackendError:
            return  # the instant query that follows marks the backend down if it is
        ring.extend((t, v) for t, v in points if t < now)

    def series(self, checks_of: dict[str, tuple[MetricCheck, ...]]) -> tuple[MetricSeries, ...]:
        out = []
        for (key, name), ring in self._series.items():
            check = next((c for c in checks_of.get(key, ()) if c.name == name), None)
            stamp = (len(ring), ring[-1][0] if ring else None, self._sources.get((key, name), ""), check)
            built = self._built.get((key, name))
            if built is not None and built[0] == stamp:
                out.append(built[1])
                continue
            out.append(
                MetricSeries(
                    target=key,
                    name=name,
                    unit=(check.unit if check and check.unit else UNITS.get(name, "")),
                    min=check.min if check else None,
                    max=check.max if check else None,
                    times=tuple(t for t, _ in ring),
                    values=tuple(v for _, v in ring),
                    source=self._sources.get((key, name), ""),
                )
            )
            self._built[(key, name)] = (stamp, out[-1])
        return tuple(out)
