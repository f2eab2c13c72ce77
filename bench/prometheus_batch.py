"""Prometheus queries per analysis tick: one per metric for all canaries, against one per canary.

A real Prometheus (`tests/servers/prometheus.py`, 1 s scrapes) scrapes the
simulator's Istio exporter (`backends/sim/exporter.py`) for a world of
TARGETS canary targets, each mid-analysis: the new image on the canary
deployment, 20 % of its traffic routed to it, and the canary state
annotation saying "progressing, due now", so every controller's own
`wants()` asks for its three built-in checks (request-success-rate,
request-duration, error-rate). The world runs on a 10× clock in a thread.

One analysis tick is the engine's sampling path, `Engine._sample`: it groups
the workloads per metric check and calls `PrometheusMetrics.query(check,
workloads)` once per check. An httpx transport wrapper counts the HTTP
requests. The baseline is measured in the same run against the same
Prometheus: `query(check, [workload])` for every target and every metric,
one after the other, as a loop that analyses each canary on its own does.

Figures: HTTP requests per tick (batched must equal the number of metrics),
and the wall time of a tick's queries, median of RUNS ticks, batched and
per-target run alternately, with the ratio; the per-target queries are also
timed sent all at once (`asyncio.gather`), which is what a per-target loop
could do at best with one connection pool.

    python -m bench.prometheus_batch [--targets 50] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from app.clock import Clock
    from app.model import MetricSample
    from backends.sim.world import SimWorld

#: What a pass of samples holds: check name -> (namespace, workload) -> sample.
Samples = dict[str, dict[tuple[str, str], "MetricSample"]]

TARGETS = 50
RUNS = 7
NAMESPACE = "bench"
SPEED = 10.0  # clock seconds per real second
NEW_IMAGE = "bench/api:2.0.0"
CANARY_WEIGHT = 20
MIN_WINDOW = 10.0  # real seconds: every window spans ten 1 s scrapes


# ---------------------------------------------------------------- the pure part


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes every request to `inner` (a plain HTTP transport by default) and counts it."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self.count = 0
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def target_name(i: int) -> str:
    return f"svc-{i:02d}"


def scenario_yaml(targets: int = TARGETS, rps: float = 20.0) -> str:
    """A scenario of `targets` canary targets shaped like the seed's canary (three checks, 30 s)."""
    lines = ["name: prometheus-batch", "description: many canaries under analysis at once", "targets:"]
    for i in range(targets):
        n = target_name(i)
        lines += [
            f"  - name: {n}",
            f"    namespace: {NAMESPACE}",
            "    strategy: canary",
            f"    deployment: {n}",
            '    service: ""',
            "    replicas: 2",
            "    analysis:",
            "      interval: 30",
            "      threshold: 5",
            "      max_weight: 50",
            "      step_weight: 10",
            "      metrics:",
            "        - {name: request-success-rate, min: 99, interval: 30s}",
            "        - {name: request-duration, max: 500, interval: 30s}",
            "        - {name: error-rate, max: 1, interval: 30s}",
        ]
    lines.append("rps:")
    lines += [f"  {target_name(i)}: {rps:g}" for i in range(targets)]
    lines.append("images:")
    lines += [f"  {target_name(i)}: bench/api:1.0.0" for i in range(targets)]
    lines += ["behaviour:", f'  "{NEW_IMAGE}": {{success_rate: 99.5, p50_ms: 50, p99_ms: 300, ready_after: 0}}']
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the run


def _require(binary: str) -> None:
    import shutil

    if shutil.which(binary) is None:
        raise SystemExit(f"{binary} is not on PATH; install it (Debian: apt-get install {binary}) to run this bench.")


async def _lay_out(world: SimWorld, clock: Clock) -> None:
    """Every canary mid-analysis: new image, scaled up, 20 % routed, state annotation 'progressing, due'."""
    from app.control.canary import CanaryState
    from app.control.context import STATE_ANNOTATION
    from app.model import Phase

    for t in world.targets:
        world.set_image(t.namespace, t.deployment, t.container, NEW_IMAGE)
        world.scale(t.namespace, t.deployment, t.replicas)
        world.set_weights(
            t.namespace, t.name, {f"{t.deployment}-primary": 100 - CANARY_WEIGHT, t.deployment: CANARY_WEIGHT}
        )
        state = CanaryState(
            phase=Phase.PROGRESSING,
            image=NEW_IMAGE,
            stable_image="bench/api:1.0.0",
            weight=CANARY_WEIGHT,
            step=1,
            started=clock.now(),
            next_tick=0.0,
        )
        await world.cluster.patch_annotations(
            "Deployment", t.namespace, t.deployment, {STATE_ANNOTATION: state.model_dump_json()}
        )


async def _measure(prom_url: str, world: SimWorld, clock: Clock, lock: threading.Lock, runs: int) -> dict[str, Any]:
    from app.control.engine import Engine
    from backends.prometheus import PrometheusMetrics

    transport = CountingTransport()
    metrics = PrometheusMetrics(prom_url, clock=clock, min_window=MIN_WINDOW, transport=transport)
    engine = Engine(clock=clock, cluster=world.cluster, metrics=metrics, targets=world.targets, actor="bench@local")
    try:
        with lock:  # the world's thread waits while the engine reads the cluster
            await engine._connect()  # the object cache lists the world once
            now = clock.now()
            driving = await engine._observe(now)
            wanted = [w for w in (engine.controllers[k].wants(now) for k in driving) if w]
        if len(wanted) != len(world.targets):
            raise SystemExit(
                f"only {len(wanted)} of {len(world.targets)} canaries asked for an analysis tick; "
                f"the bench's layout no longer matches the canary controller."
            )
        checks = wanted[0][1]
        workloads = [w for w, _ in wanted]

        async def batched() -> tuple[float, int, Samples]:
            before = transport.count
            t0 = time.perf_counter()
            samples = await engine.sampler.sample(wanted)
            return time.perf_counter() - t0, transport.count - before, samples

        async def per_target() -> tuple[float, int, Samples]:
            before = transport.count
            t0 = time.perf_counter()
            out: Samples = {}
            for check in checks:
                for w in workloads:
                    out.setdefault(check.name, {}).update(await metrics.query(check, [w]))
            return time.perf_counter() - t0, transport.count - before, out

        async def per_target_gathered() -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*(metrics.query(c, [w]) for c in checks for w in workloads))
            return time.perf_counter() - t0

        await metrics.query(checks[0], workloads[:1])  # connect once; neither side pays for it
        b_times, p_times, g_times, b_counts, p_counts = [], [], [], [], []
        b_ok = p_ok = 0
        for _ in range(runs):
            dt, n, samples = await batched()
            b_times.append(dt)
            b_counts.append(n)
            b_ok = sum(1 for per in samples.values() for s in per.values() if s.ok)
            dt, n, samples = await per_target()
            p_times.append(dt)
            p_counts.append(n)
            p_ok = sum(1 for per in samples.values() for s in per.values() if s.ok)
            g_times.append(await per_target_gathered())
        return {
            "targets": len(workloads),
            "checks": [c.name for c in checks],
            "runs": runs,
            "batched_queries": b_counts,
            "per_target_queries": p_counts,
            "batched_ms": statistics.median(b_times) * 1e3,
            "per_target_ms": statistics.median(p_times) * 1e3,
            "gathered_ms": statistics.median(g_times) * 1e3,
            "batched_ok": b_ok,
            "per_target_ok": p_ok,
            "samples": len(workloads) * len(checks),
        }
    finally:
        await engine.cache.stop()
        await metrics.aclose()


def measure(targets: int = TARGETS, runs: int = RUNS) -> dict[str, Any]:
    _require("prometheus")
    from app.clock import ScaledClock
    from backends.sim.build import build_world
    from backends.sim.scenario import parse_scenario
    from tests.servers.prometheus import scraping

    started = time.perf_counter()
    clock = ScaledClock(speed=SPEED)
    world = build_world(parse_scenario(scenario_yaml(targets), "<prometheus_batch>"), clock, seed=1)
    asyncio.run(_lay_out(world, clock))
    with tempfile.TemporaryDirectory(prefix="shiftroom-bench-") as tmp, contextlib.ExitStack() as stack:
        try:
            prom, lock = stack.enter_context(scraping(world, clock, Path(tmp), tick_every=0.05, scrape_interval="1s"))
            ready = (
                f'count(count_over_time(istio_requests_total{{destination_workload_namespace="{NAMESPACE}",'
                f'destination_workload!~".*-primary",response_code="200"}}[{int(MIN_WINDOW)}s]) >= 3)'
            )
            prom.wait_for(ready, targets, timeout=40)
        except (RuntimeError, TimeoutError) as err:  # say what went wrong; `python -m bench` goes on
            raise SystemExit(f"Prometheus was not ready for the bench: {err}") from None
        m = asyncio.run(_measure(prom.url, world, clock, lock, runs))
    m["wall_s"] = time.perf_counter() - started
    return m


def report(m: dict[str, Any]) -> list[str]:
    nb, npt = statistics.median(m["batched_queries"]), statistics.median(m["per_target_queries"])
    same = len(set(m["batched_queries"])) == 1 and len(set(m["per_target_queries"])) == 1
    return [
        f"prometheus queries per analysis tick, {m['targets']} canaries × {len(m['checks'])} checks "
        f"({', '.join(m['checks'])}), real Prometheus, {m['wall_s']:.0f} s in all",
        f"  {'':<34} {'batched (Engine._sample)':>26} {'per target (baseline)':>24} {'ratio':>8}",
        f"  {'HTTP queries per tick':<34} {nb:>26g} {npt:>24g} {npt / nb if nb else 0:>7.0f}×"
        + ("" if same else "  (counts varied between ticks)"),
        f"  {'tick query time, median of ' + str(m['runs']):<34} "
        f"{m['batched_ms']:>23.1f} ms {m['per_target_ms']:>21.1f} ms "
        f"{m['per_target_ms'] / m['batched_ms']:>7.1f}×",
        f"  {'  per target, all sent concurrently':<34} {'':>26} {m['gathered_ms']:>21.1f} ms "
        f"{m['gathered_ms'] / m['batched_ms']:>7.1f}×",
        f"  {'samples with a value':<34} {m['batched_ok']:>20}/{m['samples']:<5} "
        f"{m['per_target_ok']:>18}/{m['samples']:<5}",
        "  (ratio = per target / batched; the baseline asks one target and one metric per query, in sequence,",
        f"   then all {m['samples']} at once with asyncio.gather over httpx's default connection pool)",
    ]


def summary(m: dict[str, Any]) -> str:
    nb, npt = statistics.median(m["batched_queries"]), statistics.median(m["per_target_queries"])
    return (
        f"prometheus tick for {m['targets']} canaries: {nb:g} queries vs {npt:g} per target; "
        f"{m['batched_ms']:.1f} ms vs {m['per_target_ms']:.1f} ms "
        f"({m['per_target_ms'] / m['batched_ms']:.1f}× faster)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.prometheus_batch")
    p.add_argument("--targets", type=int, default=TARGETS)
    p.add_argument("--runs", type=int, default=RUNS)
    a = p.parse_args(argv)
    print("\n".join(report(measure(a.targets, a.runs))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
