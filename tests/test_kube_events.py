"""events.k8s.io/v1 Events on the test Kubernetes API server: listed and watched with the other kinds,
kept when they are about a target's objects (another controller's included), capped, read defensively."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.clock import VirtualClock
from app.control.engine import Engine
from app.model import Rollout, Target
from backends.base import ClusterEvent, ForeignObject, WatchEvent
from tests.kube_helpers import Env, deployment, env_fixture, make_cluster
from tests.test_engine_foreign_kube import NoData
from tests.test_kube_watch import until as until_event


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request):
        yield e


def micro(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def event(
    ns: str,
    name: str,
    about: tuple[str, str, str],
    reason: str,
    note: str,
    *,
    type_: str = "Normal",
    controller: str = "test-controller",
    t: float | None = None,
) -> dict[str, Any]:
    api_version, kind, obj = about
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name},
        "eventTime": micro(time.time() if t is None else t),
        "reportingController": controller,
        "reportingInstance": f"{controller}-1",
        "action": reason,
        "reason": reason,
        "regarding": {"apiVersion": api_version, "kind": kind, "name": obj, "namespace": ns},
        "note": note,
        "type": type_,
    }


CANARY = {
    "apiVersion": "flagger.app/v1beta1",
    "kind": "Canary",
    "metadata": {"name": "podinfo"},
    "spec": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 80},
        "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10},
    },
}


async def engine_until(engine: Engine, key: str, found: Callable[[Rollout], bool], seconds: float = 15.0) -> Rollout:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await engine.run_pass()
        row = engine.state.rollout(key)
        if row is not None and found(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s: {engine.state.rollout(key)}")


def room(env: Env, targets: list[Target], cluster: Any = None) -> Engine:
    """An engine on the cluster whose clock is the wall clock's time (the Events' ages are real)."""
    return Engine(
        clock=VirtualClock(time.time()),
        cluster=cluster or env.cluster,
        metrics=NoData(),
        targets=targets,
        namespaces=(env.namespace,),
        identity="shiftroom@test",
    )


def reasons(row: Rollout) -> list[str]:
    return [e.reason for e in row.events]


async def test_other_controllers_events_about_the_targets_objects_reach_the_snapshot(env: Env) -> None:
    await env.install_crds("flagger")
    ns = env.namespace
    await env.apply(deployment("shop", "shop:1"))
    await env.apply(deployment("other", "other:1"))
    await env.settle()  # the Deployment controller scales a ReplicaSet up and says so in an Event
    await env.apply(CANARY)
    flagger_note = "Halt advancement no values found for istio metric request-success-rate"
    canary_event = event(ns, "podinfo.1", ("flagger.app/v1beta1", "Canary", "podinfo"), "Synced", flagger_note)
    await env.apply(canary_event | {"type": "Warning", "reportingController": "flagger"})
    await env.apply(event(ns, "other.1", ("apps/v1", "Deployment", "other"), "Noise", "about no target"))
    target = Target(name="shop", namespace=ns, deployment="shop")
    engine = room(env, [target])
    try:
        row = await engine_until(engine, f"{ns}/shop", lambda r: "ScalingReplicaSet" in reasons(r))
        scaled = next(e for e in row.events if e.reason == "ScalingReplicaSet")
        assert scaled.object == "Deployment/shop" and scaled.controller == "deployment-controller"
        assert scaled.type == "Normal" and "Scaled up replica set shop-" in scaled.message
        assert "SuccessfulCreate" in reasons(row), "a ReplicaSet's Events count for its Deployment"
        assert not [e for e in row.events if e.object == "Deployment/other" or e.object.startswith("ReplicaSet/other-")]
        assert "Noise" not in reasons(row)
        canary = await engine_until(engine, f"{ns}/podinfo", lambda r: "Synced" in reasons(r))
        (synced,) = canary.events
        assert (synced.type, synced.controller, synced.message) == ("Warning", "flagger", flagger_note)
        times = [e.t for e in row.events]
        assert times == sorted(times, reverse=True), "newest first"
    finally:
        await engine.stop()


def delivered(seen: list[WatchEvent]) -> dict[str, Any]:
    """Event name → what the watch delivered for it (a `ClusterEvent`, or an Invalid marker)."""
    out: dict[str, Any] = {}
    for e in seen:
        if isinstance(e.object, ClusterEvent):
            out[e.object.name] = e.object
        elif isinstance(e.object, ForeignObject) and e.object.kind == "Invalid":
            out[e.object.name] = e.object
    return out


async def test_a_malformed_event_hides_no_other_and_events_of_other_kinds_are_not_kept(env: Env) -> None:
    ns = env.namespace
    good = event(ns, "shop.good", ("apps/v1", "Deployment", "shop"), "ScalingReplicaSet", "Scaled up to 3")
    await env.apply(good)
    await env.apply(event(ns, "shop.pod", ("v1", "Pod", "shop-abc"), "Pulled", "image pulled"))
    env.needs_server("stores Events a real API server refuses (422)")
    await env.apply(good | {"metadata": {"name": "shop.bad-note"}, "note": 123}, validate=False)
    nowhere = {k: v for k, v in good.items() if k != "regarding"} | {"metadata": {"name": "shop.nowhere"}}
    await env.apply(nowhere, validate=False)
    await env.apply(good | {"metadata": {"name": "shop.bad-type"}, "type": "Fatal\x1b[2J"}, validate=False)
    it = env.cluster.watch()
    try:
        got = delivered(await until_event(it, lambda e: e.type == "SYNCED"))
    finally:
        await it.aclose()
    assert "shop.pod" not in got, "Events about Pods are not what a target is made of"
    ok = got["shop.good"]
    assert (ok.reason, ok.message, ok.controller, ok.object, ok.group) == (
        "ScalingReplicaSet",
        "Scaled up to 3",
        "test-controller",
        "Deployment/shop",
        "apps",
    )
    bad = got["shop.bad-note"]
    assert (bad.type, bad.reason, bad.object) == ("Warning", "Invalid", "Deployment/shop")
    assert bad.message == "Event shop.bad-note could not be read: its note is not a string."
    assert "neither Normal nor Warning" in got["shop.bad-type"].message
    marker = got["shop.nowhere"]
    assert isinstance(marker, ForeignObject) and "regarding" in marker.body["error"]


async def test_410_gone_lists_the_events_again(env: Env, kube_api_factory: Any) -> None:
    env.needs_server("compacts the server's history on demand")
    server = kube_api_factory(bookmark_interval=3600)  # no bookmarks: the resume point stays behind
    first = event("default", "shop.1", ("apps/v1", "Deployment", "shop"), "ScalingReplicaSet", "Scaled up to 1")
    server.apply(first | {"metadata": {"name": "shop.1", "namespace": "default"}})
    cluster = await make_cluster(server.kubeconfig, watch_timeout=1)
    it = cluster.informer().events()
    try:
        assert "shop.1" in delivered(await until_event(it, lambda e: e.type == "SYNCED"))
        second = event("default", "shop.2", ("apps/v1", "Deployment", "shop"), "ScalingReplicaSet", "Scaled up to 2")
        server.apply(second | {"metadata": {"name": "shop.2", "namespace": "default"}})
        watched = await until_event(it, lambda e: isinstance(e.object, ClusterEvent) and e.object.name == "shop.2")
        assert watched[-1].type == "ADDED" and watched[-1].kind == "Event"
        server.compact()  # the Events watch resumes from a version the server no longer has: 410 Gone
        seen = await until_event(it, lambda e: e.type == "SYNCED", timeout=15)
        after = seen[[e.type for e in seen].index("RESET") :]
        assert {"shop.1", "shop.2"} <= set(delivered(after)), "a new list brings every Event back"
    finally:
        await it.aclose()
        await cluster.close()


async def test_the_newest_twenty_within_the_hour_are_kept_per_target(env: Env) -> None:
    ns = env.namespace
    now = time.time()
    for i in range(25):
        await env.apply(
            event(ns, f"shop.{i:02d}", ("apps/v1", "Deployment", "shop-primary"), "Step", f"step {i}", t=now - 100 + i)
        )
    await env.apply(event(ns, "shop.old", ("apps/v1", "Deployment", "shop"), "Old", "two hours ago", t=now - 7200))
    engine = room(env, [Target(name="shop", namespace=ns, deployment="shop")])
    try:
        row = await engine_until(engine, f"{ns}/shop", lambda r: len(r.events) >= 20)
        assert [e.message for e in row.events] == [f"step {i}" for i in range(24, 4, -1)]
        assert "Old" not in reasons(row)
        assert len(engine.cache.events) <= 20, "no more is kept than is shown"
    finally:
        await engine.stop()


async def test_an_identity_that_may_not_list_events_gets_one_denied_instead_of_them(env: Env, tmp_path: Any) -> None:
    import yaml

    from tests.test_kube_permissions_room import RBAC

    server = env.needs_server("grants a hand-written role")
    viewer = next(d for d in yaml.safe_load_all(RBAC.read_text()) if d and d["metadata"]["name"] == "shiftroom-viewer")
    rules = [r for r in viewer["rules"] if "events" not in r["resources"]]
    assert len(rules) == len(viewer["rules"]) - 1, "the viewer role grants the Events it shows"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "no-events"}}
    await asyncio.to_thread(server.apply, role | {"rules": rules})
    await env.apply(deployment("shop", "shop:1"))
    await env.apply(event(env.namespace, "shop.1", ("apps/v1", "Deployment", "shop"), "Step", "hidden"))
    kubeconfig, _ = await env.identity("blind", "no-events", tmp_path / "blind.yaml")
    cluster = await env.make_cluster(kubeconfig, read_only=True)
    it = cluster.watch()
    try:
        seen = await until_event(it, lambda e: e.type == "SYNCED")
    finally:
        await it.aclose()
        await cluster.close()
    assert ("ADDED", "Deployment") in [(e.type, e.kind) for e in seen]
    assert [e.type for e in seen if e.kind == "Event"] == ["DENIED"]  # said once, not an empty list of Events
