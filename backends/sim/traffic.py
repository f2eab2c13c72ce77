"""The simulated mesh: seeded request generation and Istio-shaped aggregates.

Every simulated second, each traffic flow draws a request count around its
rate (Poisson), splits it exactly between its destinations by weight, splits
each destination's share between the images its ready pods run, and draws a
response code and a latency for every request from that image's behaviour.

Results are kept per (namespace, workload, service) the way Istio's
destination reporter labels them:

- cumulative counters and histograms, for the Prometheus exporter;
- a ring buffer of per-second aggregates (15 minutes), for window queries.

A destination with no ready pod still receives its share of a route's
traffic, and every such request answers 503 in about a millisecond (Envoy's
"no healthy upstream"): a route weight pointing at nothing shows as errors,
never silently moves elsewhere.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from backends.sim.behaviour import NO_UPSTREAM, Effective

#: Istio's default buckets for istio_request_duration_milliseconds (the last one is +Inf).
BUCKETS_MS: tuple[float, ...] = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
    math.inf,
)

#: Seconds of per-second aggregates kept for window queries.
RING_SECONDS = 900

Key = tuple[str, str, str]  # (namespace, workload, service)


@dataclass(slots=True)
class Aggregate:
    """Requests of one workload over some time: counts and a latency histogram per response code."""

    codes: dict[int, int] = field(default_factory=dict)
    hist: dict[int, list[int]] = field(default_factory=dict)  # code -> bucket counts (not cumulative)
    sums: dict[int, float] = field(default_factory=dict)  # code -> total latency, ms

    def add(self, code: int, latency_ms: float) -> None:
        self.codes[code] = self.codes.get(code, 0) + 1
        hist = self.hist.get(code)
        if hist is None:
            hist = self.hist[code] = [0] * len(BUCKETS_MS)
        hist[bisect.bisect_left(BUCKETS_MS, latency_ms)] += 1
        self.sums[code] = self.sums.get(code, 0.0) + latency_ms

    def merge(self, other: Aggregate) -> None:
        for code, n in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n
            self.sums[code] = self.sums.get(code, 0.0) + other.sums[code]
            mine = self.hist.get(code)
            if mine is None:
                self.hist[code] = list(other.hist[code])
            else:
                for i, k in enumerate(other.hist[code]):
                    mine[i] += k

    def copy(self) -> Aggregate:
        return Aggregate(dict(self.codes), {c: list(h) for c, h in self.hist.items()}, dict(self.sums))

    @property
    def count(self) -> int:
        return sum(self.codes.values())

    @property
    def errors(self) -> int:
        """Requests answered with a 5xx code."""
        return sum(n for code, n in self.codes.items() if 500 <= code <= 599)

    @property
    def buckets(self) -> list[int]:
        """The latency histogram over every response code (`sum by (le)`)."""
        out = [0] * len(BUCKETS_MS)
        for hist in self.hist.values():
            for i, k in enumerate(hist):
                out[i] += k
        return out

    @property
    def sum_ms(self) -> float:
        return sum(self.sums.values())


@dataclass(frozen=True, slots=True)
class Destination:
    workload: str
    service: str  # the destination_service_name label
    weight: float
    pods: dict[str, int]  # image -> ready pods running it


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    namespace: str
    rps: float
    destinations: tuple[Destination, ...]


def draw_count(rng: random.Random, mean: float) -> int:
    """A Poisson draw (exact for small means, normal approximation above 50)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def split(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` by `weights`; the parts always add up to `total` exactly.

    Each part gets the floor of its share; the few requests left over go one
    by one to a part drawn in proportion to the fractions that were cut off.
    """
    wsum = float(sum(w for w in weights if w > 0))
    if total <= 0 or wsum <= 0:
        return [0] * len(weights)
    exact = [total * max(w, 0.0) / wsum for w in weights]
    parts = [int(x) for x in exact]
    fractions = [x - p for x, p in zip(exact, parts, strict=True)]
    for _ in range(total - sum(parts)):
        fsum = sum(fractions)
        if fsum <= 0:  # only float dust is left: give it to the heaviest share
            i = max(range(len(exact)), key=lambda j: exact[j])
        else:
            r, i = rng.random() * fsum, 0
            while i < len(fractions) - 1 and r >= fractions[i]:
                r -= fractions[i]
                i += 1
        parts[i] += 1
        fractions[i] = 0.0
    return parts


class TrafficRecorder:
    """Cumulative counters and a ring of per-second aggregates; safe across threads."""

    def __init__(self, ring_seconds: int = RING_SECONDS) -> None:
        self._lock = threading.Lock()
        self._totals: dict[Key, Aggregate] = {}
        # Each second's aggregates by (namespace, workload), its services in recording order.
        self._ring: deque[tuple[float, dict[tuple[str, str], list[Aggregate]]]] = deque(maxlen=ring_seconds)

    def record(self, t: float, second: dict[Key, Aggregate]) -> None:
        by_workload: dict[tuple[str, str], list[Aggregate]] = {}
        for (ns, wl, _svc), agg in second.items():
            by_workload.setdefault((ns, wl), []).append(agg)
        with self._lock:
            self._ring.append((t, by_workload))
            for key, agg in second.items():
                self._totals.setdefault(key, Aggregate()).merge(agg)

    def totals(self) -> dict[Key, Aggregate]:
        """A consistent copy of the cumulative counters."""
        with self._lock:
            return {k: v.copy() for k, v in self._totals.items()}

    def window(self, namespace: str, workload: str, start: float, end: float) -> Aggregate:
        """Everything `workload` served in seconds stamped within (start, end]."""
        out = Aggregate()
        key = (namespace, workload)
        with self._lock:
            for t, second in reversed(self._ring):
                if t <= start:
                    break
                aggs = second.get(key, ()) if t <= end else ()
                for agg in aggs:
                    out.merge(agg)
        return out

    @property
    def oldest(self) -> float | None:
        with self._lock:
            return self._ring[0][0] if self._ring else None


class TrafficGenerator:
    """Draws one second of traffic at a time from a private `random.Random(seed)`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.recorder = TrafficRecorder()

    def step(self, t: float, flows: Sequence[Flow], behaviour: Callable[[str, str], Effective]) -> dict[Key, Aggregate]:
        """Generate and record the second ending at `t`; `behaviour(namespace, image)` gives the numbers."""
        rng = self.rng
        second: dict[Key, Aggregate] = {}
        for flow in flows:
            total = draw_count(rng, flow.rps)
            parts = split(rng, total, [d.weight for d in flow.destinations])
            for dest, n in zip(flow.destinations, parts, strict=True):
                if n:
                    agg = second.setdefault((flow.namespace, dest.workload, dest.service), Aggregate())
                    self._serve(agg, dest, n, flow.namespace, behaviour)
        self.recorder.record(t, second)
        return second

    def _serve(
        self, agg: Aggregate, dest: Destination, n: int, namespace: str, behaviour: Callable[[str, str], Effective]
    ) -> None:
        """`n` requests to one destination, split over its ready pods by image (none ready: 503s)."""
        rng = self.rng
        images = [(img, pods) for img, pods in dest.pods.items() if pods > 0]
        if not images:
            _draw_into(agg, NO_UPSTREAM, rng, n)
            return
        shares = split(rng, n, [pods for _, pods in images])
        for (image, _), share in zip(images, shares, strict=True):
            _draw_into(agg, behaviour(namespace, image), rng, share)


def _draw_into(agg: Aggregate, eff: Effective, rng: random.Random, n: int) -> None:
    """`n` requests drawn as `eff.draw` draws them (the same random numbers in the same order), added to `agg`."""
    if n <= 0:
        return
    success, error_code, mu, sigma = eff.success, eff.error_code, eff.mu, eff.sigma
    uniform, lognormal, bucket = rng.random, rng.lognormvariate, bisect.bisect_left
    codes, hists, sums = agg.codes, agg.hist, agg.sums
    for _ in range(n):
        code = 200 if uniform() < success else error_code
        latency_ms = lognormal(mu, sigma)
        codes[code] = codes.get(code, 0) + 1
        hist = hists.get(code)
        if hist is None:
            hist = hists[code] = [0] * len(BUCKETS_MS)
        hist[bucket(BUCKETS_MS, latency_ms)] += 1
        sums[code] = sums.get(code, 0.0) + latency_ms
