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
from app.control.actions import ActionResult, Preview
from app.control.context import AUTOMATIC, DESIRED_IMAGE_ANNOTATION, Context
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

    async def observe(self) -> None:
        c = self.ctx.cluster
        self.service = await c.get_service(self.ns, self.service_name)
        self.deployments = {col: await c.get_deployment(self.ns, self.dep_name(col)) for col in COLORS}

    # ------------------------------------------------------------ scheduling
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
                await self._undo(reason)
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
            phase=Phase.PROGRESSING, auto=prev.auto, image=image, old_image=self.deployments[live].image,
            new_color=other(live), old_color=live, started=now,
            message=f"release {image}: deploying to {other(live)} while {live} serves",
        )
        await self.ctx.decide(self.target.key, "start", self.state.message,
                              before={"live": live, "image": self.state.old_image},
                              after={"deploy-to": other(live), "image": image})
        await self._progress(now, {})

    async def _progress(self, now: float, samples: dict[str, MetricSample]) -> None:
        s, c, bg = self.state, self.ctx.cluster, self.target.blue_green
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
            dep = await c.get_deployment(self.ns, new)
            if dep.ready and dep.ready_replicas > 0 and dep.image == s.image:
                s.stage += 1
                s.next_at = now
                stage = "health"
            elif now - s.started > bg.progress_deadline:
                await self._fail(f"{new} not ready within the {bg.progress_deadline:g} s progress deadline "
                                 f"({dep.ready_replicas}/{dep.replicas} ready)")
                return
            else:
                s.message = f"waiting for {new}: {dep.ready_replicas}/{dep.replicas} ready"
                return
        if stage == "health":
            if now < s.next_at:
                return
            ok, detail = await c.probe(self.ns, new)
            s.history = (s.history + [ok])[-24:]
            if not ok:
                await self._fail(f"health check {s.health_passed + 1}/{bg.health_checks} on {new} failed: {detail}")
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
            await self._switch(now, AUTOMATIC, "health checks passed")
            return
        if stage == "stabilize":
            if samples:
                await self._stabilize(now, samples)
            if s.phase is Phase.PROGRESSING and now - s.switched_at >= bg.stabilize:
                s.phase = Phase.SUCCEEDED
                s.stage = STAGES.index("scale-down")
                s.scale_down_at = now + bg.scale_down_delay
                s.guard = guard.arm(self.target.guard, new, now)
                s.message = (f"{s.image} live on {s.new_color}; {s.old_color} kept up for instant switch-back "
                             f"for {bg.scale_down_delay:g} s")
                await self.ctx.decide(self.target.key, "succeeded", s.message, after={"live": s.new_color})

    async def _stabilize(self, now: float, samples: dict[str, MetricSample]) -> None:
        s = self.state
        s.next_at = now + self.target.blue_green.health_interval
        results = []
        for m in self.checks:
            sample = samples.get(m.name)
            value = sample.value if sample and sample.ok else None
            results.append(Check(name=m.name, value=value, passed=m.passes(value), range=m.range_text,
                                 status=sample.status.value if sample else "no-data",
                                 error=sample.error if sample else "", query=sample.query if sample else ""))
        s.last_checks = results
        ok = all(r.passed for r in results)
        s.history = (s.history + [ok])[-24:]
        if not ok:
            bad = next(r for r in results if not r.passed)
            why = f"{bad.name} = {'no data' if bad.value is None else f'{bad.value:.4g}'} outside {bad.range}"
            await self._switch_back(now, AUTOMATIC, f"breach while stabilising: {why}")

    async def _switch(self, now: float, actor: str, reason: str) -> None:
        s = self.state
        await self._select(s.new_color)
        s.stage = STAGES.index("stabilize")
        s.switched_at = now
        s.next_at = now + self.target.blue_green.health_interval
        s.message = f"{reason}: traffic switched {s.old_color} → {s.new_color}; stabilising"
        await self.ctx.decide(self.target.key, "switch", s.message, actor=actor,
                              before={"selector": {"version": s.old_color}},
                              after={"selector": {"version": s.new_color}})

    async def _switch_back(self, now: float, actor: str, reason: str) -> None:
        s = self.state
        await self._select(s.old_color)
        s.phase = Phase.FAILED
        s.scale_down_at = 0.0
        s.guard = GuardState()
        s.message = f"switched back to {s.old_color}: {reason}"
        await self.ctx.decide(self.target.key, "switch-back", reason, actor=actor, level=Level.ERROR,
                              before={"selector": {"version": s.new_color}},
                              after={"selector": {"version": s.old_color}})
        await self.ctx.cluster.scale(self.ns, self.dep_name(s.new_color), 0)

    async def _select(self, color: str) -> None:
        assert self.service
        selector = dict(self.service.selector, version=color)
        self.service = await self.ctx.cluster.patch_selector(self.ns, self.service_name, selector)

    async def _fail(self, reason: str, actor: str = AUTOMATIC) -> None:
        s = self.state
        s.phase = Phase.FAILED
        s.message = f"{reason}; traffic stays on {s.old_color}"
        await self.ctx.cluster.scale(self.ns, self.dep_name(s.new_color), 0)
        await self.ctx.decide(self.target.key, "failed", s.message, actor=actor, level=Level.ERROR,
                              after={"live": s.old_color, s.new_color: "scaled to 0"})

    async def _scale_down_old(self, now: float) -> None:
        s = self.state
        old = self.dep_name(s.old_color)
        await self.ctx.cluster.scale(self.ns, old, 0)
        s.scale_down_at = 0.0
        s.message = f"{old} scaled down after the {self.target.blue_green.scale_down_delay:g} s delay"
        await self.ctx.decide(self.target.key, "scale-down", s.message, after={old: 0})

    async def _undo(self, reason: str, actor: str = AUTOMATIC) -> None:
        s = self.state
        if s.scale_down_at and s.old_color:  # old colour still up: switching back is instant
            await self._switch_back(self.ctx.clock.now(), actor, reason)
            return
        image = await guard.undo(self.ctx, self.target.key, self.ns, self.dep_name(self.live), reason, actor)
        s.guard = GuardState()
        s.phase = Phase.FAILED
        s.message = f"{self.dep_name(self.live)} undone to {image}: {reason}"

    # ------------------------------------------------------------ keys
    def preview(self, action: str) -> Preview:
        s, t = self.state, self.target
        name = t.name if t.production else None
        stage = STAGES[s.stage] if s.phase is Phase.PROGRESSING else ""
        if action == "switch":
            if stage == "switch":
                return Preview(f"Switch {t.name}", [f"Service {self.service_name} selector version: "
                                                    f"{s.old_color} → {s.new_color}",
                                                    f"image {s.old_image} → {s.image}"],
                               destructive=True, confirm_name=name)
            if stage == "stabilize" or (s.phase is Phase.SUCCEEDED and s.scale_down_at):
                return Preview(f"Switch {t.name} back", [f"Service {self.service_name} selector version: "
                                                         f"{s.new_color} → {s.old_color}",
                                                         f"image {s.image} → {s.old_image}"],
                               destructive=True, confirm_name=name)
            why = "nothing to switch" if not s.old_color else f"{s.old_color} is scaled down: use u to undo"
            return Preview("Switch", [f"{t.name}: {why}"], possible=False)
        if action == "abort":
            if s.phase is not Phase.PROGRESSING:
                return Preview("Abort", [f"{t.name} is {s.phase.value}: nothing to abort"], possible=False)
            lines = [f"{self.dep_name(s.new_color)} scaled → 0", "phase → Failed"]
            if stage == "stabilize":
                lines.insert(0, f"selector version {s.new_color} → {s.old_color}")
            return Preview(f"Abort {t.name}", lines, destructive=True, confirm_name=name)
        if action == "undo":
            if s.phase is Phase.PROGRESSING:
                return Preview("Undo", [f"{t.name} is Progressing: abort it instead"], possible=False)
            if s.scale_down_at and s.old_color:
                return self.preview("switch")
            dep = self.deployments.get(self.live)
            return Preview(f"Undo {t.name}", [f"{self.dep_name(self.live)} back to its previous revision "
                                              f"(now {dep.image if dep else '?'})"],
                           destructive=True, confirm_name=name)
        if action in ("pause", "resume"):
            return Preview(f"{'Resume' if s.paused else 'Pause'} {t.name}", [])
        if action == "auto":
            return Preview(f"{t.name}: {'manual' if s.auto else 'automatic'} mode", [])
        return Preview(action, [f"{action} does not apply to a blue-green target"], possible=False)

    async def act(self, action: str, actor: str) -> ActionResult:
        s, now = self.state, self.ctx.clock.now()
        p = self.preview(action)
        if not p.possible:
            return ActionResult(False, p.lines[0])
        if action == "switch":
            if s.phase is Phase.PROGRESSING and STAGES[s.stage] == "switch":
                await self._switch(now, actor, f"switched by {actor}")
            else:
                await self._switch_back(now, actor, f"switched back by {actor}")
        elif action == "abort":
            if STAGES[s.stage] == "stabilize":
                await self._switch_back(now, actor, f"aborted by {actor}")
            else:
                await self._fail(f"aborted by {actor}", actor=actor)
        elif action == "undo":
            await self._undo(f"undone by {actor}", actor=actor)
        elif action in ("pause", "resume"):
            await self.toggle("paused", actor)
        elif action == "auto":
            await self.toggle("auto", actor)
        await self.save()
        return ActionResult(True, s.message)

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
            name=t.name, namespace=t.namespace, strategy=Strategy.BLUE_GREEN, phase=s.phase, paused=s.paused,
            auto=s.auto, production=t.production, desired=weights, actual=weights,
            step=(s.stage + 1) if progressing else 0, steps=len(STAGES), failed_checks=0, threshold=0,
            stable_image=live_dep.image if live_dep else "",
            canary_image=idle_dep.image if idle_dep and idle_dep.replicas else "",
            active_color=live, ready=f"{rolling.ready_replicas}/{rolling.replicas}" if rolling else "",
            message=s.message, driver=driver, stage=STAGES[s.stage] if progressing else "",
            next_tick=s.next_at if progressing else None, checks=tuple(s.last_checks), history=tuple(s.history),
            guard_until=s.guard.until if s.guard.deployment else None,
        )
