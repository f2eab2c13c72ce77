"""Events this identity may not read, on the test Kubernetes API server with the real kubernetes-asyncio client.

An identity with shiftroom-viewer's reads but none on `events.k8s.io` events: the list is refused (403), the
watch yields one DENIED, and the room says so on each row (`Rollout.events_unseen`) and in the detail pane's
Events section, instead of an empty list that would read as "nothing happened". Everything else is shown, the
cluster stays up, nothing is asked again in a loop, and once the identity is granted the Events (a binding
made while the room is open) they come back by themselves. An identity that may list but not watch them gets
the same sentence. `shiftroom doctor` names both verbs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from app.clock import VirtualClock
from app.control.engine import Engine
from app.model import HealthStatus, Rollout, Target
from backends.base import Deployment
from backends.kubernetes import doctor
from tests.kube_helpers import deployment, make_cluster
from tests.test_engine_foreign_kube import NoData
from tests.test_kube_events import engine_until, event
from widgets.object_events import events_content

NS = "default"
KEY = f"{NS}/shop"
RBAC = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"
SENTENCE = (
    "this identity may not list Events in default (events.k8s.io list or watch denied); "
    "`shiftroom doctor` shows what to bind"
)
EVENTS_PATHS = ("/apis/events.k8s.io/v1/events", f"/apis/events.k8s.io/v1/namespaces/{NS}/events")


def _viewer_without_events(name: str, event_verbs: tuple[str, ...] = ()) -> dict[str, Any]:
    """shiftroom-viewer's rules with its events.k8s.io rule replaced by `event_verbs` (none: no rule)."""
    viewer = next(d for d in yaml.safe_load_all(RBAC.read_text()) if d and d["metadata"]["name"] == "shiftroom-viewer")
    rules = [r for r in viewer["rules"] if "events.k8s.io" not in r["apiGroups"]]
    assert len(rules) == len(viewer["rules"]) - 1
    if event_verbs:
        rules.append({"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": list(event_verbs)})
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def _events_reader() -> list[dict[str, Any]]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "events-reader"},
        "rules": [{"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "dev-reads-events", "namespace": NS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "events-reader"},
        "subjects": [{"kind": "User", "name": "dev", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    return [role, binding]


async def _room(
    server: Any, tmp_path: Path, role: dict[str, Any], denied_retry: float, all_namespaces: bool = False
) -> Engine:
    server.apply(deployment("shop", "shop:1") | {"metadata": {"name": "shop", "namespace": NS}})
    server.apply(event(NS, "shop.1", ("apps/v1", "Deployment", "shop"), "Custom", "something the room should show"))
    server.apply(role)
    server.grant("dev", role["metadata"]["name"])
    kubeconfig = server.write_kubeconfig(tmp_path / "kc-dev", contexts={"dev": ("dev", NS)})
    cluster = await make_cluster(kubeconfig, context="dev", denied_retry=denied_retry, read_only=True)
    assert cluster.identity == "dev"
    if all_namespaces:
        cluster.namespaces = None  # every namespace, as -A builds it
    return Engine(
        clock=VirtualClock(time.time()),
        cluster=cluster,
        metrics=NoData(),
        targets=[Target(name="shop", namespace=NS, deployment="shop")],
        namespaces=(NS,),
        identity="dev",
        all_namespaces=all_namespaces,
    )


async def _until(engine: Engine, found: Callable[[Rollout], bool], seconds: float = 15.0) -> Rollout:
    """Passes until the row is as wanted (the watch is real I/O: real time)."""
    return await engine_until(engine, KEY, found, seconds)


def _image(engine: Engine) -> str:
    found = engine.cache.get("Deployment", NS, "shop")
    return found.image if isinstance(found, Deployment) else ""


def _cluster_up(engine: Engine) -> bool:
    """The cluster watch's own health (the target, missing its primary, has troubles of its own)."""
    return engine.cache.health(engine.clock.now()).status is HealthStatus.UP


def _event_requests(server: Any) -> list[Any]:
    return [r for r in server.requests if r.path in EVENTS_PATHS and r.method == "GET"]


def _lists(server: Any, path: str) -> list[Any]:
    return [r for r in server.requests if r.path == path and r.method == "GET" and "watch" not in r.query]


async def test_denied_events_are_one_sentence_on_the_row_and_in_the_detail_pane(kube_api: Any, tmp_path: Path) -> None:
    engine = await _room(kube_api, tmp_path, _viewer_without_events("viewer-no-events"), denied_retry=3600)
    try:
        row = await _until(engine, lambda r: bool(r.events_unseen))
        assert row.events_unseen == SENTENCE and row.events == ()
        assert _image(engine) == "shop:1"  # the Deployment is there as always
        assert _cluster_up(engine)  # a denied read is not an outage
        assert events_content(row, engine.state.t).plain == SENTENCE  # the Events section: the sentence, no list
        # Nothing is asked again in a loop: after the room has seen a later change, Events were asked once.
        kube_api.apply(deployment("shop", "shop:2") | {"metadata": {"name": "shop", "namespace": NS}})
        await _until(engine, lambda r: _image(engine) == "shop:2")
        asked = _event_requests(kube_api)
        assert [(r.query.get("watch"), r.status) for r in asked] == [(None, 403)], asked
        assert len(_lists(kube_api, f"/apis/apps/v1/namespaces/{NS}/deployments")) == 1  # no relist either
        # The doctor names what is missing: list and watch on events.k8s.io events.
        report = await doctor.run(engine.cluster.api, [NS], read_only=True)  # type: ignore[attr-defined]
        rows = {(r.verb, r.resource): r.allowed for r in report.rows if r.namespace == NS}
        assert rows[("list", "events.events.k8s.io")] is False and rows[("watch", "events.events.k8s.io")] is False
        assert rows[("list", "deployments.apps")] is True
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_the_room_shows_the_sentence_in_its_events_section(kube_api: Any, tmp_path: Path) -> None:
    from app.room import ShiftroomApp
    from widgets.object_events import ObjectEvents

    engine = await _room(kube_api, tmp_path, _viewer_without_events("viewer-no-events"), denied_retry=3600)
    app = ShiftroomApp(engine)
    app.animation_level = "none"
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await _until(engine, lambda r: bool(r.events_unseen))
            for _ in range(50):
                await pilot.pause(0.05)
                shown = [w.text for w in app.screen.query(ObjectEvents)]
                if SENTENCE in shown:
                    break
            assert shown == [SENTENCE]
    finally:
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_events_granted_later_come_back_by_themselves(kube_api: Any, tmp_path: Path) -> None:
    engine = await _room(kube_api, tmp_path, _viewer_without_events("viewer-no-events"), denied_retry=0.2)
    try:
        await _until(engine, lambda r: r.events_unseen == SENTENCE)
        for obj in _events_reader():  # a binding made while the room is open
            kube_api.apply(obj)
        row = await _until(engine, lambda r: not r.events_unseen and bool(r.events))
        assert "Custom" in [e.reason for e in row.events]
        assert _cluster_up(engine)
        kube_api.apply(event(NS, "shop.2", ("apps/v1", "Deployment", "shop"), "Later", "watched again"))
        row = await _until(engine, lambda r: "Later" in [e.reason for e in r.events])  # and watched again
        assert not row.events_unseen
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_listed_but_not_watched_is_the_same_sentence_and_no_reconnect_loop(kube_api: Any, tmp_path: Path) -> None:
    role = _viewer_without_events("viewer-lists-events", ("get", "list"))
    engine = await _room(kube_api, tmp_path, role, denied_retry=3600)
    try:
        row = await _until(engine, lambda r: r.events_unseen == SENTENCE)
        assert row.events == ()  # listed, then the watch was refused: what was listed cannot be kept current
        kube_api.apply(deployment("shop", "shop:2") | {"metadata": {"name": "shop", "namespace": NS}})
        await _until(engine, lambda r: _image(engine) == "shop:2")  # the other watches go on
        asked = [(r.query.get("watch"), r.status) for r in _event_requests(kube_api)]
        assert asked == [(None, 200), ("true", 403)], asked
        assert len(_lists(kube_api, f"/apis/apps/v1/namespaces/{NS}/deployments")) == 1  # not listed again
        assert _cluster_up(engine)
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_all_namespaces_denied_says_all_namespaces(kube_api: Any, tmp_path: Path) -> None:
    role = _viewer_without_events("viewer-no-events")
    engine = await _room(kube_api, tmp_path, role, denied_retry=3600, all_namespaces=True)
    try:
        row = await _until(engine, lambda r: bool(r.events_unseen))
        assert row.events_unseen == SENTENCE.replace("in default", "in all namespaces")
        asked = _event_requests(kube_api)
        assert len(asked) == 1 and asked[0].query.get("fieldSelector", "").startswith("regarding.kind=")
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_watch_granted_later_comes_back_by_itself(kube_api: Any, tmp_path: Path) -> None:
    role = _viewer_without_events("viewer-lists-events", ("get", "list"))
    engine = await _room(kube_api, tmp_path, role, denied_retry=0.2)
    try:
        await _until(engine, lambda r: r.events_unseen == SENTENCE)
        for obj in _events_reader():
            kube_api.apply(obj)
        await _until(engine, lambda r: not r.events_unseen and "Custom" in [e.reason for e in r.events])
        kube_api.apply(event(NS, "shop.2", ("apps/v1", "Deployment", "shop"), "Later", "watched now"))
        await _until(engine, lambda r: "Later" in [e.reason for e in r.events])
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_the_cache_says_unseen_from_denied_until_a_list_without_it() -> None:
    """The object cache's side, with a scripted watch: DENIED empties that namespace's Events and marks it;
    a later list (RESET…SYNCED) that has no DENIED lifts it; another namespace is not touched."""
    from app.control.cache import ObjectCache
    from backends.base import ClusterEvent, WatchEvent

    def about(ns: str, reason: str) -> WatchEvent:
        ev = ClusterEvent(t=time.time(), namespace=ns, object="Deployment/shop", reason=reason, message="", name=reason)
        return WatchEvent(type="ADDED", kind="Event", object=ev)

    scripts = {
        "a": [[WatchEvent(type="RESET"), about("a", "One"), WatchEvent(type="SYNCED"), WatchEvent(type="DENIED")]],
        "b": [[WatchEvent(type="RESET"), about("b", "Two"), WatchEvent(type="SYNCED")]],
    }

    class Scripted:
        name = "scripted"

        async def watch(self, namespace: str | None = None) -> Any:
            for ev in scripts[namespace or ""].pop(0) if scripts[namespace or ""] else []:
                yield ev
            await asyncio.Event().wait()  # then nothing more

    clock = VirtualClock(time.time())
    cache = ObjectCache(Scripted(), clock, ["a", "b"])  # type: ignore[arg-type]
    cache.start()
    try:
        for _ in range(20):
            await asyncio.sleep(0)
        cache.events.focus([("Deployment", "a", "shop"), ("Deployment", "b", "shop")], clock.now())
        assert (cache.events.unseen("a"), cache.events.unseen("b")) == ("a", "")
        assert [e.reason for e in cache.events.recent([("Deployment", "a", "shop")], clock.now())] == []
        assert [e.reason for e in cache.events.recent([("Deployment", "b", "shop")], clock.now())] == ["Two"]
        cache._on_event("a", WatchEvent(type="RESET"))
        cache._on_event("a", WatchEvent(type="DENIED"))
        cache._on_event("a", WatchEvent(type="SYNCED"))
        assert cache.events.unseen("a") == "a"  # listed again, denied again
        cache._on_event("a", WatchEvent(type="RESET"))
        cache._on_event("a", about("a", "Back"))
        cache._on_event("a", WatchEvent(type="SYNCED"))
        assert cache.events.unseen("a") == ""
        assert [e.reason for e in cache.events.recent([("Deployment", "a", "shop")], clock.now())] == ["Back"]
    finally:
        await cache.stop()
