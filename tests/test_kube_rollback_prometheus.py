"""The seed's canary.yaml on the test API server, judged by a real Prometheus, rolled back end to end.

Prometheus (tests/servers/, 1 s scrapes) scrapes the simulator's Istio exporter
(backends/sim/exporter.py), whose world sends half of the canary's traffic to the new
revision, and the new revision fails one request in ten. The engine runs on a virtual
clock (a 30 s analysis interval passes in a few real milliseconds) and asks Prometheus for
the seed's three checks at each interval; Prometheus answers with what it scraped over
the check's 30 s window. Five failed checks later the canary is rolled back: the
VirtualService is back at 100/0, the canary Deployment at 0 replicas, the primary is
untouched, and the decision is in the audit log and a Warning Event on the Deployment.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from app.clock import ScaledClock, VirtualClock
from app.control.engine import Engine
from app.live import EventAudit
from app.model import Mode, Phase
from backends.prometheus import PrometheusMetrics
from backends.sim import Scenario, build_world
from backends.sim.behaviour import Behaviour
from backends.sim.exporter import start_exporter
from backends.sim.store import SimAudit
from tests.kube_helpers import Env, env_fixture
from tests.servers.prometheus import PromServer, require_prometheus, start_prometheus
from tests.test_kube_e2e import NS, LoadTester, _seed_canary, flushed, rollout, run_until

pytestmark = pytest.mark.integration

RELEASE = "microservices/api:2.0"  # the canary's new revision, on the cluster and in the exporter's world
CANARY = 'destination_workload="microservices",destination_workload_namespace="microservices"'


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request, controller="auto", namespace=NS):
        yield e


@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromServer]:
    """A real Prometheus scraping a world whose canary fails 10 % of its requests (half the traffic)."""
    require_prometheus()
    clock = ScaledClock(speed=1.0)
    scenario = Scenario(
        name="failing-canary",
        rps={"microservices-canary": 200},
        behaviour={RELEASE: Behaviour(success_rate=90, p50_ms=40, p99_ms=180, ready_after=0)},
    )
    world = build_world(scenario, clock)
    world.set_image(NS, "microservices", "app", RELEASE)
    world.scale(NS, "microservices", 2)
    world.set_weights(NS, "microservices-canary", {"microservices-primary": 50, "microservices": 50})
    lock, stop = threading.Lock(), threading.Event()

    def tick() -> None:
        while not stop.is_set():
            with lock:
                world.tick(clock.now())
            stop.wait(0.02)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    exporter = start_exporter(world)
    prom = start_prometheus(tmp_path_factory.mktemp("prom"), [exporter.url])
    try:
        # the canary's failing requests are in Prometheus, with enough scrapes in a 30 s window for rate()
        prom.wait_for(f'count_over_time(istio_requests_total{{{CANARY},response_code="500"}}[30s])', 3, timeout=30)
        yield prom
    finally:
        prom.stop()
        stop.set()
        ticker.join(5)
        exporter.close()


async def test_seed_canary_is_rolled_back_on_a_real_prometheus(env: Env, prometheus: PromServer) -> None:
    target = await _seed_canary(env)
    primary_before = await env.get("apps/v1", "Deployment", "microservices-primary") or {}
    clock = VirtualClock()
    metrics = PrometheusMetrics(prometheus.url, clock=clock, timeout=2.0, retries=1, backoff=0.05)
    env.cluster.add_target(target)
    audit = EventAudit(SimAudit(), env.cluster, [target])
    engine = Engine(
        clock=clock,
        cluster=env.cluster,
        metrics=metrics,
        targets=[target],
        audit=audit,
        webhooks=LoadTester(),
        mode=Mode.LIVE,
        context="test",
        actor="tester@host",
    )
    key = target.key
    try:
        await engine.run_pass()
        await env.cluster.set_image(NS, "microservices", "app", RELEASE)  # the release
        await run_until(engine, clock, lambda: rollout(engine, key).phase is Phase.FAILED, limit=900)
        r = rollout(engine, key)
        failing = {c.name: c for c in r.checks if not c.passed}
        assert {"request-success-rate", "error-rate"} <= set(failing), r.checks
        for c in failing.values():
            assert c.status == "ok" and c.value is not None, c  # measured by Prometheus, not missing
            assert 'destination_workload="microservices"' in c.query, c.query  # the canary's own series
        assert 5 < failing["error-rate"].value < 15
        assert 85 < failing["request-success-rate"].value < 95
        checks = [e for e in engine.state.events if e.target == key and e.action == "check-failed"]
        assert len(checks) == target.analysis.threshold - 1  # the fifth failure is the rollback itself

        vs = await env.get("networking.istio.io/v1beta1", "VirtualService", "microservices") or {}
        weights = {d["destination"]["host"]: d["weight"] for d in vs["spec"]["http"][0]["route"]}
        assert weights == {"microservices-primary": 100, "microservices-canary": 0}
        canary = await env.get("apps/v1", "Deployment", "microservices") or {}
        assert canary["spec"]["replicas"] == 0
        primary = await env.get("apps/v1", "Deployment", "microservices-primary") or {}
        assert primary["spec"] == primary_before["spec"]  # untouched: still the stable revision
        assert primary["metadata"]["generation"] == primary_before["metadata"]["generation"]

        await flushed(engine)
        (entry,) = [e for e in await audit.inner.recent() if e.target == key and e.action == "rollback"]
        assert "request-success-rate" in entry.reason and "error-rate" in entry.reason
        events = [e for e in await env.cluster.events(NS) if e.object == "Deployment/microservices"]
        (event,) = [e for e in events if e.reason == "Rollback"]
        assert event.type == "Warning" and "error-rate" in event.message
    finally:
        await engine.stop()
        await metrics.aclose()
