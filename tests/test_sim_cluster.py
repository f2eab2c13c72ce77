"""SimCluster: readiness, revisions, read-only, optimistic concurrency, leases, probes, watches."""

from __future__ import annotations

import asyncio

import pytest

from app.clock import VirtualClock
from app.model import Strategy
from backends.base import Cluster, Conflict, Invalid, NotFound, ReadOnly, Unavailable
from backends.sim import SimCluster, build_world

NS = "microservices"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def world(clock: VirtualClock):
    return build_world(None, clock)


def test_default_world_is_the_seed(world) -> None:
    assert isinstance(world.cluster, Cluster)
    bg, canary = world.targets
    assert (bg.name, bg.strategy, bg.deployment, bg.service) == (
        "frontend",
        Strategy.BLUE_GREEN,
        "microservices",
        "microservices",
    )
    assert (bg.blue_green.health_checks, bg.blue_green.health_interval, bg.blue_green.stabilize) == (10, 5.0, 30.0)
    assert (canary.name, canary.strategy, canary.deployment) == (
        "microservices-canary",
        Strategy.CANARY,
        "microservices",
    )
    a = canary.analysis
    assert (a.interval, a.threshold, a.max_weight, a.step_weight) == (30.0, 5, 50, 10)
    assert [(m.name, m.min, m.max) for m in a.metrics] == [
        ("request-success-rate", 99, None),
        ("request-duration", None, 500),
        ("error-rate", None, 1),
    ]
    blue = world.deployments[(NS, "microservices-blue")]
    assert (blue.image, blue.replicas, blue.labels) == (
        "microservices/frontend:stable",
        3,
        {"app": "microservices", "version": "blue"},
    )
    assert world.deployments[(NS, "microservices-green")].replicas == 0
    assert world.services[(NS, "microservices")].selector == {"app": "microservices", "version": "blue"}
    assert world.routes[(NS, "microservices-canary")].weights == {"microservices-primary": 100, "microservices": 0}
    assert world.deployments[(NS, "microservices-primary")].image == "microservices/api:1.4.0"


async def test_pods_become_ready_one_by_one_after_the_delay(world, clock) -> None:
    c = world.cluster
    await c.set_image(NS, "microservices-green", "frontend", "microservices/frontend:2.0.0")
    d = await c.scale(NS, "microservices-green", 3)
    assert (d.replicas, d.ready_replicas, d.ready) == (3, 0, False)
    seen = []
    for _ in range(16):
        await clock.advance(1)
        seen.append((await c.get_deployment(NS, "microservices-green")).ready_replicas)
    assert seen == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]
    assert (await c.get_deployment(NS, "microservices-green")).ready


async def test_a_rollout_keeps_old_pods_serving_until_new_ones_are_ready(world, clock) -> None:
    c = world.cluster
    rv0 = int((await c.get_deployment(NS, "microservices-blue")).resource_version)
    d = await c.set_image(NS, "microservices-blue", "frontend", "microservices/frontend:2.0.0")
    assert d.ready_replicas == 0 and int(d.resource_version) > rv0
    assert world.deployments[(NS, "microservices-blue")].serving(clock.now()) == {"microservices/frontend:stable": 3}
    await clock.advance(10)
    world.sync()
    assert world.deployments[(NS, "microservices-blue")].serving(clock.now()) == {
        "microservices/frontend:stable": 1,
        "microservices/frontend:2.0.0": 2,
    }
    await clock.advance(5)
    assert (await c.get_deployment(NS, "microservices-blue")).ready_replicas == 3
    assert world.deployments[(NS, "microservices-blue")].serving(clock.now()) == {"microservices/frontend:2.0.0": 3}


async def test_revision_history_and_undo_like_kubectl(world) -> None:
    c = world.cluster
    name = "microservices-primary"
    await c.set_image(NS, name, "app", "microservices/api:1.5.0")
    d = await c.set_image(NS, name, "app", "microservices/api:1.6.0")
    assert d.revision == 3
    assert [(r.revision, r.image) for r in await c.revisions(NS, name)] == [
        (1, "microservices/api:1.4.0"),
        (2, "microservices/api:1.5.0"),
        (3, "microservices/api:1.6.0"),
    ]
    d = await c.rollout_undo(NS, name)
    assert (d.revision, d.image) == (4, "microservices/api:1.5.0")
    assert [r.revision for r in await c.revisions(NS, name)] == [1, 3, 4]  # revision 2 moved to 4
    d = await c.rollout_undo(NS, name, to_revision=1)
    assert (d.revision, d.image) == (5, "microservices/api:1.4.0")
    with pytest.raises(NotFound):
        await c.rollout_undo(NS, name, to_revision=2)
    with pytest.raises(Invalid):
        await c.set_image(NS, name, "nope", "x:1")


async def test_undo_without_history_is_refused(world) -> None:
    with pytest.raises(Invalid, match="no previous revision"):
        await world.cluster.rollout_undo(NS, "microservices-blue")


async def test_unknown_objects_raise_not_found(world) -> None:
    c = world.cluster
    for call in (
        c.get_deployment(NS, "ghost"),
        c.get_service(NS, "ghost"),
        c.get_route(NS, "ghost"),
        c.scale("other", "microservices-blue", 1),
        c.get_annotations("Route", NS, "ghost"),
    ):
        with pytest.raises(NotFound):
            await call


def _state(world):
    now = world.clock.now()
    return (
        [d.view(now) for d in world.deployments.values()],
        [s.view() for s in world.services.values()],
        [r.view() for r in world.routes.values()],
        [x.view() for x in world.leases.values()],
        list(world.events),
        dict(world.probes),
    )


async def test_read_only_refuses_every_write_and_changes_nothing(world, clock) -> None:
    await world.cluster.acquire_lease(NS, "frontend", "me", 15)
    await clock.advance(3)
    world.sync()
    before = _state(world)
    ro = SimCluster(world, read_only=True)
    assert ro.read_only and isinstance(ro, Cluster)
    writes = [
        ro.set_image(NS, "microservices-green", "frontend", "x:2"),
        ro.scale(NS, "microservices-green", 3),
        ro.rollout_undo(NS, "microservices-blue"),
        ro.patch_selector(NS, "microservices", {"version": "green"}),
        ro.set_weights(NS, "microservices-canary", {"microservices-primary": 50, "microservices": 50}),
        ro.patch_annotations("Service", NS, "microservices", {"a": "b"}),
        ro.acquire_lease(NS, "frontend", "other", 15),
        ro.release_lease(NS, "frontend", "me"),
        ro.probe(NS, "microservices-blue"),
    ]
    for call in writes:
        with pytest.raises(ReadOnly) as err:
            await call
        assert "sim" in str(err.value) and str(err.value).count(".") == 1
    assert _state(world) == before
    assert (await ro.get_service(NS, "microservices")).selector["version"] == "blue"  # reads still work


async def test_stale_resource_version_conflicts(world) -> None:
    c = world.cluster
    svc = await c.get_service(NS, "microservices")
    await c.patch_selector(NS, "microservices", {"version": "green"}, resource_version=svc.resource_version)
    with pytest.raises(Conflict):
        await c.patch_selector(NS, "microservices", {"version": "blue"}, resource_version=svc.resource_version)
    assert (await c.get_service(NS, "microservices")).selector == {"app": "microservices", "version": "green"}
    route = await c.get_route(NS, "microservices-canary")
    split = {"microservices-primary": 90, "microservices": 10}
    new = await c.set_weights(NS, route.name, split, route.resource_version)
    with pytest.raises(Conflict):
        await c.set_weights(NS, route.name, {"microservices-primary": 80, "microservices": 20}, route.resource_version)
    with pytest.raises(Conflict):
        await c.patch_annotations("Route", NS, route.name, {"k": "v"}, resource_version=route.resource_version)
    await c.patch_annotations("Route", NS, route.name, {"k": "v"}, resource_version=new.resource_version)
    assert await c.get_annotations("Route", NS, route.name) == {"k": "v"}
    await c.patch_annotations("Route", NS, route.name, {"k": None})
    assert await c.get_annotations("Route", NS, route.name) == {}
    with pytest.raises(Invalid):
        await c.set_weights(NS, route.name, {"microservices-primary": 80, "microservices": 30})


async def test_lease_contention(world, clock) -> None:
    c = world.cluster
    assert await c.get_lease(NS, "frontend") is None
    a = await c.acquire_lease(NS, "frontend", "room-a", 15)
    assert a.holder == "room-a"
    with pytest.raises(Conflict, match="room-a"):
        await c.acquire_lease(NS, "frontend", "room-b", 15)
    await clock.advance(10)
    renewed = await c.acquire_lease(NS, "frontend", "room-a", 15)
    assert renewed.renewed == clock.now()
    await clock.advance(14)
    with pytest.raises(Conflict):
        await c.acquire_lease(NS, "frontend", "room-b", 15)
    await clock.advance(2)  # room-a stopped renewing: the lease expired
    assert (await c.acquire_lease(NS, "frontend", "room-b", 15)).holder == "room-b"
    await c.release_lease(NS, "frontend", "room-a")  # not the holder: nothing happens
    assert (await c.get_lease(NS, "frontend")).holder == "room-b"
    await c.release_lease(NS, "frontend", "room-b")
    assert (await c.acquire_lease(NS, "frontend", "room-a", 15)).holder == "room-a"


async def test_blue_green_probe_fails_first_checks_then_passes(clock) -> None:
    world = build_world("blue-green", clock)
    c = world.cluster
    ok, detail = await c.probe(NS, "microservices-green")
    assert not ok and "no ready pod" in detail
    await clock.advance(25)  # the release at 20 s annotates the Service for the controller
    svc = await c.get_service(NS, "microservices")
    image = svc.annotations["shiftroom.io/desired-image"]
    assert image == "microservices/frontend:2.0.0"
    await c.set_image(NS, "microservices-green", "frontend", image)
    await c.scale(NS, "microservices-green", 3)
    await clock.advance(24)  # ready_after: 8 s per pod
    assert (await c.get_deployment(NS, "microservices-green")).ready
    results = [(await c.probe(NS, "microservices-green"))[0] for _ in range(10)]
    assert results == [False] * 3 + [True] * 7
    assert any(e.reason == "Unhealthy" and e.type == "Warning" for e in await c.events(NS))
    await c.patch_selector(NS, "microservices", {"version": "green"})
    t = clock.now()
    await clock.advance(10)
    world.sync()
    rec = world.traffic.recorder
    assert rec.window(NS, "microservices-green", t, clock.now()).count > 300
    assert rec.window(NS, "microservices-blue", t, clock.now()).count == 0
    assert any(e.reason == "Scenario" and "green" in e.message for e in world.events)  # the `when` fired


async def test_watch_streams_changes_and_breaks_when_the_cluster_goes_away(world) -> None:
    c = world.cluster
    watch = c.watch(NS)
    first = [await asyncio.wait_for(watch.__anext__(), 1) for _ in range(8)]  # 4 deployments, 1 service, 1 route
    assert watch._queue.empty()
    assert [e.type for e in first] == ["RESET"] + ["ADDED"] * 6 + ["SYNCED"], "informer order: reset, list, synced"
    listed = [int(e.object.resource_version) for e in first[1:-1]]
    assert listed == sorted(listed), "the list comes in resourceVersion order"
    assert {(e.kind, e.object.name) for e in first[1:-1]} >= {
        ("Service", "microservices"),
        ("Route", "microservices-canary"),
    }
    other = c.watch("elsewhere")
    assert [(await other.__anext__()).type for _ in range(2)] == ["RESET", "SYNCED"], "an empty namespace lists nothing"
    await c.patch_selector(NS, "microservices", {"version": "green"})
    ev = await asyncio.wait_for(watch.__anext__(), 1)
    assert (ev.type, ev.kind, ev.object.selector["version"]) == ("MODIFIED", "Service", "green")
    assert other._queue.empty()
    world.set_cluster_down(True)
    with pytest.raises(Unavailable):
        await asyncio.wait_for(watch.__anext__(), 1)
    with pytest.raises(StopAsyncIteration):
        await watch.__anext__()
    await other.aclose()


async def test_unreachable_flag_and_scenario_outage(world, clock) -> None:
    c = world.cluster
    await c.ping()
    watch = c.watch(NS)
    for _ in range(8):
        await asyncio.wait_for(watch.__anext__(), 1)
    waiting = asyncio.ensure_future(watch.__anext__())
    await clock.settle()
    c.unreachable = True
    with pytest.raises(Unavailable):
        await asyncio.wait_for(waiting, 1)
    c.unreachable = True
    for call in (c.ping(), c.get_deployment(NS, "microservices-blue"), c.list_deployments(), c.events()):
        with pytest.raises(Unavailable):
            await call
    c.unreachable = False
    world.set_cluster_down(True)
    with pytest.raises(Unavailable, match="sim cluster"):
        await c.ping()
    world.set_cluster_down(False)
    assert len(await c.list_deployments(NS)) == 4


async def test_events_are_bounded_and_filtered_by_time(world, clock) -> None:
    c = world.cluster
    await c.scale(NS, "microservices-green", 1)
    t = clock.now()
    await clock.advance(1)
    await c.scale(NS, "microservices-green", 2)
    later = await c.events(NS, since=t)
    scaled = [e.message for e in later if e.reason == "ScalingReplicaSet"]
    assert scaled == ["Scaled up replica set microservices-green-1 to 2"]
    for i in range(600):
        world.event(NS, "x", "Spam", str(i))
    assert len(await c.events()) == 500


async def test_run_ticks_the_world_with_the_clock(world, clock) -> None:
    task = asyncio.create_task(world.run())
    await clock.run_for(30)
    assert world.now == clock.now()
    assert world.traffic.recorder.oldest == world.start + 1
    task.cancel()


def test_rps_of_a_target_and_a_long_clock_jump(world, clock) -> None:
    world.tick(clock.now() + 60)
    bg, canary = world.targets
    assert 30 < world.rps_of(bg) < 50 and 30 < world.rps_of(canary) < 50  # 40 rps each by default
    world.tick(clock.now() + 10 * 3600)  # hours at once: only the last 15 minutes are simulated
    assert world.now == clock.now() + 10 * 3600
    assert world.traffic.recorder.oldest == world.now - 899


async def test_changes_come_in_resource_version_order_and_a_reopened_watch_lists_again(world) -> None:
    c = world.cluster
    watch = c.watch(NS)
    for _ in range(8):
        await asyncio.wait_for(watch.__anext__(), 1)
    await c.patch_selector(NS, "microservices", {"version": "green"})
    await c.set_weights(NS, "microservices-canary", {"microservices-primary": 90, "microservices": 10})
    await c.acquire_lease(NS, "shiftroom-frontend", "room-a", 15)
    seen = [await asyncio.wait_for(watch.__anext__(), 1) for _ in range(5)]
    assert [(e.type, e.kind) for e in seen] == [
        ("MODIFIED", "Service"),
        ("ADDED", "Event"),  # SelectorChanged, as the API server keeps it
        ("MODIFIED", "Route"),
        ("ADDED", "Event"),
        ("ADDED", "Lease"),
    ]
    assert [e.object.reason for e in seen if e.kind == "Event"] == ["SelectorChanged", "WeightsChanged"]
    versions = [int(e.object.resource_version) for e in seen]
    assert versions == sorted(versions) and len(set(versions)) == 5, "one increasing sequence across kinds"
    c.unreachable = True
    with pytest.raises(Unavailable):
        await asyncio.wait_for(watch.__anext__(), 1)
    with pytest.raises(Unavailable):  # a watch opened while the API is away fails at once
        await c.watch(NS).__anext__()
    c.unreachable = False
    again = c.watch(NS)
    relisted = [await asyncio.wait_for(again.__anext__(), 1) for _ in range(11)]
    assert relisted[0].type == "RESET" and relisted[-1].type == "SYNCED"
    assert sum(1 for e in relisted if e.kind == "Event") == 2, "the re-list carries the Events too"
    lease = next(e.object for e in relisted if e.kind == "Lease")
    assert lease.holder == "room-a", "the re-list carries what changed meanwhile"
    await again.aclose()
