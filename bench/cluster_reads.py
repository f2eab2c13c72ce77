"""Cluster calls per steady-state pass: watched (the engine's object cache) against polled.

Before the object cache, every pass read each canary with three GETs (the
canary deployment, the primary, the route) and took its lease with one write:
against a real API server that is load proportional to targets × passes. Now
the engine lists each namespace once through a watch and reads the cache.

On the simulator with TARGETS canaries and nothing changing, this counts
every call the engine makes to the cluster over SECONDS clock seconds (one
pass a second), and, as the baseline in the same run, the calls the polled
observe made for the same targets and passes (three GETs and one lease write
per canary per pass, issued against the same counting cluster).

    python -m bench.cluster_reads [--targets 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from typing import Any

TARGETS = 20
SECONDS = 60
READS = ("get_", "list_", "revisions", "events")


class Counting:
    """A cluster with every call counted."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.read_only = inner.read_only
        self.calls: Counter[str] = Counter()

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[attr] += 1
            return target(*args, **kwargs)

        return counted


def _scenario(targets: int) -> Any:
    from backends.sim.defaults import DEFAULT_TARGETS
    from backends.sim.scenario import Scenario

    canary = next(t for t in DEFAULT_TARGETS if t.strategy.value == "canary")
    many = [canary.model_copy(update={"name": f"svc-{i}", "deployment": f"svc-{i}"}) for i in range(targets)]
    return Scenario(name="bench-quiet", duration=SECONDS * 10, targets=many)


async def _run(targets: int, seconds: int) -> dict[str, Any]:
    from app.clock import VirtualClock
    from app.control.engine import Engine
    from backends.sim.build import build_world

    clock = VirtualClock()
    world = build_world(_scenario(targets), clock)
    cluster = Counting(world.cluster)
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=world.metrics,
        targets=world.targets,
        actor="bench@local",
        identity="shiftroom@bench",
        background=(world.run,),
    )
    await engine.start()
    try:
        await clock.run_for(10)  # list, take the leases, settle
        await engine.idle()
        before = Counter(cluster.calls)
        await clock.run_for(seconds)
        await engine.idle()
        watched = cluster.calls - before
        passes = max(1, round(seconds))
        polled: Counter[str] = Counter()
        for _ in range(passes):  # the baseline: what the polled observe asked for the same passes
            for t in world.targets:
                name = t.deployment or t.name
                for call, args in (
                    ("get_deployment", (t.namespace, name)),
                    ("get_deployment", (t.namespace, f"{name}-primary")),
                    ("get_route", (t.namespace, t.name)),
                ):
                    await getattr(world.cluster, call)(*args)
                    polled[call] += 1
                polled["acquire_lease"] += 1
    finally:
        await engine.stop()
    return {
        "targets": targets,
        "seconds": seconds,
        "passes": passes,
        "watched": dict(watched),
        "polled": dict(polled),
        "watched_reads": sum(n for k, n in watched.items() if k.startswith(READS)),
        "polled_reads": sum(n for k, n in polled.items() if k.startswith(READS)),
        "watched_calls": sum(watched.values()),
        "polled_calls": sum(polled.values()),
    }


def measure(targets: int = TARGETS, seconds: int = SECONDS) -> dict[str, Any]:
    return asyncio.run(_run(targets, seconds))


def report(m: dict[str, Any]) -> list[str]:
    per = m["passes"]
    ratio = m["polled_calls"] / m["watched_calls"] if m["watched_calls"] else float("inf")
    return [
        f"  {m['targets']} canaries, nothing changing, {m['passes']} passes (one a second)",
        f"  {'':<28} {'watched':>12} {'polled (baseline)':>20}",
        f"  {'cluster reads per pass':<28} {m['watched_reads'] / per:>12.2f} {m['polled_reads'] / per:>20.2f}",
        f"  {'all calls per pass':<28} {m['watched_calls'] / per:>12.2f} {m['polled_calls'] / per:>20.2f}",
        f"  watched calls: {m['watched'] or 'none'}  (lease renewals, a third of the lease duration apart)",
        f"  ratio polled / watched (all calls): {ratio:.1f}×",
    ]


def summary(m: dict[str, Any]) -> str:
    per = m["passes"]
    return (
        f"cluster calls per steady-state pass for {m['targets']} canaries: {m['watched_calls'] / per:.2f} watched "
        f"({m['watched_reads']} reads) vs {m['polled_calls'] / per:.2f} polled"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cluster_reads")
    p.add_argument("--targets", type=int, default=TARGETS)
    p.add_argument("--seconds", type=int, default=SECONDS)
    args = p.parse_args(argv)
    m = measure(args.targets, args.seconds)
    print("\n".join(report(m)))
    print(summary(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
