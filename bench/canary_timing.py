"""How fast a bad canary is rolled back: Shiftroom against Flagger's loop.

Runs the `bad-canary` scenario in-process on the virtual clock through
`app.headless.run_headless` (no pty, no screen) and reads its decision
timeline (`start`, `step`, `check-failed`, `rollback`).

Clock figures (simulated seconds, deterministic for a seed):
  onset            the last passing tick before the first failure: the step
                   that routed the weight at which the canary breaks
  first bad sample the first sample of the canary's own metrics, taken after
                   its first traffic step, outside an analysis range (the
                   plotted series sample more often than the analysis ticks)
  first failure    the first analysis tick that failed (`check-failed`, or the
                   rollback itself when threshold is 1)
  rollback         the tick of the rollback decision
Flagger's figure comes from the same ticks and the same target config
(`Analysis.interval`, `.threshold`): Flagger compares the failure count with
the threshold at the start of a tick, before analysing, so it rolls back one
interval after the threshold-th failure — threshold × interval after the first
failed tick, (threshold + 1) × interval after the onset. Shiftroom rolls back
in the threshold-th failed tick itself.

Wall figure (real microseconds, median over RUNS runs): from the controller's
rollback decision (entry of `CanaryController.rollback`, instrumented here
only) to the sim cluster's `set_weights` returning with the canary at 0 %;
also from the start of that engine pass (reading the cluster, querying the
metrics, analysing). Baseline: a bare `set_weights` call on the same sim
cluster, timed the same way.

    python -m bench.canary_timing [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

if TYPE_CHECKING:
    from app.clock import Clock
    from app.control.canary import CanaryController
    from app.control.engine import Engine
    from app.factory import Demo, RoomOptions
    from app.model import MetricCheck, MetricSample, RoomState, Target
    from backends.base import Route

SCENARIO = "bad-canary"
RUNS = 7


# ---------------------------------------------------------------- the pure part


@dataclass(frozen=True)
class Timing:
    target: str
    interval: float
    threshold: int
    onset: float | None  # last passing tick before the first failure
    first_failure: float
    rollback: float
    failed_ticks: int  # failed analysis ticks up to and including the rollback tick
    flagger_rollback: float

    @property
    def intervals(self) -> float:
        """Analysis intervals from the first failed tick to the rollback decision."""
        return (self.rollback - self.first_failure) / self.interval

    @property
    def from_first_failure(self) -> float:
        return self.rollback - self.first_failure

    @property
    def flagger_from_first_failure(self) -> float:
        return self.flagger_rollback - self.first_failure

    @property
    def from_onset(self) -> float | None:
        return None if self.onset is None else self.rollback - self.onset

    @property
    def flagger_from_onset(self) -> float | None:
        return None if self.onset is None else self.flagger_rollback - self.onset


def rollback_timing(
    timeline: Sequence[Mapping[str, Any]], target: str, interval: float, threshold: int
) -> Timing | None:
    """Read one target's first failure and rollback from a decision timeline.

    `timeline` holds `{"t", "target", "action", ...}` entries in time order
    (the headless report's format). Failed ticks are the `check-failed`
    events and the `rollback`; when their count reaches `threshold`, the
    rollback is the threshold-th failure, and Flagger (which looks at the
    count before analysing) would roll back one `interval` later. A rollback
    before that (a critical bound, a webhook, an abort) happens in the same
    tick under both. Returns None when the target was never rolled back.
    """
    events = [e for e in timeline if e["target"] == target]
    rb_index = next((i for i, e in enumerate(events) if e["action"] == "rollback"), None)
    if rb_index is None:
        return None
    # Only the analysis that ended in this rollback: from its last `start`.
    start = max((i for i, e in enumerate(events[:rb_index]) if e["action"] == "start"), default=-1)
    run = events[start + 1 : rb_index + 1]
    failures = [e for e in run if e["action"] in ("check-failed", "rollback")]
    first_failure = float(failures[0]["t"])
    passes = [e for e in run if e["action"] == "step" and float(e["t"]) < first_failure]
    onset = float(passes[-1]["t"]) if passes else None
    rollback = float(events[rb_index]["t"])
    flagger = rollback + interval if len(failures) >= threshold else rollback
    return Timing(
        target=target,
        interval=interval,
        threshold=threshold,
        onset=onset,
        first_failure=first_failure,
        rollback=rollback,
        failed_ticks=len(failures),
        flagger_rollback=flagger,
    )


# ---------------------------------------------------------------- the scenario run


@dataclass
class Probe:
    """What one instrumented run saw."""

    demo: Demo | None = None
    # (clock t, check, value, in range)
    samples: list[tuple[float, str, float | None, bool]] = field(default_factory=list)
    pass_started: float = 0.0  # perf_counter at the start of the current engine pass
    # (perf_counter at `rollback` entry, its pass start)
    decided: list[tuple[float, float]] = field(default_factory=list)
    written: list[tuple[float, float, int]] = field(default_factory=list)  # (perf_counter before, after, canary weight)


@contextmanager
def instrumented(target_key: str) -> Iterator[Probe]:
    """Patch the headless run (for this bench only) to time the rollback and see the samples."""
    import app.headless as headless
    from app import factory
    from app.control.canary import CanaryController
    from app.control.engine import Engine

    probe = Probe()
    patches = ExitStack()
    real_make_demo = factory.make_demo  # the function app.headless imported
    real_rollback = CanaryController.rollback
    real_pass = Engine.run_pass

    async def run_pass(self: Engine) -> RoomState:
        probe.pass_started = time.perf_counter()
        return await real_pass(self)

    async def rollback(self: CanaryController, now: float, reason: str, actor: str | None = None) -> None:
        probe.decided.append((time.perf_counter(), probe.pass_started))
        await real_rollback(self, now, reason, actor)

    def make_demo(options: RoomOptions, clock: Clock | None = None) -> Demo:
        demo = real_make_demo(options, clock)
        probe.demo = demo
        cluster, metrics = demo.world.cluster, demo.world.metrics
        target = next(t for t in demo.world.targets if t.key == target_key)
        canary = (target.namespace, target.deployment or target.name)
        real_set_weights, real_query = cluster.set_weights, metrics.query

        async def set_weights(
            namespace: str, name: str, weights: Mapping[str, int], resource_version: str | None = None
        ) -> Route:
            before = time.perf_counter()
            route = await real_set_weights(namespace, name, weights, resource_version)
            probe.written.append((before, time.perf_counter(), int(weights.get(canary[1], -1))))
            return route

        async def query(
            check: MetricCheck, workloads: Sequence[tuple[str, str]]
        ) -> dict[tuple[str, str], MetricSample]:
            got = await real_query(check, workloads)
            if canary in got:
                s = got[canary]
                value = s.value if s.ok else None
                probe.samples.append((demo.clock.now(), check.name, value, check.passes(value)))
            return got

        # Instance attributes: this run's world only.
        patches.enter_context(patch.object(cluster, "set_weights", set_weights))
        patches.enter_context(patch.object(metrics, "query", query))
        return demo

    with (
        patches,
        patch.object(headless, "make_demo", make_demo),
        patch.object(CanaryController, "rollback", rollback),
        patch.object(Engine, "run_pass", run_pass),
    ):
        yield probe


def canary_target(scenario: str = SCENARIO) -> Target:
    """The scenario's canary target (its config decides interval and threshold)."""
    from app.clock import VirtualClock
    from app.factory import RoomOptions, make_demo
    from app.model import Strategy

    demo = make_demo(RoomOptions(scenario=scenario, virtual=True), VirtualClock())
    return next(t for t in demo.world.targets if t.strategy is Strategy.CANARY)


async def _bare_set_weights(demo: Demo, target: Target) -> float:
    """One bare `set_weights` on the run's own sim cluster, timed as the instrumented ones are."""
    canary = target.deployment or target.name
    weights = {f"{canary}-primary": 100, canary: 0}
    cluster = demo.world.cluster
    before = time.perf_counter()
    await cluster.set_weights(target.namespace, target.name, weights)
    return time.perf_counter() - before


def one_run(scenario: str, target: Target) -> dict[str, Any]:
    from app.clock import EPOCH
    from app.factory import RoomOptions
    from app.headless import run_headless

    async def go() -> tuple[dict[str, Any], Probe, float]:
        with instrumented(target.key) as probe:
            result = await run_headless(RoomOptions(scenario=scenario), until_settled=True)
            assert probe.demo is not None, "the headless run builds its demo through make_demo"
            bare = await _bare_set_weights(probe.demo, target)  # through the same timed set_weights
        return result, probe, bare

    result, probe, bare = asyncio.run(go())
    timing = rollback_timing(result["timeline"], target.key, target.analysis.interval, target.analysis.threshold)
    out: dict[str, Any] = {"timing": timing, "bare_us": bare * 1e6, "phase": result["targets"][target.key]["phase"]}
    if probe.decided:
        decided, pass_start = probe.decided[0]
        write = next(((b, a) for b, a, w in probe.written if b >= decided and w == 0), None)
        if write:
            out["decision_us"] = (write[1] - decided) * 1e6
            out["pass_us"] = (write[1] - pass_start) * 1e6
            out["write_us"] = (write[1] - write[0]) * 1e6
    if timing is not None:
        steps = [float(e["t"]) for e in result["timeline"] if e["target"] == target.key and e["action"] == "step"]
        # Bad samples count from the first step; without one, from the onset; without that, from the start.
        first_step = steps[0] if steps else (timing.onset if timing.onset is not None else 0.0)
        bad = [t - EPOCH for t, _, v, ok in probe.samples if v is not None and not ok and t - EPOCH > first_step]
        out["first_bad_sample"] = round(min(bad), 3) if bad else None
    return out


def measure(runs: int = RUNS, scenario: str = SCENARIO) -> dict[str, Any]:
    target = canary_target(scenario)
    results = [one_run(scenario, target) for _ in range(runs)]
    timings = {(r["timing"].first_failure, r["timing"].rollback) if r["timing"] else None for r in results}

    def med(key: str) -> float | None:
        xs = [r[key] for r in results if key in r]
        return statistics.median(xs) if xs else None

    return {
        "scenario": scenario,
        "target": target.key,
        "runs": runs,
        "timing": results[0]["timing"],
        "deterministic": len(timings) == 1,
        "first_bad_sample": results[0].get("first_bad_sample"),
        "phase": results[0]["phase"],
        "decision_us": med("decision_us"),
        "pass_us": med("pass_us"),
        "write_us": med("write_us"),
        "bare_us": med("bare_us"),
    }


def _s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:g} s"


def report(m: dict[str, Any]) -> list[str]:
    t: Timing | None = m["timing"]
    lines = [f"canary rollback timing, scenario {m['scenario']}, target {m['target']}"]
    if t is None:
        lines.append(f"  the canary was not rolled back (final phase {m['phase']}): nothing to time")
        return lines
    iv = t.interval
    lines += [
        f"  config: interval {iv:g} s, threshold {t.threshold}"
        f"{'' if m['deterministic'] else '  (timelines differed between runs: first run shown)'}",
        f"  onset (last passing step) t={_s(t.onset)}   first bad sample t={_s(m['first_bad_sample'])}   "
        f"first failed tick t={_s(t.first_failure)}   rollback t={_s(t.rollback)}",
        f"  failed ticks up to the rollback: {t.failed_ticks}; analysis intervals first failure → rollback: "
        f"{t.intervals:g}",
        f"  {'':<28} {'shiftroom':>22} {'flagger (same ticks)':>24}",
        f"  {'from the first failed tick':<28} "
        f"{f'{t.from_first_failure:g} s = {t.from_first_failure / iv:g}×interval':>22}"
        f" {f'{t.flagger_from_first_failure:g} s = {t.flagger_from_first_failure / iv:g}×interval':>24}",
    ]
    ours, flagger = t.from_onset, t.flagger_from_onset
    if ours is not None and flagger is not None:  # both None exactly when there is no onset
        lines.append(
            f"  {'from the onset':<28} {f'{ours:g} s = {ours / iv:g}×interval':>22}"
            f" {f'{flagger:g} s = {flagger / iv:g}×interval':>24}"
        )
    lines.append(
        f"  Flagger's formula: (threshold+1)×interval = {(t.threshold + 1) * iv:g} s from the onset, "
        f"threshold×interval = {t.threshold * iv:g} s from the first failed tick"
    )
    if m["decision_us"] is not None:
        lines += [
            f"  wall time, median of {m['runs']} runs:",
            f"    rollback decision → weights written   {m['decision_us']:8.1f} µs   "
            f"({m['decision_us'] / m['bare_us']:.2f}× a bare set_weights)",
            f"    start of that engine pass → written   {m['pass_us']:8.1f} µs",
            f"    the set_weights call itself           {m['write_us']:8.1f} µs",
            f"    baseline: bare set_weights on the sim {m['bare_us']:8.1f} µs",
        ]
    else:
        lines.append("  wall time: no rollback decision was seen by the probe")
    return lines


def summary(m: dict[str, Any]) -> str:
    t: Timing | None = m["timing"]
    if t is None:
        return f"canary rollback: not rolled back in {m['scenario']}"
    s = (
        f"canary rollback ({m['scenario']}): {t.from_first_failure:g} s after the first failed tick vs Flagger "
        f"{t.flagger_from_first_failure:g} s ({t.intervals:g} vs {t.intervals + 1:g} intervals)"
    )
    if m["decision_us"] is not None:
        s += f"; decision → weights written {m['decision_us']:.0f} µs (bare set_weights {m['bare_us']:.0f} µs)"
    return s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.canary_timing")
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--scenario", default=SCENARIO)
    a = p.parse_args(argv)
    print("\n".join(report(measure(a.runs, a.scenario))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
