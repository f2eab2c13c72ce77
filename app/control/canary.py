"""Canary analysis, Flagger's loop with the rollback one tick earlier.

Layout as Flagger makes it: the target deployment `<d>` carries the new
revision (the canary), `<d>-primary` serves the stable one, and the route named
after the target splits traffic between them. A change of the target's image
starts an analysis; every `interval` the canary's own metrics are checked, one
failed tick (a metric out of range *or without data*) counts one failure, and
at `threshold` failures the canary is rolled back in that same tick. A
`critical` bound rolls back at its first breach. Passing ticks walk the weight
through the steps up to `maxWeight`; the tick after that promotes.
"""

from __future__ import annotations

from pydantic import BaseModel

from app.control import guard
from app.control.guard import GuardState
from app.control.canary_keys import CanaryKeys
from app.control.persist import PersistedState
from app.control.context import AUTOMATIC, Context
from app.model import Check, HookType, Level, MetricCheck, MetricSample, Phase, Rollout, Strategy, Target, Weights
from backends.base import Deployment, Kind, Route

HISTORY = 24  # pass/fail ticks kept for the why pane


class CanaryState(BaseModel):
    """Persisted as JSON in the `shiftroom.io/state` annotation of the target deployment."""

    phase: Phase = Phase.INITIALIZED
    paused: bool = False
    auto: bool = True
    image: str = ""  # the revision under analysis (or last analysed)
    stable_image: str = ""  # the primary's image when the analysis started
    weight: int = 0
    step: int = 0
    failed: int = 0
    started: float = 0.0
    last_tick: float = 0.0
    next_tick: float = 0.0
    message: str = ""
    history: list[bool] = []
    last_checks: list[Check] = []
    guard: GuardState = GuardState()


class CanaryController(PersistedState, CanaryKeys):
    state_model = CanaryState
    strategy = Strategy.CANARY

    def __init__(self, target: Target, ctx: Context) -> None:
        self.target = target
        self.ctx = ctx
        self.state = CanaryState()
        self.canary_name = target.deployment or target.name
        self.primary_name = f"{self.canary_name}-primary"
        self.route_name = target.name
        self.canary: Deployment | None = None
        self.primary: Deployment | None = None
        self.route: Route | None = None
        self._saved = ""

    # ------------------------------------------------------------ state
    @property
    def ns(self) -> str:
        return self.target.namespace

    @property
    def steps(self) -> tuple[int, ...]:
        return self.target.analysis.steps

    @property
    def state_ref(self) -> tuple[Kind, str, str]:
        return ("Deployment", self.ns, self.canary_name)

    async def observe(self) -> None:
        c = self.ctx.cluster
        self.canary = await c.get_deployment(self.ns, self.canary_name)
        self.primary = await c.get_deployment(self.ns, self.primary_name)
        self.route = await c.get_route(self.ns, self.route_name)

    @property
    def actual(self) -> Weights:
        if not self.route:
            return Weights()
        w = self.route.weights
        total = w.get(self.primary_name, 0) + w.get(self.canary_name, 0)
        if total <= 0:
            return Weights()
        canary = round(100 * w.get(self.canary_name, 0) / total)
        return Weights.of_canary(canary)

    # ------------------------------------------------------------ scheduling
    def wants(self, now: float) -> tuple[tuple[str, str], tuple[MetricCheck, ...]] | None:
        """The workload and the checks this controller needs sampled in this pass, if any."""
        s = self.state
        if (
            s.phase is Phase.PROGRESSING
            and not s.paused
            and now >= s.next_tick
            and self.canary is not None
            and self.canary.ready_replicas > 0
            and self.canary.ready
            and s.weight > 0  # no traffic routed yet: nothing to measure (as Flagger)
        ):
            return (self.ns, self.canary_name), self.target.analysis.metrics
        checks = guard.wants(self.target.guard, s.guard, now)
        if checks and s.phase is Phase.SUCCEEDED:
            return (self.ns, self.primary_name), checks
        return None

    @property
    def checks(self) -> tuple[MetricCheck, ...]:
        return self.target.analysis.metrics

    @property
    def workload(self) -> tuple[str, str]:
        """The workload whose metrics the room plots: the canary while it is judged."""
        name = self.canary_name if self.state.phase is Phase.PROGRESSING else self.primary_name
        return (self.ns, name)

    # ------------------------------------------------------------ the loop
    async def tick(self, now: float, samples: dict[str, MetricSample]) -> None:
        """One scheduler pass: detect, wait, analyse, promote — whatever the phase asks."""
        s = self.state
        if self.canary is None or self.primary is None:
            return
        if s.phase is Phase.SUCCEEDED and samples and s.guard.deployment:
            reason = guard.breach(self.target.guard, s.guard, now, samples)
            if reason:
                await self._guard_undo(reason)
        if s.phase in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED):
            if self.canary.image != self.primary.image and self.canary.image != s.image:
                await self._start(now)
            elif s.phase is Phase.INITIALIZED and self.canary.replicas and self.canary.image == self.primary.image:
                await self.ctx.cluster.scale(self.ns, self.canary_name, 0)
        elif s.phase is Phase.WAITING:
            if self.canary.image != s.image:
                await self._start(now, restarted=True)
            elif now >= s.next_tick:
                await self._confirm_rollout(now)
        elif s.phase is Phase.PROGRESSING:
            if self.canary.image != s.image:
                await self._start(now, restarted=True)
            elif not self.canary.ready or self.canary.ready_replicas == 0:
                deadline = self.target.blue_green.progress_deadline
                if now - s.started > deadline:
                    await self._rollback(now, f"canary not ready within the {deadline:g} s progress deadline")
                else:
                    s.message = f"waiting for canary: {self.canary.ready_replicas}/{self.canary.replicas} ready"
            elif now >= s.next_tick and not s.paused:
                if s.weight == 0:  # no traffic routed yet, nothing to judge: route the first step
                    s.next_tick = now + self.target.analysis.interval
                    ok, detail = await self._hooks(HookType.PRE_ROLLOUT)
                    if not ok:
                        await self._count_failure(now, f"pre-rollout: {detail}")
                    elif s.auto:
                        await self._advance(now, AUTOMATIC, "canary ready")
                    else:
                        s.message = "canary ready; manual mode: press s to route the first step"
                else:
                    await self._analyse(now, samples)
        elif s.phase is Phase.PROMOTING:
            if self.primary.image == s.image and self.primary.ready:
                await self._finalise(now)
            else:
                s.message = f"promoting: primary {self.primary.ready_replicas}/{self.primary.replicas} ready on {s.image}"
        await self.save()

    async def _start(self, now: float, restarted: bool = False) -> None:
        assert self.canary and self.primary
        prev = self.state
        self.state = CanaryState(
            phase=Phase.WAITING,
            auto=prev.auto,
            image=self.canary.image,
            stable_image=self.primary.image,
            started=now,
            next_tick=now,
            message=f"new revision {self.canary.image}: waiting for confirm-rollout",
        )
        if prev.weight:
            await self._set_weight(0)
        what = "revision changed during analysis, restarting" if restarted else "new revision detected"
        await self.ctx.decide(
            self.target.key, "start", f"{what}: {self.canary.image}",
            before={"image": self.primary.image}, after={"image": self.canary.image, "weights": "100/0"},
        )
        await self._confirm_rollout(now)

    async def _confirm_rollout(self, now: float) -> None:
        """Flagger's `confirm-rollout` gate: the canary is not even scaled up until it passes."""
        s = self.state
        ok, detail = await self._hooks(HookType.CONFIRM_ROLLOUT)
        if not ok:
            s.next_tick = now + self.target.analysis.interval
            s.message = f"waiting for confirm-rollout: {detail}"
            return
        s.phase = Phase.PROGRESSING
        s.started = now
        s.next_tick = now + self.target.analysis.interval
        s.message = f"new revision {s.image}: starting analysis"
        await self.ctx.cluster.scale(self.ns, self.canary_name, self.target.replicas)
        await self._set_weight(0)

    async def _hooks(self, kind: HookType) -> tuple[bool, str]:
        """Run every webhook of one type; (all passed, the first failure's sentence)."""
        hooks = self.target.analysis.hooks(kind)
        if not hooks or self.ctx.webhooks is None:
            return True, ""
        for hook in hooks:
            ok, detail = await self.ctx.webhooks.call(hook, self._payload())
            if not ok:
                return False, detail
        return True, ""

    async def _rollback_requested(self) -> str | None:
        """Flagger's `rollback` hooks: a 2xx answer asks for a rollback."""
        hooks = self.target.analysis.hooks(HookType.ROLLBACK)
        if not hooks or self.ctx.webhooks is None:
            return None
        for hook in hooks:
            ok, _ = await self.ctx.webhooks.call(hook, self._payload())
            if ok:
                return f"rollback webhook {hook.name} asked for a rollback"
        return None

    async def _analyse(self, now: float, samples: dict[str, MetricSample]) -> None:
        s = self.state
        s.last_tick = now
        s.next_tick = now + self.target.analysis.interval
        requested = await self._rollback_requested()
        if requested:
            await self._rollback(now, requested)
            return
        results = [self._check(m, samples.get(m.name)) for m in self.target.analysis.metrics]
        for hook in self.target.analysis.hooks(HookType.ROLLOUT):
            ok, detail = await self.ctx.webhooks.call(hook, self._payload()) if self.ctx.webhooks else (True, "")
            results.append(Check(name=f"webhook {hook.name}", value=1.0 if ok else None, passed=ok,
                                 status="ok" if ok else "error", error="" if ok else detail, query=hook.url,
                                 range="2xx"))
        s.last_checks = results
        ok = all(r.passed for r in results)
        s.history = (s.history + [ok])[-HISTORY:]
        critical = next((r for r in results if r.critical), None)
        if critical:
            await self._rollback(now, f"{critical.name} = {_fmt(critical.value)} breached its critical bound")
            return
        if not ok:
            await self._count_failure(now, _why_all([r for r in results if not r.passed]))
            return
        if not s.auto:
            s.message = "checks passing; manual mode: press s to step or p to promote"
            return
        await self._advance(now, AUTOMATIC, "all checks passed")

    async def _count_failure(self, now: float, why: str) -> None:
        s = self.state
        s.failed += 1
        threshold = self.target.analysis.threshold
        if s.failed >= threshold:
            await self._rollback(now, f"failed checks {s.failed}/{threshold}: {why}")
        else:
            s.message = f"check failed ({s.failed}/{threshold}): {why}"
            await self.ctx.decide(self.target.key, "check-failed", s.message, level=Level.WARN,
                                  after={"failed": s.failed})

    def _payload(self) -> dict[str, str]:
        return {"name": self.target.name, "namespace": self.ns, "phase": self.state.phase.value,
                "checksum": self.state.image}

    async def _advance(self, now: float, actor: str, reason: str) -> None:
        s = self.state
        if actor == AUTOMATIC:  # an operator's key press is its own confirmation
            gate = HookType.CONFIRM_TRAFFIC_INCREASE if s.step < len(self.steps) else HookType.CONFIRM_PROMOTION
            ok, detail = await self._hooks(gate)
            if not ok:
                s.message = f"checks passing; waiting for {gate.value}: {detail}"
                return
        if s.step < len(self.steps):
            before = s.weight
            await self._set_weight(self.steps[s.step])
            s.step += 1
            s.message = f"{reason}: canary weight {before}% → {s.weight}%"
            await self.ctx.decide(self.target.key, "step", s.message, actor=actor,
                                  before={"weights": _w(before)}, after={"weights": _w(s.weight)})
        else:
            await self._promote(now, actor, reason)

    async def _promote(self, now: float, actor: str, reason: str) -> None:
        s = self.state
        s.phase = Phase.PROMOTING
        s.paused = False
        s.message = f"{reason}: promoting {s.image} to primary"
        await self.ctx.cluster.set_image(self.ns, self.primary_name, self.target.container, s.image)
        await self.ctx.decide(self.target.key, "promote", s.message, actor=actor,
                              before={"primary": s.stable_image}, after={"primary": s.image})

    async def _finalise(self, now: float) -> None:
        s = self.state
        s.phase = Phase.FINALISING
        await self._set_weight(0)
        await self.ctx.cluster.scale(self.ns, self.canary_name, 0)
        s.phase = Phase.SUCCEEDED
        s.step = 0
        s.guard = guard.arm(self.target.guard, self.primary_name, now)
        s.message = f"promotion of {s.image} complete"
        await self.ctx.decide(self.target.key, "succeeded", s.message,
                              after={"weights": "100/0", "primary": s.image})
        await self._post_rollout()

    async def _rollback(self, now: float, reason: str, actor: str = AUTOMATIC) -> None:
        s = self.state
        before = {"weights": _w(s.weight), "phase": s.phase.value}
        if s.phase is Phase.PROMOTING and s.stable_image and self.primary and self.primary.image != s.stable_image:
            await self.ctx.cluster.set_image(self.ns, self.primary_name, self.target.container, s.stable_image)
            before["primary"] = s.image
        await self._set_weight(0)
        await self.ctx.cluster.scale(self.ns, self.canary_name, 0)
        s.phase = Phase.FAILED
        s.paused = False
        s.message = f"rolled back: {reason}"
        await self.ctx.decide(self.target.key, "rollback", reason, actor=actor, level=Level.ERROR,
                              before=before, after={"weights": "100/0", "phase": "Failed",
                                                     "primary": s.stable_image})
        await self._post_rollout()

    async def _post_rollout(self) -> None:
        """Flagger's `post-rollout` hooks: informational; a failure is recorded, nothing more."""
        ok, detail = await self._hooks(HookType.POST_ROLLOUT)
        if not ok:
            await self.ctx.decide(self.target.key, "post-rollout", detail, level=Level.WARN)

    async def _guard_undo(self, reason: str, actor: str = AUTOMATIC) -> None:
        s = self.state
        image = await guard.undo(self.ctx, self.target.key, self.ns, self.primary_name, reason, actor)
        s.guard = GuardState()
        s.phase = Phase.FAILED
        s.message = f"{self.primary_name} undone to {image}: {reason}"

    async def _set_weight(self, canary: int) -> None:
        route = await self.ctx.cluster.set_weights(
            self.ns, self.route_name, {self.primary_name: 100 - canary, self.canary_name: canary}
        )
        self.route = route
        self.state.weight = canary

    def _check(self, m: MetricCheck, sample: MetricSample | None) -> Check:
        value = sample.value if sample and sample.ok else None
        return Check(
            name=m.name,
            value=value,
            passed=m.passes(value),
            critical=m.critical(value),
            status=sample.status.value if sample else "no-data",
            error=(sample.error if sample else "no sample"),
            query=sample.query if sample else "",
            range=m.range_text,
        )

    # ------------------------------------------------------------ view
    def rollout(self, driver: str = "") -> Rollout:
        s, t = self.state, self.target
        ready = f"{self.canary.ready_replicas}/{self.canary.replicas}" if self.canary else ""
        nxt = s.next_tick if s.phase in (Phase.PROGRESSING, Phase.WAITING) and not s.paused else None
        return Rollout(
            name=t.name, namespace=t.namespace, strategy=Strategy.CANARY, phase=s.phase, paused=s.paused,
            auto=s.auto, production=t.production, desired=Weights.of_canary(s.weight), actual=self.actual,
            step=s.step, steps=len(self.steps) + 1, failed_checks=s.failed, threshold=t.analysis.threshold,
            stable_image=self.primary.image if self.primary else s.stable_image,
            canary_image=(self.canary.image if self.canary else s.image), ready=ready, message=s.message,
            driver=driver, next_tick=nxt, earliest_rollback=self._earliest_rollback(nxt),
            checks=tuple(s.last_checks), history=tuple(s.history),
            guard_until=s.guard.until if s.guard.deployment else None,
        )

    def _earliest_rollback(self, next_tick: float | None) -> float | None:
        """If every tick from the next one fails, the rollback happens at this tick."""
        if next_tick is None:
            return None
        a = self.target.analysis
        if any(m.critical_min is not None or m.critical_max is not None for m in a.metrics):
            return next_tick
        return next_tick + max(0, a.threshold - self.state.failed - 1) * a.interval


def _w(canary: int | None) -> str:
    return "" if canary is None else f"{100 - canary}/{canary}"


def _fmt(v: float | None) -> str:
    return "no data" if v is None else f"{v:.4g}"


def _why_all(failed: list[Check]) -> str:
    """One sentence for the failed checks; one shared 'no data' reason is said once."""
    nodata = [r for r in failed if r.value is None]
    errors = {r.error or r.status for r in nodata}
    if len(nodata) > 1 and len(errors) == 1:
        rest = [_why(r) for r in failed if r.value is not None]
        return "; ".join([f"no data for {', '.join(r.name for r in nodata)} ({errors.pop()})"] + rest)
    return "; ".join(_why(r) for r in failed)


def _why(r: Check) -> str:
    if r.value is None:
        return f"{r.name}: no data ({r.error or r.status})"
    return f"{r.name} = {_fmt(r.value)} outside {r.range}"
