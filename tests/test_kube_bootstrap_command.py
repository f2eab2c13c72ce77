"""Canary bootstrap as an engine command, end to end on the test API server: a canary target whose
`<d>-primary`, Services and route are missing is shown as needing a bootstrap and not driven; the
preview lists exactly the objects it will create; a confirmation made stale by a change is refused;
confirmed, the objects exist with Shiftroom's label, the audit trail and a Kubernetes Event say so;
a read-only room refuses it without a request; a second run creates nothing; and the room's `B`
opens the same preview and confirms it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.clock import VirtualClock
from app.control.commands import BootstrapCanary
from app.control.engine import Engine
from app.live import EventAudit
from app.model import Mode, Target
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from backends.sim.store import SimAudit
from tests.kube_helpers import Env, deployment, env_fixture, make_cluster, service
from tests.test_kube_e2e import HealthyMetrics
from widgets.why import WhyPane

MANAGED = {"app.kubernetes.io/managed-by": "shiftroom"}


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request, controller="auto"):
        yield e


def _target(env: Env) -> Target:
    return Target(name="shop", namespace=env.namespace, deployment="shop", replicas=2, router="istio")


def _engine(env: Env, target: Target, cluster: Any = None) -> Engine:
    cluster = cluster or env.cluster
    cluster.add_target(target)
    return Engine(
        clock=VirtualClock(),
        cluster=cluster,
        metrics=HealthyMetrics(),
        targets=[target],
        audit=EventAudit(SimAudit(read_only=cluster.read_only), cluster, [target]),
        mode=Mode.READ_ONLY if cluster.read_only else Mode.LIVE,
        context="test",
        actor="tester@host",
    )


async def _until(engine: Engine, found: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await engine.run_pass()
        if found():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {[(r.key, r.needs_bootstrap, r.message) for r in engine.state.rollouts]}")


def _needs(engine: Engine, key: str) -> tuple[str, ...]:
    row = engine.state.rollout(key)
    return row.needs_bootstrap if row is not None else ()


def _creates(server: Any) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and not r.path.endswith("/events")]


async def _setup(env: Env) -> tuple[Target, str]:
    env.needs_server().install_crds("istio")
    await env.apply(deployment("shop", "shop:1", replicas=3, port=8080))
    return _target(env), env.namespace


async def test_bootstrap_previews_creates_audits_and_then_has_nothing_to_do(env: Env) -> None:
    server = env.needs_server()
    target, ns = await _setup(env)
    engine = _engine(env, target)
    key = target.key
    missing = (f"Deployment {ns}/shop-primary", f"Service {ns}/shop-primary", f"Service {ns}/shop-canary")
    await _until(engine, lambda: bool(_needs(engine, key)))
    row = engine.state.rollout(key)
    assert row is not None and row.needs_bootstrap == (*missing, f"VirtualService {ns}/shop")
    assert row.message == f"needs bootstrap: {', '.join(row.needs_bootstrap)}"
    assert await env.cluster.get_lease(ns, "shiftroom-shop") is None  # not driven while its layout is missing

    preview = await engine.preview(BootstrapCanary(key))
    assert preview.possible and preview.destructive  # `shop` goes to 0 replicas: it asks first
    assert preview.lines == (
        f"create Deployment {ns}/shop-primary from shop's template (2 replicas)",
        f"create Service {ns}/shop-primary selecting app=shop-primary",
        f"create Service {ns}/shop-canary selecting app=shop",
        f"create VirtualService {ns}/shop at 100/0",
        f"scale Deployment {ns}/shop 3 → 0 (the primary serves until a release)",
        "created objects are labelled app.kubernetes.io/managed-by: shiftroom; nothing is replaced or deleted",
    )
    created = [c.what for c in preview.changes if c.after == "created"]
    assert created == [*missing, f"VirtualService {ns}/shop"]

    # Someone makes the canary Service meanwhile: the confirmed preview is stale, the fresh one leaves it out.
    theirs = service("shop-canary", {"app": "shop"}, port=8080)
    theirs["metadata"]["labels"] = {"owner": "team"}
    await env.apply(theirs)
    stale = await engine.execute(BootstrapCanary(key), confirmed=preview)
    assert not stale.ok and stale.stale and stale.preview is not None
    assert f"create Service {ns}/shop-canary selecting app=shop" not in stale.preview.lines
    assert await env.get("apps/v1", "Deployment", "shop-primary") is None  # nothing written

    server.clear_requests()
    done = await engine.execute(BootstrapCanary(key), confirmed=stale.preview)
    assert done.ok, done.message
    posted = sorted(r.path.rsplit("/", 1)[-1] for r in _creates(server))
    assert posted == ["deployments", "services", "virtualservices"]
    assert not [r for r in server.requests if r.method == "DELETE"]
    primary = await env.get("apps/v1", "Deployment", "shop-primary") or {}
    assert primary["metadata"]["labels"] == MANAGED
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == "shop:1"
    for kind, api_version, name in (
        ("Service", "v1", "shop-primary"),
        ("VirtualService", "networking.istio.io/v1beta1", "shop"),
    ):
        obj = await env.get(api_version, kind, name) or {}
        assert obj["metadata"]["labels"] == MANAGED, (kind, obj)
    assert ((await env.get("v1", "Service", "shop-primary")) or {})["spec"]["ports"][0]["port"] == 8080
    assert ((await env.get("v1", "Service", "shop-canary")) or {})["metadata"]["labels"] == {"owner": "team"}
    assert (await env.cluster.get_route(ns, "shop")).weights == {"shop-primary": 100, "shop": 0}
    assert (await env.cluster.get_deployment(ns, "shop")).replicas == 0

    await engine.trail.flush()
    (entry,) = [e for e in engine.state.events if e.target == key and e.action == "bootstrap"]
    assert entry.actor == "tester@host" and f"Deployment {ns}/shop-primary" in entry.after["created"]
    assert [e for e in await engine.audit.recent() if e.action == "bootstrap"]  # type: ignore[union-attr]
    events = [e for e in await env.cluster.events(ns) if e.object == "Deployment/shop" and e.reason == "Bootstrap"]
    assert events and "VirtualService" in events[0].message

    # Complete now: the row says nothing is missing, the engine drives it, a second run creates nothing.
    await _until(engine, lambda: not _needs(engine, key))
    await _until(engine, lambda: (engine.state.rollout(key) or row).driver == engine.identity)
    server.clear_requests()
    again = await engine.preview(BootstrapCanary(key))
    assert not again.possible and "nothing to bootstrap" in again.lines[0]
    result = await engine.execute(BootstrapCanary(key))
    assert not result.ok and _creates(server) == []
    await engine.stop()


async def test_a_read_only_room_refuses_it_without_a_request(env: Env) -> None:
    server = env.needs_server()
    target, _ = await _setup(env)
    ro = await make_cluster(env.kubeconfig, read_only=True, namespaces=[env.namespace])
    engine = _engine(env, target, ro)
    try:
        await _until(engine, lambda: bool(_needs(engine, target.key)))  # shown in read-only rooms too
        server.clear_requests()
        preview = await engine.preview(BootstrapCanary(target.key))
        assert not preview.possible and "read-only" in preview.lines[0]
        result = await engine.execute(BootstrapCanary(target.key), confirmed=preview)
        assert not result.ok and "read-only" in result.message
        assert [r for r in server.requests if r.method != "GET"] == []
        assert await env.get("apps/v1", "Deployment", "shop-primary") is None
    finally:
        await engine.stop()
        await ro.close()


async def test_the_room_offers_b_and_confirms_the_preview(env: Env) -> None:
    target, ns = await _setup(env)
    engine = _engine(env, target)
    app = ShiftroomApp(engine)
    app.animation_level = "none"
    async with app.run_test(size=(160, 45)) as pilot:
        await _until(engine, lambda: bool(_needs(engine, target.key)))
        await pilot.pause()
        assert app.screen.active_bindings["B"].enabled
        assert "needs bootstrap: Deployment" in app.query_one(WhyPane).headline_text
        await pilot.press("B")
        deadline = time.monotonic() + 10
        while not isinstance(app.screen, ConfirmScreen) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert f"create VirtualService {ns}/shop at 100/0" in dialog.preview.lines
        await pilot.click("#confirm")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any(f"{target.key} bootstrapped" in str(n.message) for n in app._notifications)
        assert (await env.get("apps/v1", "Deployment", "shop-primary") or {})["metadata"]["labels"] == MANAGED
        await _until(engine, lambda: not _needs(engine, target.key))
        await pilot.pause()
        assert not app.screen.active_bindings["B"].binding.show  # complete: no longer offered (a hidden key says why)
        await pilot.press("B")
        await pilot.pause()
        assert any("needs no bootstrap" in str(n.message) for n in app._notifications)
