"""Blue-green, the seed's `blue-green-deploy.sh` done properly.

A release is requested by setting `shiftroom.io/desired-image` on the Service
(from a pipeline, or from the room). Then: read the live colour from the
Service selector → set the image on the idle colour → scale it → wait until
ready (bounded by the progress deadline) → N health checks at an interval →
switch the selector → stabilise while watching the new colour's metrics (a
breach switches straight back) → scale the old colour down after a delay.
While the old colour is still up, switching back is one selector change.
A failed step stops with its reason and leaves traffic where it was.
"""

from __future__ import annotations

from pydantic import BaseModel

from app.control import guard
from app.control.analysis import build_checks, number, remember
from app.control.bluegreen_commands import BlueGreenCommands
from app.control.context import DESIRED_IMAGE_ANNOTATION, Context
from app.control.guard import GuardState
from app.control.persist import PersistedState
from app.model import Check, Level, MetricCheck, MetricSample, Phase, Rollout, Strategy, Target, Weights
from backends.base import Deployment, Kind, Service

STAGES = ("deploy", "scale", "ready", "health", "switch", "stabilize", "scale-down")
COLORS = ("blue", "green")


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


class BlueGreenState(BaseModel):
    phase: Phase = Phase.INITIALIZED
    stage: int = 0  # index into STAGES while progressing
    paused: bool = False
    auto: bool = True
    image: str = ""  # the release being rolled (or last rolled)
    old_image: str = ""
    new_color: str = ""
    old_color: str = ""
    started: float = 0.0
    health_passed: int = 0
    next_at: float = 0.0
    switched_at: float = 0.0
    scale_down_at: float = 0.0  # 0 = nothing pending
    message: str = ""
    decision: str = ""  # the last decision with its numbers; mode changes never replace it
    history: list[bool] = []
    last_checks: list[Check] = []
    guard: GuardState = GuardState()


class BlueGreenController(PersistedState):
    state_model = BlueGreenState
    strategy = Strategy.BLUE_GREEN

    def __init__(self, target: Target, ctx: Context) -> None:
        self.target = target
        self.ctx = ctx
        self.state = BlueGreenState()
        self.prefix = target.deployment or target.name
        self.service_name = target.service or target.name
        self.service: Service | None = None
        self.deployments: dict[str, Deployment] = {}
        self._saved = ""
        self.commands = BlueGreenCommands(self)

    @property
    def ns(self) -> str:
        return self.target.namespace

    def dep_name(self, color: str) -> str:
        return f"{self.prefix}-{color}"

    @property
    def live(self) -> str:
        return (self.service.selector.get("version", "") if self.service else "") or "blue"

    @property
    def state_ref(self) -> tuple[Kind, str, str]:
        return ("Service", self.ns, self.service_name)

    def observe(self) -> None:
        """Read the Service and both colours from the cache (no cluster call)."""
        cache = self.ctx.cache
        self.service = cache.service(self.ns, self.service_name)
        self.deployments = {col: cache.deployment(self.ns, self.dep_name(col)) for col in COLORS}

    def version(self) -> dict[str, str]:
        """What a preview was computed from: a confirmation is refused once any of it changed."""
        s = self.state
        return {
            "phase": s.phase.value,
            "stage": STAGES[s.stage] if s.phase is Phase.PROGRESSING else "",
            "paused": str(s.paused).lower(),
            "auto": str(s.auto).lower(),
            "live": self.live,
            "images": ",".join(f"{c}={d.image}x{d.replicas}" for c, d in sorted(self.deployments.items())),
            "service version": self.service.resource_version if self.service else "",
        }

    # ------------------------------------------------------------ scheduling
    def busy(self, now: float) -> bool:
        return super().busy(now) or bool(self.state.scale_down_at)  # the old colour still to scale down

    def wants(self, now: float) -> tuple[tuple[str, str], tuple[MetricCheck, ...]] | None:
        s = self.state
        if s.phase is Phase.PROGRESSING and STAGES[s.stage] == "stabilize" and now >= s.next_at and not s.paused:
            return (self.ns, self.dep_name(s.new_color)), self.checks
        checks = guard.wants(self.target.guard, s.guard, now)
        if checks and s.phase is Phase.SUCCEEDED:
            return (self.ns, s.guard.deployment), checks
        return None

    @property
    def workload(self) -> tuple[str, str]:
        return (self.ns, self.dep_name(self.live))

    @property
    def checks(self) -> tuple[MetricCheck, ...]:
        """What stabilisation watches: the target's analysis metrics, else the guard's."""
        return self.target.analysis.metrics or self.target.guard.checks

    # ------------------------------------------------------------ the procedure
    async def tick(self, now: float, samples: dict[str, MetricSample]) -> None:
        s = self.state
        if self.service is None or not self.deployments:
            return
        if s.phase is Phase.PROGRESSING and not s.paused:
            await self._progress(now, samples)
        elif s.phase is Phase.SUCCEEDED and samples and s.guard.deployment:
            reason = guard.breach(self.target.guard, s.guard, now, samples)
            if reason:
                await self.undo(reason)
        if s.phase is not Phase.PROGRESSING:
            if s.scale_down_at and now >= s.scale_down_at:
                await self._scale_down_old(now)
            desired = self.service.annotations.get(DESIRED_IMAGE_ANNOTATION, "")
            if desired and desired != self.deployments[self.live].image and desired != s.image:
                await self._start(now, desired)
        await self.save()

    async def _start(self, now: float, image: str) -> None:
        prev = self.state
        live = self.live
        self.state = BlueGreenState(
            phase=Phase.PROGRESSING,
            auto=prev.auto,
            image=image,
            old_image=self.deployments[live].image,
            new_color=other(live),
            old_color=live,
            started=now,
            message=f"release {image}: deploying to {other(live)} while {live} serves",
            decision=prev.decision,
        )
        await self.ctx.decide(
            self.target.key,
            "start",
            self.state.message,
            before={"live": live, "image": self.state.old_image},
            after={"deploy-to": other(live), "image": image},
        )
        await self._progress(now, {})

    async def _progress(self, now: float, samples: dict[str, MetricSample]) -> None:
        s, c, bg = self.state, self.ctx.writes, self.target.blue_green
        new = self.dep_name(s.new_color)
        stage = STAGES[s.stage]
        if stage == "deploy":
            await c.set_image(self.ns, new, self.target.container, s.image)
            s.stage += 1
            stage = "scale"
        if stage == "scale":
            await c.scale(self.ns, new, self.target.replicas)
            s.stage += 1
            s.message = f"waiting for {new} to be ready"
            return
        if stage == "ready":
            dep = self.ctx.cache.deployment(self.ns, new)
            if dep.ready and dep.ready_replicas > 0 and dep.image == s.image:
                s.stage += 1
                s.next_at = now
                stage = "health"
            elif now - s.started > bg.progress_deadline:
                await self.fail(
                    f"{new} not ready within the {bg.progress_deadline:g} s progress deadline "
                    f"({dep.ready_replicas}/{dep.replicas} ready)"
                )
                return
            else:
                s.message = f"waiting for {new}: {dep.ready_replicas}/{dep.replicas} ready"
                return
        if stage == "health":
            if now < s.next_at:
                return
            ok, detail = await c.probe(self.ns, new)
            s.history = remember(s.history, ok)
            if not ok:
                await self.fail(f"health check {s.health_passed + 1}/{bg.health_checks} on {new} failed: {detail}")
                return
            s.health_passed += 1
            s.next_at = now + bg.health_interval
            s.message = f"health check {s.health_passed}/{bg.health_checks} on {new} passed"
            if s.health_passed < bg.health_checks:
                return
            s.stage += 1
            stage = "switch"
        if stage == "switch":
            if not s.auto:
                s.message = f"{new} is healthy; manual mode: press b to switch traffic"
                return
            await self.switch(now, None, "health checks passed")
            return
        if stage == "stabilize":
            if samples:
                await self._stabilize(now, samples)
            if s.phase is Phase.PROGRESSING and now - s.switched_at >= bg.stabilize:
                s.phase = Phase.SUCCEEDED
                s.stage = STAGES.index("scale-down")
                s.scale_down_at = now + bg.scale_down_delay
                s.guard = guard.arm(self.target.guard, new, now)
                s.message = (
                    f"{s.image} live on {s.new_color}; {s.old_color} kept up for instant switch-back "
                    f"for {bg.scale_down_delay:g} s"
                )
                s.decision = s.message
                await self.ctx.decide(self.target.key, "succeeded", s.message, after={"live": s.new_color})

    async def _stabilize(self, now: float, samples: dict[str, MetricSample]) -> None:
        s = self.state
        s.next_at = now + self.target.blue_green.health_interval
        results: list[Check] = build_checks(self.checks, samples)
        s.last_checks = results
        ok = all(r.passed for r in results)
        s.history = remember(s.history, ok)
        if not ok:
            bad = next(r for r in results if not r.passed)
            why = f"{bad.name} = {number(bad.value)} outside {bad.range}"
            await self.switch_back(now, None, f"breach while stabilising: {why}")

    async def switch(self, now: float, actor: str | None, reason: str) -> None:
        s = self.state
        await self._select(s.new_color)
        s.stage = STAGES.index("stabilize")
        s.switched_at = now
        s.next_at = now + self.target.blue_green.health_interval
        s.message = s.decision = f"{reason}: traffic switched {s.old_color} → {s.new_color}; stabilising"
        await self.ctx.decide(
            self.target.key,
            "switch",
            s.message,
            actor=actor,
            before={"selector": {"version": s.old_color}},
            after={"selector": {"version": s.new_color}},
        )

    async def switch_back(self, now: float, actor: str | None, reason: str) -> None:
        s = self.state
        await self._select(s.old_color)
        s.phase = Phase.FAILED
        s.scale_down_at = 0.0
        s.guard = GuardState()
        s.message = s.decision = f"switched back to {s.old_color}: {reason}"
        await self.ctx.decide(
            self.target.key,
            "switch-back",
            reason,
            actor=actor,
            level=Level.ERROR,
            before={"selector": {"version": s.new_color}},
            after={"selector": {"version": s.old_color}},
        )
        await self.ctx.writes.scale(self.ns, self.dep_name(s.new_color), 0)

    async def _select(self, color: str) -> None:
        assert self.service
        selector = dict(self.service.selector, version=color)
        self.service = await self.ctx.writes.patch_selector(self.ns, self.service_name, selector)

    async def fail(self, reason: str, actor: str | None = None) -> None:
        s = self.state
        s.phase = Phase.FAILED
        s.message = s.decision = f"{reason}; traffic stays on {s.old_color}"
        await self.ctx.writes.scale(self.ns, self.dep_name(s.new_color), 0)
        await self.ctx.decide(
            self.target.key,
            "failed",
            s.message,
            actor=actor,
            level=Level.ERROR,
            after={"live": s.old_color, s.new_color: "scaled to 0"},
        )

    async def _scale_down_old(self, now: float) -> None:
        s = self.state
        old = self.dep_name(s.old_color)
        await self.ctx.writes.scale(self.ns, old, 0)
        s.scale_down_at = 0.0
        s.message = f"{old} scaled down after the {self.target.blue_green.scale_down_delay:g} s delay"
        await self.ctx.decide(self.target.key, "scale-down", s.message, after={old: 0})

    async def undo(self, reason: str, actor: str | None = None) -> None:
        s = self.state
        if s.scale_down_at and s.old_color:  # old colour still up: switching back is instant
            await self.switch_back(self.ctx.clock.now(), actor, reason)
            return
        image = await guard.undo(self.ctx, self.target.key, self.ns, self.dep_name(self.live), reason, actor)
        s.guard = GuardState()
        s.phase = Phase.FAILED
        s.message = s.decision = f"{self.dep_name(self.live)} undone to {image}: {reason}"

    # ------------------------------------------------------------ view
    def rollout(self, driver: str = "") -> Rollout:
        s, t = self.state, self.target
        live = self.live
        live_dep = self.deployments.get(live)
        idle_dep = self.deployments.get(other(live))
        progressing = s.phase is Phase.PROGRESSING
        rolling = self.deployments.get(s.new_color) if progressing and s.new_color else None
        weights = Weights(stable=100, canary=0)
        return Rollout(
            name=t.name,
            namespace=t.namespace,
            strategy=Strategy.BLUE_GREEN,
            phase=s.phase,
            paused=s.paused,
            auto=s.auto,
            production=t.production,
            desired=weights,
            actual=weights,
            step=(s.stage + 1) if progressing else 0,
            steps=len(STAGES),
            failed_checks=0,
            threshold=0,
            stable_image=live_dep.image if live_dep else "",
            canary_image=idle_dep.image if idle_dep and idle_dep.replicas else "",
            active_color=live,
            ready=f"{rolling.ready_replicas}/{rolling.replicas}" if rolling else "",
            message=s.message,
            decision=s.decision,
            driver=driver,
            stage=STAGES[s.stage] if progressing else "",
            next_tick=s.next_at if progressing else None,
            checks=tuple(s.last_checks),
            history=tuple(s.history),
            guard_until=s.guard.until if s.guard.deployment else None,
        )
