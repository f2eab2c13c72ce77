"""Idle targets hold no Lease, on the test API server (requests counted at the server).

A target with nothing in progress sends nothing in steady state; its Lease is taken (one write, with
the resourceVersion of the Lease last seen) before the first write a release or a command makes, and a
room that loses that race writes nothing and names the room that won."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from app.clock import VirtualClock
from app.control.commands import RolloutCommand, Verb
from app.control.engine import Engine
from app.model import Analysis, MetricSample, Mode, Phase, Target
from backends.kubernetes import leases
from tests.kube_helpers import make_cluster

NS = "default"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


class Quiet:
    name, read_only = "metrics", True

    async def ping(self) -> None:
        return None

    async def query(self, check: Any, ws: Any) -> dict[Any, MetricSample]:
        return {w: MetricSample(t=0.0, value=0.0) for w in ws}

    async def history(self, *a: Any) -> list[Any]:
        return []


def _deployment(name: str, replicas: int, image: str = "app:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def _seed(server: Any, n: int) -> list[Target]:
    server.install_crds("istio")
    targets = []
    for i in range(n):
        name = f"app{i}"
        server.apply(_deployment(name, 0))
        server.apply(_deployment(f"{name}-primary", 1))
        dests = [{"destination": {"host": f"{name}-primary"}, "weight": 100}]
        dests.append({"destination": {"host": f"{name}-canary"}, "weight": 0})
        server.apply(
            {
                "apiVersion": "networking.istio.io/v1beta1",
                "kind": "VirtualService",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"hosts": [name], "http": [{"route": dests}]},
            }
        )
        analysis = Analysis(interval=600)  # once a release is progressing, nothing is decided for a while
        targets.append(Target(name=name, namespace=NS, deployment=name, replicas=1, router="istio", analysis=analysis))
    return targets


def _release(server: Any, name: str, image: str = "app:2") -> None:
    """A pipeline sets the new image (straight into the server: not in its request log)."""
    dep = server.get("apps/v1", "Deployment", name, NS) or {}
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
    server.apply(dep)


async def _room(kubeconfig: Path, targets: list[Target], clock: VirtualClock, who: str) -> tuple[Engine, Any]:
    cluster = await make_cluster(kubeconfig, targets=targets, namespaces=[NS])
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=Quiet(),
        targets=targets,
        mode=Mode.LIVE,
        context="test",
        identity=who,
        series_every=1e9,
    )
    return engine, cluster


async def _passes(clock: VirtualClock, n: int, *engines: Engine) -> None:
    for _ in range(n):
        for engine in engines:
            await engine.run_pass()
            await engine.idle()
        await clock.advance(1)
        await asyncio.sleep(0.05)  # the stand-in controller and the watches work in real time


def _writes(server: Any) -> list[Any]:
    return [r for r in server.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def _holder(server: Any, target: Target) -> str:
    lease = server.get("coordination.k8s.io/v1", "Lease", f"shiftroom-{target.name}", NS) or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


async def _steady(engine: Engine, clock: VirtualClock, server: Any, *more: Engine) -> None:
    """Passes until one sends nothing: first states saved, Leases taken for that and given back, and the
    access review of the start (SelfSubjectAccessReviews, run beside the passes) answered."""
    for _ in range(40):
        listed = all(e.cache.synced(NS) for e in (engine, *more))  # before the pass: it read every target
        server.clear_requests()
        await _passes(clock, 1, engine, *more)
        if listed and not _writes(server) and all(e.access.reviews > 1 for e in (engine, *more)):
            return
    raise AssertionError(f"still writing: {[(r.method, r.path) for r in _writes(server)]}")


@asynccontextmanager
async def _steady_room(server: Any, targets: list[Target]) -> AsyncIterator[tuple[Engine, VirtualClock]]:
    """One room on `targets`, its first passes done (`_steady`); stopped and closed on the way out."""
    clock = VirtualClock()
    engine, cluster = await _room(server.kubeconfig, targets, clock, "room-a@h#1")
    try:
        await _steady(engine, clock, server)
        yield engine, clock
    finally:
        await engine.stop()
        await cluster.close()


async def test_fifty_idle_targets_send_no_request_in_steady_state(kube_api: Any) -> None:
    targets = _seed(kube_api, 50)
    async with _steady_room(kube_api, targets) as (engine, clock):
        kube_api.clear_requests()
        await _passes(clock, 16, engine)  # more than a lease duration's worth of renewals before
        assert [(r.method, r.path) for r in kube_api.requests] == []
        assert all(_holder(kube_api, t) == "" for t in targets)  # no Lease held for an idle target
        assert all(r.driver == "" for r in engine.state.rollouts)


async def test_a_release_takes_the_lease_with_one_write_before_its_first_write(kube_api: Any) -> None:
    targets = _seed(kube_api, 2)
    async with _steady_room(kube_api, targets) as (engine, clock):
        kube_api.clear_requests()
        _release(kube_api, "app0")
        for _ in range(20):
            await _passes(clock, 1, engine)
            if engine.state.rollout("default/app0").phase is Phase.PROGRESSING:  # type: ignore[union-attr]
                break
        mine = [r for r in kube_api.requests if r.path.startswith(f"{LEASES}/shiftroom-app0")]
        first = _writes(kube_api)[0]
        assert (first.method, first.path) == ("PUT", f"{LEASES}/shiftroom-app0")  # the Lease before anything else
        assert [(r.method, r.status) for r in mine] == [("PUT", 200)]  # one write: no GET, no retry
        assert not [r for r in kube_api.requests if "shiftroom-app1" in r.path or "app1" in r.path]  # app1 idle
        assert _holder(kube_api, targets[0]) == "room-a@h#1" and _holder(kube_api, targets[1]) == ""
        assert engine.state.rollout("default/app0").driver == "room-a@h#1"  # type: ignore[union-attr]

        kube_api.clear_requests()  # driving: a renewal a third of the lease's duration apart, nothing else
        await _passes(clock, 10, engine)
        assert {(r.method, r.path) for r in kube_api.requests} == {("PUT", f"{LEASES}/shiftroom-app0")}
        assert 2 <= len(kube_api.requests) <= 3


async def test_two_rooms_and_a_release_one_writes_and_the_other_names_it(kube_api: Any) -> None:
    targets = _seed(kube_api, 1)
    clock = VirtualClock()
    a, ca = await _room(kube_api.kubeconfig, targets, clock, "room-a@h#1")
    b, cb = await _room(kube_api.kubeconfig, targets, clock, "room-b@h#2")
    key = targets[0].key
    try:
        await _steady(a, clock, kube_api, b)
        _release(kube_api, "app0")
        for _ in range(20):
            await _passes(clock, 1, a, b)  # both rooms see the release in the same pass
            rows = [a.state.rollout(key), b.state.rollout(key)]
            if all(r is not None and r.phase is Phase.PROGRESSING and r.driver for r in rows):
                break
        drivers = {a.state.rollout(key).driver, b.state.rollout(key).driver}  # type: ignore[union-attr]
        assert len(drivers) == 1 and drivers <= {"room-a@h#1", "room-b@h#2"}  # both name the same driver
        (driver,) = drivers
        winner, loser = (a, b) if driver == a.identity else (b, a)
        assert _holder(kube_api, targets[0]) == winner.identity
        starts = {e.actor for e in [*a.trail.events, *b.trail.events] if e.action == "start"}
        assert starts == {winner.identity}  # only the driver decided
        result = await loser.execute(RolloutCommand(Verb.MANUAL, key))
        assert not result.ok and result.message == f"{key} is driven by {winner.identity}; this room is hands-off"
    finally:
        for engine, cluster in ((a, ca), (b, cb)):
            await engine.stop()
            await cluster.close()


async def test_a_command_on_an_idle_target_takes_the_lease_first(kube_api: Any) -> None:
    targets = _seed(kube_api, 1)
    key = targets[0].key
    async with _steady_room(kube_api, targets) as (engine, clock):
        kube_api.clear_requests()
        result = await engine.execute(RolloutCommand(Verb.MANUAL, key))
        assert result.ok, result.message
        writes = [(r.method, r.path.split("/")[-1]) for r in _writes(kube_api)]
        assert writes[0] == ("PUT", "shiftroom-app0") and len(writes) >= 2  # the Lease, then the command's writes
        assert [r.method for r in kube_api.requests if "shiftroom-app0" in r.path] == ["PUT"]
        kube_api.clear_requests()
        await _passes(clock, 3, engine)  # idle again: given back once, then nothing
        assert [(r.method, r.path.split("/")[-1]) for r in kube_api.requests] == [("PUT", "shiftroom-app0")]
        assert _holder(kube_api, targets[0]) == ""


async def test_a_lease_another_room_took_unseen_refuses_the_command_naming_it(kube_api: Any) -> None:
    targets = _seed(kube_api, 1)
    key = targets[0].key
    async with _steady_room(kube_api, targets) as (engine, _clock):
        try:
            kube_api.stall_watches(True)  # this room does not see the other room's take
            other = await make_cluster(kube_api.kubeconfig, namespaces=[NS])
            try:
                await other.acquire_lease(NS, "shiftroom-app0", "room-b@h#2", 15)
            finally:
                await other.close()
            kube_api.clear_requests()
            result = await engine.execute(RolloutCommand(Verb.MANUAL, key))
            assert not result.ok
            assert result.message == f"{key} is driven by room-b@h#2; this room is hands-off"
            lease = [(r.method, r.status) for r in kube_api.requests if "shiftroom-app0" in r.path]
            assert lease == [("PUT", 409), ("GET", 200)]  # the stale take refused, then read to name the holder
            assert not [r for r in _writes(kube_api) if "leases" not in r.path]  # and nothing else written
            assert engine.state.rollout(key).driver in ("", "room-b@h#2")  # type: ignore[union-attr]
            assert engine.controllers[key].state.auto  # type: ignore[attr-defined]
        finally:
            kube_api.stall_watches(False)


def test_the_watch_remembers_the_newest_lease_it_saw() -> None:
    held: dict[str, Any] = {}
    mk = {"metadata": {"namespace": "ns", "name": "l", "resourceVersion": "7"}, "spec": {}}
    leases.seen(held, mk)
    leases.seen(held, {"metadata": {"namespace": "ns", "name": "l", "resourceVersion": "5"}, "spec": {}})
    assert held["ns/l"] is mk  # an older event delivered after this room's own write changes nothing
    newer = {"metadata": {"namespace": "ns", "name": "l", "resourceVersion": "9"}, "spec": {}}
    leases.seen(held, newer)
    assert held["ns/l"] is newer
