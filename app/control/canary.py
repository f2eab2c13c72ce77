"""Canary analysis, Flagger's loop with the rollback one tick earlier.

Layout as Flagger makes it: the target deployment `<d>` carries the new
revision (the canary), `<d>-primary` serves the stable one, and the route named
after the target splits traffic between them. A change of the target's image
starts an analysis; every `interval` the canary's own metrics are checked, one
failed tick (a metric out of range *or without data*) counts one failure, and
at `threshold` failures the canary is rolled back in that same tick. A
`critical` bound rolls back at its first breach. Passing ticks walk the weight
through the steps up to `maxWeight`; the tick after that promotes.

`tick` is a table of small per-phase steps; the keys (preview and act) live in
`CanaryCommands`, which the controller owns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from app.control import guard
from app.control.analysis import build_checks, number, remember, weights_text, why_all
from app.control.canary_commands import CanaryCommands
from app.control.context import Context
from app.control.guard import GuardState
from app.control.hooks import post_rollout, rollback_requested, rollout_checks, run_hooks
from app.control.persist import PersistedState
from app.model import Check, HookType, Level, MetricCheck, MetricSample, Phase, Rollout, Strategy, Target, Weights
from backends.base import Deployment, Kind, Route

Step = Callable[[float, dict[str, MetricSample]], Awaitable[None]]


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
    next_tick: float = 0.0
    message: str = ""
    decision: str = ""  # the last analysis decision with its numbers; mode changes never replace it
    history: list[bool] = []
    last_checks: list[Check] = []
    guard: GuardState = GuardState()


class CanaryController(PersistedState):
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
        self.commands = CanaryCommands(self)
        self._steps: dict[Phase, Step] = {
            Phase.INITIALIZED: self._idle,
            Phase.SUCCEEDED: self._idle,
            Phase.FAILED: self._idle,
            Phase.WAITING: self._waiting,
            Phase.PROGRESSING: self._progressing,
            Phase.PROMOTING: self._promoting,
        }

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

    def observe(self) -> None:
        """Read the three objects from the cache (no cluster call)."""
        cache = self.ctx.cache
        self.canary = cache.deployment(self.ns, self.canary_name)
        self.primary = cache.deployment(self.ns, self.primary_name)
        self.route = cache.route(self.ns, self.route_name)

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

    def version(self) -> dict[str, str]:
        """What a preview was computed from: a confirmation is refused once any of it changed."""
        s = self.state
        return {
            "phase": s.phase.value,
            "weight": str(s.weight),
            "step": str(s.step),
            "paused": str(s.paused).lower(),
            "auto": str(s.auto).lower(),
            "canary image": self.canary.image if self.canary else "",
            "primary image": self.primary.image if self.primary else "",
            "route version": self.route.resource_version if self.route else "",
        }

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
        if self.canary is None or self.primary is None:
            return
        s = self.state
        if s.phase is Phase.SUCCEEDED and samples and s.guard.deployment:
            reason = guard.breach(self.target.guard, s.guard, now, samples)
            if reason:
                await self.guard_undo(reason)
        step = self._steps.get(self.state.phase)
        if step is not None:
            await step(now, samples)
        await self.save()

    async def _idle(self, now: float, samples: dict[str, MetricSample]) -> None:
        canary, primary, s = self.canary, self.primary, self.state
        assert canary and primary
        if canary.image != primary.image and canary.image != s.image:
            await self._start(now)
        elif s.phase is Phase.INITIALIZED and canary.replicas and canary.image == primary.image:
            await self.ctx.writes.scale(self.ns, self.canary_name, 0)

    async def _waiting(self, now: float, samples: dict[str, MetricSample]) -> None:
        assert self.canary
        if self.canary.image != self.state.image:
            await self._start(now, restarted=True)
        elif now >= self.state.next_tick:
            await self._confirm_rollout(now)

    async def _progressing(self, now: float, samples: dict[str, MetricSample]) -> None:
        canary, s = self.canary, self.state
        assert canary
        if canary.image != s.image:
            await self._start(now, restarted=True)
        elif not canary.ready or canary.ready_replicas == 0:
            await self._not_ready(now)
        elif now < s.next_tick or s.paused:
            return
        elif s.weight == 0:
            await self._first_step(now)
        else:
            await self._analyse(now, samples)

    async def _promoting(self, now: float, samples: dict[str, MetricSample]) -> None:
        primary, s = self.primary, self.state
        assert primary
        if primary.image == s.image and primary.ready:
            await self._finalise(now)
        else:
            s.message = f"promoting: primary {primary.ready_replicas}/{primary.replicas} ready on {s.image}"

    async def _not_ready(self, now: float) -> None:
        canary, s = self.canary, self.state
        assert canary
        deadline = self.target.blue_green.progress_deadline
        if now - s.started > deadline:
            await self.rollback(now, f"canary not ready within the {deadline:g} s progress deadline")
        else:
            s.message = f"waiting for canary: {canary.ready_replicas}/{canary.replicas} ready"

    async def _first_step(self, now: float) -> None:
        """No traffic routed yet, nothing to judge: route the first step."""
        s = self.state
        s.next_tick = now + self.target.analysis.interval
        ok, detail = await self._hooks(HookType.PRE_ROLLOUT)
        if not ok:
            await self._count_failure(now, f"pre-rollout: {detail}")
        elif s.auto:
            await self.advance(now, None, "canary ready")
        else:
            s.message = "canary ready; manual mode: press s to route the first step"

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
            decision=prev.decision,
        )
        if prev.weight:
            await self._set_weight(0)
        what = "revision changed during analysis, restarting" if restarted else "new revision detected"
        await self.ctx.decide(
            self.target.key,
            "start",
            f"{what}: {self.canary.image}",
            before={"image": self.primary.image},
            after={"image": self.canary.image, "weights": "100/0"},
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
        await self.ctx.writes.scale(self.ns, self.canary_name, self.target.replicas)
        await self._set_weight(0)

    async def _hooks(self, kind: HookType) -> tuple[bool, str]:
        """Run every webhook of one type; (all passed, the first failure's sentence)."""
        return await run_hooks(self.ctx.webhooks, self.target.analysis.hooks(kind), self._payload())

    async def _analyse(self, now: float, samples: dict[str, MetricSample]) -> None:
        s = self.state
        s.next_tick = now + self.target.analysis.interval
        analysis, payload = self.target.analysis, self._payload()
        requested = await rollback_requested(self.ctx.webhooks, analysis.hooks(HookType.ROLLBACK), payload)
        if requested:
            await self.rollback(now, requested)
            return
        hooked = await rollout_checks(self.ctx.webhooks, analysis.hooks(HookType.ROLLOUT), payload)
        results = build_checks(analysis.metrics, samples) + hooked
        s.last_checks = results
        ok = all(r.passed for r in results)
        s.history = remember(s.history, ok)
        critical = next((r for r in results if r.critical), None)
        if critical:
            await self.rollback(now, f"{critical.name} = {number(critical.value)} breached its critical bound")
        elif not ok:
            await self._count_failure(now, why_all([r for r in results if not r.passed]))
        elif not s.auto:
            s.message = "checks passing; manual mode: press s to step or p to promote"
        else:
            await self.advance(now, None, "all checks passed")

    async def _count_failure(self, now: float, why: str) -> None:
        s = self.state
        s.failed += 1
        threshold = self.target.analysis.threshold
        if s.failed >= threshold:
            await self.rollback(now, f"failed checks {s.failed}/{threshold}: {why}")
        else:
            s.message = s.decision = f"check failed ({s.failed}/{threshold}): {why}"
            await self.ctx.decide(
                self.target.key, "check-failed", s.message, level=Level.WARN, after={"failed": s.failed}
            )

    def _payload(self) -> dict[str, str]:
        return {
            "name": self.target.name,
            "namespace": self.ns,
            "phase": self.state.phase.value,
            "checksum": self.state.image,
        }

    async def advance(self, now: float, actor: str | None, reason: str) -> None:
        """The next weight, or the promotion after the last one; `actor=None` is this room deciding."""
        s = self.state
        if actor is None:  # an operator's key press is its own confirmation
            gate = HookType.CONFIRM_TRAFFIC_INCREASE if s.step < len(self.steps) else HookType.CONFIRM_PROMOTION
            ok, detail = await self._hooks(gate)
            if not ok:
                s.message = f"checks passing; waiting for {gate.value}: {detail}"
                return
        if s.step < len(self.steps):
            before = s.weight
            await self._set_weight(self.steps[s.step])
            s.step += 1
            s.message = s.decision = f"{reason}: canary weight {before}% → {s.weight}%"
            await self.ctx.decide(
                self.target.key,
                "step",
                s.message,
                actor=actor,
                before={"weights": weights_text(before)},
                after={"weights": weights_text(s.weight)},
            )
        else:
            await self.promote(now, actor, reason)

    async def promote(self, now: float, actor: str | None, reason: str) -> None:
        s = self.state
        s.phase = Phase.PROMOTING
        s.paused = False
        s.message = s.decision = f"{reason}: promoting {s.image} to primary"
        await self.ctx.writes.set_image(self.ns, self.primary_name, self.target.container, s.image)
        await self.ctx.decide(
            self.target.key,
            "promote",
            s.message,
            actor=actor,
            before={"primary": s.stable_image},
            after={"primary": s.image},
        )

    async def _finalise(self, now: float) -> None:
        s = self.state
        s.phase = Phase.FINALISING
        await self._set_weight(0)
        await self.ctx.writes.scale(self.ns, self.canary_name, 0)
        s.phase = Phase.SUCCEEDED
        s.step = 0
        s.guard = guard.arm(self.target.guard, self.primary_name, now)
        s.message = s.decision = f"promotion of {s.image} complete"
        await self.ctx.decide(self.target.key, "succeeded", s.message, after={"weights": "100/0", "primary": s.image})
        self._post_rollout()

    async def rollback(self, now: float, reason: str, actor: str | None = None) -> None:
        s = self.state
        before = {"weights": weights_text(s.weight), "phase": s.phase.value}
        if s.phase is Phase.PROMOTING and s.stable_image and self.primary and self.primary.image != s.stable_image:
            await self.ctx.writes.set_image(self.ns, self.primary_name, self.target.container, s.stable_image)
            before["primary"] = s.image
        await self._set_weight(0)
        await self.ctx.writes.scale(self.ns, self.canary_name, 0)
        s.phase = Phase.FAILED
        s.paused = False
        s.message = s.decision = f"rolled back: {reason}"
        await self.ctx.decide(
            self.target.key,
            "rollback",
            reason,
            actor=actor,
            level=Level.ERROR,
            before=before,
            after={"weights": "100/0", "phase": "Failed", "primary": s.stable_image},
        )
        self._post_rollout()

    def _post_rollout(self) -> None:
        """Flagger's `post-rollout` hooks: informational, run off the pass; a failure is recorded."""
        hooks = self.target.analysis.hooks(HookType.POST_ROLLOUT)
        if hooks and self.ctx.webhooks is not None:
            post_rollout(self.ctx, self.target.key, hooks, self._payload())

    async def guard_undo(self, reason: str, actor: str | None = None) -> None:
        s = self.state
        image = await guard.undo(self.ctx, self.target.key, self.ns, self.primary_name, reason, actor)
        s.guard = GuardState()
        s.phase = Phase.FAILED
        s.message = s.decision = f"{self.primary_name} undone to {image}: {reason}"

    async def _set_weight(self, canary: int) -> None:
        self.route = await self.ctx.writes.set_weights(
            self.ns, self.route_name, {self.primary_name: 100 - canary, self.canary_name: canary}
        )
        self.state.weight = canary

    # ------------------------------------------------------------ view
    def rollout(self, driver: str = "") -> Rollout:
        s, t = self.state, self.target
        ready = f"{self.canary.ready_replicas}/{self.canary.replicas}" if self.canary else ""
        nxt = s.next_tick if s.phase in (Phase.PROGRESSING, Phase.WAITING) and not s.paused else None
        return Rollout(
            name=t.name,
            namespace=t.namespace,
            strategy=Strategy.CANARY,
            phase=s.phase,
            paused=s.paused,
            auto=s.auto,
            production=t.production,
            desired=Weights.of_canary(s.weight),
            actual=self.actual,
            step=s.step,
            steps=len(self.steps) + 1,
            failed_checks=s.failed,
            threshold=t.analysis.threshold,
            stable_image=self.primary.image if self.primary else s.stable_image,
            canary_image=(self.canary.image if self.canary else s.image),
            ready=ready,
            message=s.message,
            decision=s.decision,
            driver=driver,
            next_tick=nxt,
            earliest_rollback=self._earliest_rollback(nxt),
            checks=tuple(s.last_checks),
            history=tuple(s.history),
            guard_until=s.guard.until if s.guard.deployment else None,
        )

    def _earliest_rollback(self, next_tick: float | None) -> float | None:
        """If every tick from the next one fails, the rollback happens at this tick."""
        if next_tick is None:
            return None
        a = self.target.analysis
        if any(m.critical_min is not None or m.critical_max is not None for m in a.metrics):
            return next_tick
        return float(next_tick + max(0, a.threshold - self.state.failed - 1) * a.interval)
