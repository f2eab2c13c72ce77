"""Run a scenario on the virtual clock without a screen and report what was decided."""

from __future__ import annotations

import asyncio
from typing import Any

from app.clock import EPOCH, VirtualClock
from app.factory import Demo, RoomOptions, make_demo
from app.model import Phase
from app.sanitize import clean

#: How often the headless run looks whether everything has settled (clock seconds).
CHECK_EVERY = 5.0


def settled(demo: Demo) -> bool:
    """Every target has finished (or never started) and the scenario has nothing left to do."""
    rollouts = demo.engine.state.rollouts
    idle = all(r.phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.INITIALIZED) for r in rollouts)
    acted = any(r.phase in (Phase.SUCCEEDED, Phase.FAILED) for r in rollouts)
    pending = demo.world.pending_events()
    guarding = any(r.guard_until is not None and r.guard_until > demo.clock.now() for r in rollouts)
    return idle and acted and not pending and not guarding


async def run_headless(
    options: RoomOptions, until_settled: bool = True, duration: float | None = None
) -> dict[str, Any]:
    clock = VirtualClock()
    options.virtual = True
    demo = make_demo(options, clock)
    limit = duration if duration is not None else float(demo.world.scenario.duration)
    await demo.engine.start()
    try:
        elapsed = 0.0
        while elapsed < limit:
            step = min(CHECK_EVERY, limit - elapsed)
            await clock.run_for(step, step=1.0)
            elapsed += step
            if until_settled and settled(demo):
                break
        await demo.engine.run_pass()
    finally:
        await demo.engine.stop()
    return report(demo, clock)


def report(demo: Demo, clock: VirtualClock) -> dict[str, Any]:
    state = demo.engine.state
    timeline = []
    for e in state.events:
        weights = e.after.get("weights") or e.before.get("weights")
        timeline.append(
            {
                "t": round(e.t - EPOCH, 3),
                "target": e.target,
                "action": e.action,
                "actor": e.actor,
                "weights": weights,
                "reason": e.reason,
            }
        )
    return {
        "scenario": state.scenario,
        "seed": demo.world.seed,
        "elapsed": round(clock.now() - EPOCH, 3),
        "targets": {
            r.key: {
                "phase": r.phase.value,
                "weights": f"{r.actual.stable}/{r.actual.canary}",
                "stable_image": r.stable_image,
                "message": r.message,
            }
            for r in state.rollouts
        },
        "timeline": timeline,
    }


def run(options: RoomOptions, until_settled: bool, duration: float | None) -> dict[str, Any]:
    return asyncio.run(run_headless(options, until_settled, duration))


def timeline_text(result: dict[str, Any]) -> list[str]:
    """The report as aligned text columns: each as wide as its longest value, so no name pushes the rest."""
    timeline = result["timeline"]
    target_w = max((len(e["target"]) for e in timeline), default=6)
    action_w = max((len(e["action"]) for e in timeline), default=6)
    weights_w = max((len(e["weights"] or "") for e in timeline), default=0)
    lines = [
        f"{e['t']:>8.1f}s  {clean(e['target']):<{target_w}}  {clean(e['action']):<{action_w}}  "
        f"{e['weights'] or '':<{weights_w}}  {clean(e['reason'])}".rstrip()
        for e in timeline
    ]
    key_w = max((len(k) for k in result["targets"]), default=0)
    lines += [f"{clean(key + ':'):<{key_w + 1}} {t['phase']}" for key, t in result["targets"].items()]
    return lines
