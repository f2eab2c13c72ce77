"""End to end on the test API server, with the engine as it is: the seed's blue-green switch and
switch-back, and the seed's canary.yaml walking to promotion (and rolling back on bad metrics)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml

from app.canary_spec import canary_to_target
from app.clock import VirtualClock
from app.control.context import DESIRED_IMAGE_ANNOTATION
from app.control.engine import Engine
from app.live import EventAudit
from app.model import BlueGreen, MetricCheck, MetricSample, Mode, Phase, Strategy, Target, Webhook
from backends.sim.store import SimAudit
from tests.kube_helpers import Env, env_fixture
from tests.test_kube_canary_spec import CANARY_YAML

NS = "microservices"
#: Verbatim from the seed's phase 4 document (1.1, dual environments and the Service).
SEED_DEPLOYMENTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: microservices-blue
  namespace: microservices
  labels:
    app: microservices
    version: blue
spec:
  replicas: 3
  selector:
    matchLabels:
      app: microservices
      version: blue
  template:
    metadata:
      labels:
        app: microservices
        version: blue
    spec:
      containers:
      - name: frontend
        image: microservices/frontend:stable
        ports:
        - containerPort: 80
        env:
        - name: VERSION
          value: "blue"
        - name: ENVIRONMENT
          value: "production"
        resources:
          requests:
            memory: "256Mi"
            cpu: "200m"
          limits:
            memory: "512Mi"
            cpu: "500m"
        livenessProbe:
          httpGet:
            path: /health
            port: 80
          initialDelaySeconds: 30
          periodSeconds: 10
        readinessProbe:
          httpGet:
            path: /ready
            port: 80
          initialDelaySeconds: 5
          periodSeconds: 5
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: microservices-green
  namespace: microservices
  labels:
    app: microservices
    version: green
spec:
  replicas: 0  # Initially scaled to 0
  selector:
    matchLabels:
      app: microservices
      version: green
  template:
    metadata:
      labels:
        app: microservices
        version: green
    spec:
      containers:
      - name: frontend
        image: microservices/frontend:latest
        ports:
        - containerPort: 80
        env:
        - name: VERSION
          value: "green"
        - name: ENVIRONMENT
          value: "production"
        resources:
          requests:
            memory: "256Mi"
            cpu: "200m"
          limits:
            memory: "512Mi"
            cpu: "500m"
        livenessProbe:
          httpGet:
            path: /health
            port: 80
          initialDelaySeconds: 30
          periodSeconds: 10
        readinessProbe:
          httpGet:
            path: /ready
            port: 80
          initialDelaySeconds: 5
          periodSeconds: 5
"""
SEED_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: microservices
  namespace: microservices
  labels:
    app: microservices
spec:
  selector:
    app: microservices
    version: blue  # Initially points to blue
  ports:
  - port: 80
    targetPort: 80
    name: http
  type: ClusterIP
"""


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request, controller="auto", namespace=NS):
        yield e


class HealthyMetrics:
    """Prometheus stand-in for an application that behaves: every check in range (or `bad`)."""

    name = "metrics"
    read_only = True

    def __init__(self) -> None:
        self.bad = False

    async def ping(self) -> None:
        return None

    async def query(self, check: MetricCheck, targets: Any) -> dict[tuple[str, str], MetricSample]:
        if self.bad:
            value = (check.min - 10) if check.min is not None else (check.max or 1) * 10
        else:
            value = (check.min + 0.5) if check.min is not None else (check.max or 1) / 2
        return {w: MetricSample(t=0.0, value=value) for w in targets}

    async def history(self, *args: Any) -> list[tuple[float, float | None]]:
        return []


class LoadTester:
    """The seed's load-test webhook answered 200, as Flagger's load tester does."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def call(self, hook: Webhook, payload: dict[str, Any]) -> tuple[bool, str]:
        self.calls.append(hook.name)
        return True, "200"


def engine_for(env: Env, targets: list[Target], metrics: Any, webhooks: Any = None) -> tuple[Engine, VirtualClock]:
    clock = VirtualClock()
    cluster = env.cluster
    for t in targets:
        cluster.add_target(t)
    audit = EventAudit(SimAudit(), cluster, targets)
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=metrics,
        targets=targets,
        audit=audit,
        webhooks=webhooks,
        mode=Mode.LIVE,
        context="test",
        actor="tester@host",
    )
    return engine, clock


async def run_until(engine: Engine, clock: VirtualClock, pred: Any, limit: float = 900, key: str = "") -> None:
    spent = 0.0
    while spent < limit:
        await engine.run_pass()
        if pred():
            return
        await clock.advance(1.0)
        await asyncio.sleep(0.03)  # the stand-in controller works in real time
        spent += 1
    state = [(r.key, r.phase.value, r.stage, r.message) for r in engine.state.rollouts]
    raise AssertionError(f"not reached in {limit:g} s: {state}; events {[e.reason for e in engine.state.events][-5:]}")


async def do(engine: Engine, verb: str, key: str) -> tuple[bool, str]:
    """One rollout command, through whichever engine API this checkout has (old `act`, new `execute`)."""
    if hasattr(engine, "execute"):
        from app.control.commands import RolloutCommand, Verb

        cmd = RolloutCommand(Verb(verb), key)
        preview = await engine.preview(cmd)
        result = await engine.execute(cmd, confirmed=preview)
        return result.ok, result.message
    out = await engine.act(verb, key)  # type: ignore[attr-defined]
    return out.ok, out.message


async def flushed(engine: Engine) -> None:
    """The reworked engine hands decisions to its audit trail, flushed by a task of `start()`."""
    trail = getattr(engine, "trail", None)
    if trail is not None:
        await trail.flush()


async def possible(engine: Engine, verb: str, key: str) -> bool:
    from app.control.commands import RolloutCommand, Verb

    return bool((await engine.preview(RolloutCommand(Verb(verb), key))).possible)


def rollout(engine: Engine, key: str) -> Any:
    r = engine.state.rollout(key)
    assert r is not None
    return r


async def test_seed_blue_green_switch_and_switch_back(env: Env) -> None:
    server = env.needs_server(
        "health checks go through the pod proxy to each pod's IP, and a cluster's pods of made-up images answer none"
    )
    for doc in yaml.safe_load_all(SEED_DEPLOYMENTS + "---\n" + SEED_SERVICE):
        await env.apply(doc)
    target = Target(
        name="microservices",
        namespace=env.namespace,
        strategy=Strategy.BLUE_GREEN,
        deployment="microservices",
        service="microservices",
        container="frontend",
        replicas=3,
        blue_green=BlueGreen(health_checks=3, health_interval=2, stabilize=20, scale_down_delay=60),
    )
    engine, clock = engine_for(env, [target], HealthyMetrics())
    key = target.key
    await env.cluster.patch_annotations(
        "Service", env.namespace, "microservices", {DESIRED_IMAGE_ANNOTATION: "microservices/frontend:v2"}
    )
    await run_until(engine, clock, lambda: rollout(engine, key).active_color == "green")
    svc = await env.get("v1", "Service", "microservices") or {}
    assert svc["spec"]["selector"] == {"app": "microservices", "version": "green"}
    green = await env.cluster.get_deployment(env.namespace, "microservices-green")
    assert green.image == "microservices/frontend:v2" and green.ready_replicas == 3
    probes = [r for r in server.requests if "/proxy/health" in r.path]
    assert probes and all(r.method == "GET" for r in probes)  # health checks through the pod proxy
    lease = await env.cluster.get_lease(env.namespace, "shiftroom-microservices")
    assert lease is not None and lease.holder == engine.identity  # held while the release is in progress
    ok, message = await do(engine, "switch", key)  # switch back while blue is still up
    assert ok, message
    await run_until(engine, clock, lambda: rollout(engine, key).active_color == "blue", limit=30)
    svc = await env.get("v1", "Service", "microservices") or {}
    assert svc["spec"]["selector"]["version"] == "blue"
    await run_until(engine, clock, lambda: rollout(engine, key).driver == "", limit=5)
    lease = await env.cluster.get_lease(env.namespace, "shiftroom-microservices")
    assert lease is not None and lease.holder == ""  # switched back, nothing pending: given back
    await flushed(engine)
    events = [e for e in await env.cluster.events(env.namespace) if e.object == "Service/microservices"]
    assert {"Start", "Switch", "SwitchBack"} <= {e.reason for e in events}
    await engine.stop()
    lease = await env.cluster.get_lease(env.namespace, "shiftroom-microservices")
    assert lease is not None and lease.holder == ""


async def _seed_canary(env: Env) -> Target:
    env.needs_ready_pods()
    await env.install_crds("istio")
    target = canary_to_target(yaml.safe_load(CANARY_YAML), "canary.yaml", namespace=env.namespace).target
    target = target.model_copy(update={"replicas": 2})
    for name, image in (("microservices", "microservices/api:1.0"), ("microservices-primary", "microservices/api:1.0")):
        await env.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name},
                "spec": {
                    "replicas": 2 if name.endswith("primary") else 0,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": image}]},
                    },
                },
            }
        )
    await env.apply(
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": "microservices"},
            "spec": {
                "hosts": ["microservices.example.com"],
                "gateways": ["microservices-gateway"],
                "http": [
                    {
                        "route": [
                            {"destination": {"host": "microservices-primary"}, "weight": 100},
                            {"destination": {"host": "microservices-canary"}, "weight": 0},
                        ]
                    }
                ],
            },
        }
    )
    return target


async def test_seed_canary_walks_to_promotion(env: Env) -> None:
    target = await _seed_canary(env)
    tester = LoadTester()
    engine, clock = engine_for(env, [target], HealthyMetrics(), tester)
    key = target.key
    await engine.run_pass()
    await env.cluster.set_image(env.namespace, "microservices", "app", "microservices/api:2.0")  # the release
    await run_until(engine, clock, lambda: rollout(engine, key).phase is Phase.SUCCEEDED, limit=600)
    steps = [e.after.get("weights") for e in engine.state.events if e.target == key and e.action == "step"]
    assert steps == ["90/10", "80/20", "70/30", "60/40", "50/50"]
    primary = await env.cluster.get_deployment(env.namespace, "microservices-primary")
    assert primary.image == "microservices/api:2.0"
    route = await env.cluster.get_route(env.namespace, "microservices")
    assert route.weights == {"microservices-primary": 100, "microservices": 0}
    assert (await env.cluster.get_deployment(env.namespace, "microservices")).replicas == 0
    assert "load-test" in tester.calls
    await flushed(engine)
    events = {e.reason for e in await env.cluster.events(env.namespace) if e.object == "Deployment/microservices"}
    assert {"Start", "Step", "Promote"} <= events, events
    await engine.stop()


async def test_seed_canary_rolls_back_on_bad_metrics(env: Env) -> None:
    target = await _seed_canary(env)
    metrics = HealthyMetrics()
    metrics.bad = True
    engine, clock = engine_for(env, [target], metrics, LoadTester())
    key = target.key
    await engine.run_pass()
    await env.cluster.set_image(env.namespace, "microservices", "app", "microservices/api:2.0")
    await run_until(engine, clock, lambda: rollout(engine, key).phase is Phase.FAILED, limit=600)
    assert (await env.cluster.get_deployment(env.namespace, "microservices-primary")).image == "microservices/api:1.0"
    assert (await env.cluster.get_route(env.namespace, "microservices")).weights["microservices"] == 0
    await flushed(engine)
    warnings = [e for e in await env.cluster.events(env.namespace) if e.reason == "Rollback"]
    assert warnings and warnings[0].type == "Warning"
    await engine.stop()


async def test_room_killed_mid_canary_resumes_the_same_step_and_two_rooms_have_one_driver(env: Env) -> None:
    target = await _seed_canary(env)
    key = target.key
    first, clock = engine_for(env, [target], HealthyMetrics(), LoadTester())
    await first.run_pass()
    await env.cluster.set_image(env.namespace, "microservices", "app", "microservices/api:2.0")
    await run_until(first, clock, lambda: rollout(first, key).step >= 2, limit=300)
    step, desired = rollout(first, key).step, rollout(first, key).desired
    other = Engine(
        clock=clock,
        cluster=env.cluster,
        metrics=HealthyMetrics(),
        targets=[target],
        webhooks=LoadTester(),
        mode=Mode.LIVE,
        context="test",
        actor="other@host",
    )
    for _ in range(40):  # a second room while the first one lives: hands-off
        await other.run_pass()
        if rollout(other, key).driver == first.identity:
            break
        await asyncio.sleep(0.05)
    assert rollout(other, key).driver == first.identity
    assert not await possible(other, "pause", key)
    await first.stop()  # the room is killed: its lease is released
    again = Engine(
        clock=clock,
        cluster=env.cluster,
        metrics=HealthyMetrics(),
        targets=[target],
        webhooks=LoadTester(),
        mode=Mode.LIVE,
        context="test",
        actor="tester@host",
    )
    for _ in range(40):
        await again.run_pass()
        if rollout(again, key).driver == again.identity:
            break
        await clock.advance(1.0)
        await asyncio.sleep(0.05)
    r = rollout(again, key)
    assert r.driver == again.identity and r.phase is Phase.PROGRESSING
    assert (r.step, r.desired) == (step, desired)  # from the shiftroom.io/state annotation
    await run_until(again, clock, lambda: rollout(again, key).phase is Phase.SUCCEEDED, limit=600)
    await again.stop()
    await other.stop()
