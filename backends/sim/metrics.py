"""`SimMetrics`: the `backends.base.Metrics` protocol over the world's traffic.

The built-in metrics are Flagger's, computed the way their PromQL would be
over the simulated `istio_requests_total` and
`istio_request_duration_milliseconds` series, scoped to the workload:

- `request-success-rate`: percent of requests that are not 5xx;
- `request-duration`: p99 latency in milliseconds, `histogram_quantile` over the buckets;
- `error-rate`: percent of requests that are 5xx.

A window with no requests gives `NO_DATA`; while the scenario takes metrics
away (or `unreachable` is set) every sample is `ERROR` and `ping()` raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.model import MetricCheck, MetricSample, SampleStatus
from backends.base import Invalid, Unavailable
from backends.sim.traffic import BUCKETS_MS, Aggregate

if TYPE_CHECKING:
    from backends.sim.world import SimWorld

BUILTIN = ("request-success-rate", "request-duration", "error-rate")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DOWN = "sim metrics: the metrics backend is not answering (the scenario took it away)."


def parse_duration(text: str | float | int) -> float:
    """Prometheus durations ("30s", "1m", "1m30s", "500ms") or plain seconds, in seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise Invalid("sim", f"sim metrics: '{text}' is not a duration such as 30s or 1m.")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def histogram_quantile(q: float, buckets: Sequence[int], bounds: Sequence[float] = BUCKETS_MS) -> float:
    """Prometheus' histogram_quantile over non-cumulative bucket counts (last bound +Inf)."""
    total = sum(buckets)
    if total == 0:
        return math.nan
    rank = q * total
    cumulative = 0
    for i, n in enumerate(buckets):
        if cumulative + n >= rank and n > 0:
            upper = bounds[i]
            if math.isinf(upper):
                return bounds[i - 1] if i > 0 else math.nan
            lower = bounds[i - 1] if i > 0 else 0.0
            return lower + (upper - lower) * (rank - cumulative) / n
        cumulative += n
    return bounds[-2]


def value_of(name: str, agg: Aggregate) -> float | None:
    if agg.count == 0:
        return None
    if name == "request-success-rate":
        return 100.0 * (agg.count - agg.errors) / agg.count
    if name == "error-rate":
        return 100.0 * agg.errors / agg.count
    if name == "request-duration":
        v = histogram_quantile(0.99, agg.buckets)
        return None if math.isnan(v) else v
    raise KeyError(name)


def promql(name: str, namespace: str, workload: str, window: str) -> str:
    """The query a real Prometheus would answer with the same number."""
    sel = f'reporter="destination",destination_workload_namespace="{namespace}",destination_workload="{workload}"'
    if name == "request-duration":
        return (
            "histogram_quantile(0.99, sum(rate("
            f"istio_request_duration_milliseconds_bucket{{{sel}}}[{window}])) by (le))"
        )
    match = '!~"5.*"' if name == "request-success-rate" else '=~"5.*"'
    return (
        f"sum(rate(istio_requests_total{{{sel},response_code{match}}}[{window}])) / "
        f"sum(rate(istio_requests_total{{{sel}}}[{window}])) * 100"
    )


class SimMetrics:
    name = "sim"

    def __init__(self, world: SimWorld, read_only: bool = False) -> None:
        self.world = world
        self.read_only = read_only
        self.unreachable = False  # set to simulate a Prometheus nobody can reach

    @property
    def down(self) -> bool:
        return self.unreachable or self.world.metrics_down

    async def ping(self) -> None:
        self.world.sync()
        if self.down:
            raise Unavailable("sim", DOWN)

    async def query(
        self, check: MetricCheck, targets: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], MetricSample]:
        now = self.world.sync()
        name = check.template or check.name
        out: dict[tuple[str, str], MetricSample] = {}
        for ns, workload in targets:
            out[(ns, workload)] = self._sample(name, check.interval, ns, workload, now)
        return out

    def _sample(self, name: str, interval: str, ns: str, workload: str, t: float) -> MetricSample:
        query = promql(name, ns, workload, interval) if name in BUILTIN else name
        if self.down:
            return MetricSample(t=t, value=None, status=SampleStatus.ERROR, error=DOWN, query=query)
        if name not in BUILTIN:
            return MetricSample(
                t=t,
                value=None,
                status=SampleStatus.ERROR,
                query=query,
                error=f"sim metrics: there is no built-in metric '{name}' (known: {', '.join(BUILTIN)}).",
            )
        try:
            window = parse_duration(interval)
        except Invalid as exc:
            return MetricSample(t=t, value=None, status=SampleStatus.ERROR, error=str(exc), query=query)
        value = value_of(name, self.world.traffic.recorder.window(ns, workload, t - window, t))
        if value is None:
            return MetricSample(
                t=t,
                value=None,
                status=SampleStatus.NO_DATA,
                query=query,
                error=f"sim metrics: {ns}/{workload} served no requests in the last {interval}.",
            )
        return MetricSample(t=t, value=value, query=query)

    async def history(
        self, check: MetricCheck, target: tuple[str, str], start: float, end: float, step: float
    ) -> list[tuple[float, float | None]]:
        """Values at start, start+step, ... end; None where the window saw no requests.

        Raises `Unavailable` during a metrics outage (a range query fails as a whole)."""
        now = self.world.sync()
        if self.down:
            raise Unavailable("sim", DOWN)
        name = check.template or check.name
        if name not in BUILTIN:
            raise Invalid("sim", f"sim metrics: there is no built-in metric '{name}' (known: {', '.join(BUILTIN)}).")
        window = parse_duration(check.interval)
        step = max(step, 1.0)
        ns, workload = target
        out: list[tuple[float, float | None]] = []
        t, end = start, min(end, now)
        while t <= end + 1e-9:
            agg = self.world.traffic.recorder.window(ns, workload, t - window, t)
            out.append((t, value_of(name, agg)))
            t += step
        return out
