"""The post-rollout guard: the seed's `auto-rollback.sh`, on the engine's clock.

After a rollout completes, the serving workload's error rate and p99 latency
are watched for `window` seconds; a breach (a number out of range — no data is
not a breach here, the canary analysis already judged the revision) undoes the
deployment to its previous revision exactly as `kubectl rollout undo` does:
the previous ReplicaSet's pod template becomes the new revision.
"""

from __future__ import annotations

from pydantic import BaseModel

from app.control.context import Context
from app.model import GuardSpec, Level, MetricCheck, MetricSample


class GuardState(BaseModel):
    deployment: str = ""
    until: float = 0.0
    next: float = 0.0


def arm(spec: GuardSpec, deployment: str, now: float) -> GuardState:
    if not spec.enabled:
        return GuardState()
    return GuardState(deployment=deployment, until=now + spec.window, next=now + spec.interval)


def wants(spec: GuardSpec, g: GuardState, now: float) -> tuple[MetricCheck, ...] | None:
    if g.deployment and now < g.until and now >= g.next:
        return spec.checks
    return None


def breach(spec: GuardSpec, g: GuardState, now: float, samples: dict[str, MetricSample]) -> str | None:
    """The reason for undoing, or None; advances the guard's next check."""
    g.next = now + spec.interval
    for check in spec.checks:
        sample = samples.get(check.name)
        if sample is None or not sample.ok:
            continue
        if not check.passes(sample.value):
            return f"{check.name} = {sample.value:.4g} {check.unit} above {check.max:g} {check.unit} after the rollout"
    return None


async def undo(ctx: Context, key: str, namespace: str, deployment: str, reason: str, actor: str | None = None) -> str:
    """`kubectl rollout undo`: back to the previous revision's pod template; returns the image."""
    before = ctx.cache.deployment(namespace, deployment)
    after = await ctx.writes.rollout_undo(namespace, deployment)
    await ctx.decide(
        key,
        "undo",
        f"{deployment} undone to its previous revision: {reason}",
        actor=actor,
        level=Level.ERROR,
        before={"image": before.image, "revision": before.revision},
        after={"image": after.image, "revision": after.revision},
    )
    return after.image
