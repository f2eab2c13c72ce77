"""The informer watch: RESET, ADDED…, SYNCED, then changes; bookmarks, 410, outages, stalls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.model import Target
from backends.base import Unavailable, WatchEvent
from tests.kube_helpers import Env, deployment, env_fixture, make_cluster, service


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request):
        yield e


async def next_event(it: Any, timeout: float = 10.0) -> WatchEvent:
    return await asyncio.wait_for(it.__anext__(), timeout)


async def until(it: Any, pred: Any, timeout: float = 10.0) -> list[WatchEvent]:
    seen: list[WatchEvent] = []
    while True:
        ev = await next_event(it, timeout)
        seen.append(ev)
        if pred(ev):
            return seen


def names(events: list[WatchEvent]) -> list[tuple[str, str | None, str]]:
    return [(e.type, e.kind, getattr(e.object, "name", "")) for e in events]


async def test_list_then_watch(env: Env) -> None:
    await env.apply(deployment("shop", "shop:1"))
    await env.apply(service("shop", {"app": "shop"}))
    it = env.cluster.watch()
    try:
        first = await until(it, lambda e: e.type == "SYNCED")
        assert first[0].type == "RESET" and first[0].kind is None
        assert set(names(first[1:-1])) == {("ADDED", "Deployment", "shop"), ("ADDED", "Service", "shop")}
        await env.cluster.set_image(env.namespace, "shop", "app", "shop:2")
        # the first change seen may be a controller's status write of the old spec (on a real cluster)
        seen = await until(it, lambda e: e.kind == "Deployment" and getattr(e.object, "image", "") == "shop:2")
        assert seen[-1].type == "MODIFIED"
        assert all(e.type == "MODIFIED" for e in seen if e.kind == "Deployment")
    finally:
        await it.aclose()


async def test_bookmarks_move_the_resume_point_without_events(env: Env) -> None:
    server = env.needs_server("needs bookmarks every 0.2 s (a real API server sends about one a minute)")
    await env.apply(deployment("shop", "shop:1"))
    informer = env.cluster.informer()
    it = informer.events()
    try:
        await until(it, lambda e: e.type == "SYNCED")
        await asyncio.sleep(0.8)  # bookmarks every 0.2 s in the fixture; none becomes an event
        await env.apply(service("late", {"app": "late"}))
        ev = await next_event(it)
        assert (ev.type, ev.kind) == ("ADDED", "Service"), ev
        watches = [r for r in server.requests if r.query.get("watch") in ("true", "1")]
        assert watches and all(r.query.get("allowWatchBookmarks") == "true" for r in watches)
        assert all(r.query.get("resourceVersion") for r in watches)
    finally:
        await it.aclose()


async def test_410_gone_lists_again(env: Env, kube_api_factory: Any) -> None:
    env.needs_server("compacts the server's history on demand")
    server = kube_api_factory(bookmark_interval=3600)  # no bookmarks: the resume point stays behind
    server.apply(deployment("shop", "shop:1", ready=True) | {"metadata": {"name": "shop", "namespace": "default"}})
    cluster = await make_cluster(server.kubeconfig, watch_timeout=1)  # short watches: they resume
    it = cluster.informer().events()
    try:
        await until(it, lambda e: e.type == "SYNCED")
        server.apply(service("other", {"app": "other"}) | {"metadata": {"name": "other", "namespace": "default"}})
        await until(it, lambda e: e.kind == "Service")
        server.compact()  # the Deployment watch resumes from a version the server no longer has
        seen = await until(it, lambda e: e.type == "SYNCED", timeout=15)
        assert ("RESET", None, "") in names(seen)
        after = names(seen)[names(seen).index(("RESET", None, "")) :]
        assert ("ADDED", "Deployment", "shop") in after and ("ADDED", "Service", "other") in after
        assert any(r.query.get("watch") == "true" and r.status == 200 for r in server.requests)
    finally:
        await it.aclose()
        await cluster.close()


async def test_outage_ends_the_watch_and_a_new_one_resyncs(env: Env) -> None:
    server = env.needs_server("makes the API server unreachable and back")
    await env.apply(deployment("shop", "shop:1"))
    it = env.cluster.watch()
    await until(it, lambda e: e.type == "SYNCED")
    server.set_reachable(False)
    with pytest.raises(Unavailable) as err:
        await until(it, lambda e: False)
    assert "reconnect" in str(err.value) or "not reachable" in str(err.value)
    again = env.cluster.watch()
    with pytest.raises(Unavailable):  # still down: the list fails with the reason
        await next_event(again) and await next_event(again)
    assert env.cluster.backoff.delay > 0
    server.set_reachable(True)
    third = env.cluster.watch()
    try:
        seen = await until(third, lambda e: e.type == "SYNCED", timeout=15)
        assert seen[0].type == "RESET" and ("ADDED", "Deployment", "shop") in names(seen)
        assert env.cluster.backoff.delay == 0
    finally:
        await third.aclose()


async def test_stalled_stream_hits_the_deadline(env: Env) -> None:
    server = env.needs_server("stalls the watch streams")
    await env.apply(deployment("shop", "shop:1"))
    cluster = await env.make_cluster(stall=1.0)
    it = cluster.watch()
    try:
        await until(it, lambda e: e.type == "SYNCED")
        server.stall_watches(True)
        with pytest.raises(Unavailable) as err:
            await until(it, lambda e: False, timeout=10)
        assert "1 s" in str(err.value)
    finally:
        server.stall_watches(False)
        await it.aclose()
        await cluster.close()


async def test_routes_and_foreign_objects_and_invalid_markers(env: Env) -> None:
    await env.install_crds("istio", "flagger")
    target = Target(name="shop", namespace=env.namespace, deployment="shop", router="istio")
    cluster = await env.make_cluster(targets=[target])
    await env.apply(
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": "shop"},
            "spec": {
                "hosts": ["shop"],
                "http": [
                    {
                        "route": [
                            {"destination": {"host": "shop-primary"}, "weight": 90},
                            {"destination": {"host": "shop-canary"}, "weight": 10},
                        ]
                    }
                ],
            },
        }
    )
    await env.apply(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "shop"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"},
                "service": {"port": 80},
                "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10},
            },
        }
    )
    if env.server is not None:  # a real API server refuses it (image: Required value)
        bad = deployment("bad", "x:1")
        bad["spec"]["template"]["spec"]["containers"] = [{"name": "app"}]
        await env.apply(bad, validate=False)
    await env.apply(deployment("good", "good:1"))
    it = cluster.watch()
    try:
        seen = await until(it, lambda e: e.type == "SYNCED")
        by = {(e.kind, getattr(e.object, "kind", ""), getattr(e.object, "name", "")): e for e in seen}
        route = by[("Route", "", "shop")].object
        assert route is not None and route.weights == {"shop-primary": 90, "shop": 10}  # type: ignore[union-attr]
        assert ("Foreign", "Canary", "shop") in by
        if env.server is not None:
            marker = by[("Foreign", "Invalid", "bad")].object
            assert marker is not None and "image" in marker.body["error"]  # type: ignore[union-attr]
        assert ("Deployment", "", "good") in by  # the bad one hides nothing
    finally:
        await it.aclose()
        await cluster.close()
