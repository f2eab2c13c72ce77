"""`-A/--all-namespaces`: one list and one watch per resource over every namespace, on the test API server.

First the server itself, against the API concepts page: a list of a cluster-wide collection
(`/apis/apps/v1/deployments`) has the items of every namespace and one resourceVersion, and a watch
from that resourceVersion sends the changes of every namespace. Then the room opened with `-A` over
objects in three namespaces: the targets keep their namespaces, a Flagger Canary in a namespace no
target names shows up, the header says "all", and the request log has one watch per resource — not
one per namespace, as the same room without `-A` has.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.clock import VirtualClock
from app.config import load_config
from app.control.engine import Engine
from app.live import LiveOptions, build, preflight
from app.model import Rollout
from backends.base import Deployment, Unavailable, WatchEvent
from backends.kubernetes.errors import What
from backends.kubernetes.resources import DEPLOYMENTS
from tests.kube_helpers import deployment, make_cluster, service

CANARY_FILE = Path(__file__).parent / "foreign_data" / "canary.yaml"
SHOP, PAY, TEAM = "shop", "pay", "team-c"  # a canary target, a blue-green target, a Flagger Canary


def _in(ns: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "namespace": ns}}


def _namespace(server: Any, ns: str) -> None:
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})


def _virtualservice(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "hosts": [name],
            "http": [
                {
                    "route": [
                        {"destination": {"host": f"{name}-primary"}, "weight": 100},
                        {"destination": {"host": f"{name}-canary"}, "weight": 0},
                    ]
                }
            ],
        },
    }


def _flagger_canary(ns: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(CANARY_FILE.read_text())
    body["metadata"] = {"name": name, "namespace": ns}
    body["status"] = {"phase": "Progressing", "canaryWeight": 20, "failedChecks": 0, "iterations": 0}
    return body


def _seed(server: Any) -> None:
    server.install_crds("istio", "flagger")
    for ns in (SHOP, PAY, TEAM):
        _namespace(server, ns)
    for name in ("api", "api-primary"):
        server.apply(_in(SHOP, deployment(name, "shop/api:1")))
    server.apply(_virtualservice(SHOP, "api"))
    server.apply(_in(PAY, deployment("web-blue", "pay/web:1", labels={"app": "web", "version": "blue"})))
    server.apply(_in(PAY, deployment("web-green", "pay/web:1", replicas=0, labels={"app": "web", "version": "green"})))
    server.apply(_in(PAY, service("web", {"app": "web", "version": "blue"})))
    server.apply(_flagger_canary(TEAM, "payments"))


def _config(tmp_path: Path) -> Any:
    path = tmp_path / "shiftroom.yaml"
    targets = [
        {"name": "api", "namespace": SHOP, "strategy": "canary", "deployment": "api", "router": "istio"},
        {"name": "web", "namespace": PAY, "strategy": "blue-green", "deployment": "web", "service": "web"},
    ]
    path.write_text(yaml.safe_dump({"targets": targets}))
    return load_config(str(path))


def _watches(server: Any) -> list[Any]:
    return [r for r in server.requests if r.method == "GET" and r.query.get("watch") in ("true", "1")]


def _selected(request: Any) -> tuple[str, str]:
    """(path, field selector) of a request: under -A the Events are one watch per kind, on one path."""
    return request.path, request.query.get("fieldSelector", "")


async def _opened(server: Any, paths: set[str], seconds: float = 10.0) -> list[Any]:
    """The watch requests, once every one of `paths` has been opened (the watches open after the list that
    already shows the rows: wait for them)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watches = _watches(server)
        if paths <= {r.path for r in watches}:
            await asyncio.sleep(0.3)  # and any watch that would wrongly open a second time
            return _watches(server)
        await asyncio.sleep(0.05)
    raise AssertionError(f"watches {sorted(paths)} not all opened: {sorted(r.path for r in _watches(server))}")


async def _room(server: Any, tmp_path: Path, **options: Any) -> Engine:
    opts = LiveOptions(kubeconfig=str(server.kubeconfig), **options)
    config = _config(tmp_path)
    pre = await preflight(opts, config)
    return build(pre, opts, config, clock=VirtualClock())


async def _until(engine: Engine, keys: set[str], seconds: float = 15.0) -> dict[str, Rollout]:
    """Passes until every key is a row of the rollouts table (the watch is real I/O: real time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await engine.run_pass()
        rows = {r.key: r for r in engine.state.rollouts}
        if keys <= set(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sorted(keys)} not all shown within {seconds:g} s: {[r.key for r in engine.state.rollouts]}")


# ------------------------------------------------------------ the test API server's cluster-wide collections


async def test_server_cluster_wide_list_and_watch_follow_the_api(kube_api_factory: Any) -> None:
    kube_api = kube_api_factory(controller="manual")  # no status writes of its own: only the test's changes
    for ns in (SHOP, PAY, TEAM):
        _namespace(kube_api, ns)
        kube_api.apply(_in(ns, deployment(f"d-{ns}", f"{ns}:1")))
    cluster = await make_cluster(kube_api.kubeconfig)
    api = cluster.api
    try:
        body = await api.call("GET", DEPLOYMENTS.path(None), What("list", DEPLOYMENTS))
        assert body["kind"] == "DeploymentList" and body["apiVersion"] == "apps/v1"
        got = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]}
        assert got == {(SHOP, "d-shop"), (PAY, "d-pay"), (TEAM, "d-team-c")}
        rv = body["metadata"]["resourceVersion"]  # one resourceVersion for the whole collection
        assert rv and int(rv) >= max(int(i["metadata"]["resourceVersion"]) for i in body["items"])
        one = await api.call("GET", DEPLOYMENTS.path(PAY), What("list", DEPLOYMENTS, PAY))
        assert [i["metadata"]["namespace"] for i in one["items"]] == [PAY]

        query = [("watch", "true"), ("resourceVersion", rv), ("allowWatchBookmarks", "true")]
        resp = await api.stream(DEPLOYMENTS.path(None), What("watch", DEPLOYMENTS), query, read_timeout=10)
        try:
            for ns in (TEAM, SHOP, PAY):
                kube_api.apply(_in(ns, deployment(f"d-{ns}", f"{ns}:2")))
            kube_api.apply(_in(PAY, deployment("late", "late:1")))
            seen: list[tuple[str, str, str]] = []
            buf = b""
            while len(seen) < 4:
                buf += await asyncio.wait_for(resp.content.readany(), 10)
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    ev = json.loads(line)
                    if ev["type"] != "BOOKMARK":
                        meta = ev["object"]["metadata"]
                        seen.append((ev["type"], meta["namespace"], meta["name"]))
        finally:
            resp.release()
        assert seen[:4] == [  # a read may carry more (the stand-in's own later writes): the first four matter
            ("MODIFIED", TEAM, "d-team-c"),
            ("MODIFIED", SHOP, "d-shop"),
            ("MODIFIED", PAY, "d-pay"),
            ("ADDED", PAY, "late"),
        ]
    finally:
        await cluster.close()


# ------------------------------------------------------------ the room with -A


async def test_all_namespaces_watches_once_per_resource(kube_api: Any, tmp_path: Path) -> None:
    _seed(kube_api)
    engine = await _room(kube_api, tmp_path, all_namespaces=True)
    canary, bluegreen, flagger = f"{SHOP}/api", f"{PAY}/web", f"{TEAM}/payments"
    try:
        kube_api.clear_requests()
        rows = await _until(engine, {canary, bluegreen, flagger})
        assert engine.state.namespace == "all"
        assert rows[flagger].driven_by == "flagger" and rows[canary].driven_by == "shiftroom"
        assert rows[canary].namespace == SHOP and rows[bluegreen].namespace == PAY  # targets keep theirs
        expected = {
            "/apis/apps/v1/deployments",
            "/api/v1/services",
            "/apis/coordination.k8s.io/v1/leases",
            "/apis/networking.istio.io/v1beta1/virtualservices",
            "/apis/flagger.app/v1beta1/canaries",
        }
        watches = await _opened(kube_api, expected)
        assert watches and all("/namespaces/" not in r.path for r in watches), [r.path for r in watches]
        per_resource = collections.Counter(_selected(r) for r in watches)
        assert set(per_resource.values()) == {1}, per_resource  # one watch connection per resource (and selector)
        lists = [r for r in kube_api.requests if r.method == "GET" and "watch" not in r.query and r.status == 200]
        listed = collections.Counter(_selected(r) for r in lists if _selected(r) in per_resource)
        assert set(listed.values()) == {1}, listed  # listed once each, cluster-wide

        _namespace(kube_api, "team-d")  # a namespace that did not exist when the room opened
        kube_api.apply(_flagger_canary("team-d", "checkout"))
        await _until(engine, {"team-d/checkout"})
        assert collections.Counter(_selected(r) for r in _watches(kube_api)) == per_resource  # no new watch for it
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_without_all_namespaces_it_is_one_watch_per_namespace(kube_api: Any, tmp_path: Path) -> None:
    """The baseline of the test above: the same room on the three namespaces named."""
    _seed(kube_api)
    engine = await _room(kube_api, tmp_path, namespace=f"{SHOP},{PAY},{TEAM}")
    try:
        kube_api.clear_requests()
        await _until(engine, {f"{SHOP}/api", f"{PAY}/web", f"{TEAM}/payments"})
        assert engine.state.namespace == f"{SHOP},{PAY},{TEAM}"
        expected = {f"/apis/apps/v1/namespaces/{ns}/deployments" for ns in (SHOP, PAY, TEAM)}
        deployments = [r.path for r in await _opened(kube_api, expected) if r.path.endswith("/deployments")]
        assert sorted(deployments) == sorted(expected)  # one per namespace
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


# ------------------------------------------------------------ the same informer semantics, cluster-wide


async def _until_event(it: Any, pred: Any, timeout: float = 10.0) -> list[WatchEvent]:
    seen: list[WatchEvent] = []
    while True:
        ev = await asyncio.wait_for(it.__anext__(), timeout)
        seen.append(ev)
        if pred(ev):
            return seen


def _deployments(events: list[WatchEvent]) -> set[tuple[str, str]]:
    objs = [e.object for e in events if e.type == "ADDED"]
    return {(o.namespace, o.name) for o in objs if isinstance(o, Deployment)}


async def test_cluster_wide_informer_relists_on_410_and_ends_on_a_stall(kube_api_factory: Any) -> None:
    server = kube_api_factory(bookmark_interval=3600)  # no bookmarks: the resume point stays behind
    for ns in (SHOP, PAY, TEAM):
        _namespace(server, ns)
        server.apply(_in(ns, deployment("app", "app:1")))
    cluster = await make_cluster(server.kubeconfig, watch_timeout=1, stall=1.5)
    cluster.namespaces = None  # every namespace, as -A builds it
    it = cluster.watch()
    try:
        first = await _until_event(it, lambda e: e.type == "SYNCED")
        added = _deployments(first)
        assert added == {(SHOP, "app"), (PAY, "app"), (TEAM, "app")}
        server.apply(_in(TEAM, service("new", {"app": "new"})))
        await _until_event(it, lambda e: e.kind == "Service" and getattr(e.object, "namespace", "") == TEAM)
        server.compact()  # the streams resume (1 s watches) from a version the server no longer has: 410
        again = await _until_event(it, lambda e: e.type == "SYNCED", timeout=15)
        assert any(e.type == "RESET" for e in again)
        assert _deployments(again) == added
        assert all("/namespaces/" not in r.path for r in _watches(server))
        server.stall_watches(True)
        with pytest.raises(Unavailable) as err:
            await _until_event(it, lambda e: False, timeout=15)
        assert "1.5 s" in str(err.value)
    finally:
        server.stall_watches(False)
        await it.aclose()
        await cluster.close()


# ------------------------------------------------------------ Events under -A: one watch per kind shown


def _k8s_event(ns: str, name: str, kind: str, about: str, reason: str) -> dict[str, Any]:
    api_version = {"Pod": "v1", "Service": "v1", "Lease": "coordination.k8s.io/v1"}.get(kind, "apps/v1")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "eventTime": stamp,
        "reportingController": "test-controller",
        "reportingInstance": "test-controller-1",
        "action": reason,
        "reason": reason,
        "type": "Normal",
        "note": f"{reason} {about}",
        "regarding": {"apiVersion": api_version, "kind": kind, "name": about, "namespace": ns},
    }


EVENTS_PATH = "/apis/events.k8s.io/v1/events"


def _event_requests(server: Any) -> list[Any]:
    return [r for r in server.requests if "/events.k8s.io/" in r.path]


async def test_all_namespaces_watches_events_per_kind_with_a_field_selector(kube_api: Any, tmp_path: Path) -> None:
    _seed(kube_api)
    kube_api.apply(_k8s_event(SHOP, "api.custom", "Deployment", "api", "Custom"))
    kube_api.apply(_k8s_event(SHOP, "pod.noise", "Pod", "api-abc-x", "Pulled"))
    engine = await _room(kube_api, tmp_path, all_namespaces=True)
    try:
        kube_api.clear_requests()
        kinds = {"Canary", "Deployment", "ReplicaSet", "Rollout", "Service", "VirtualService"}  # istio: the target's
        deadline = time.monotonic() + 15
        while "Custom" not in [e.reason for e in (engine.state.rollout(f"{SHOP}/api") or Rollout(name="-")).events]:
            assert time.monotonic() < deadline, "the Deployment's Event never reached its row"
            await engine.run_pass()
            await asyncio.sleep(0.05)
        await _opened(kube_api, {"/apis/apps/v1/deployments", EVENTS_PATH})
        requests = _event_requests(kube_api)
        assert requests and all(r.path == EVENTS_PATH for r in requests), [r.path for r in requests]
        selectors = collections.Counter((r.query.get("watch", ""), r.query.get("fieldSelector")) for r in requests)
        assert set(selectors) == {(w, f"regarding.kind={k}") for k in kinds for w in ("", "true")}, selectors
        assert all(r.status == 200 for r in requests if "watch" not in r.query)  # the server took each selector
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_event_watches_by_kind_resume_after_the_server_ends_them(kube_api_factory: Any) -> None:
    """Each watch ends after 1 s (timeoutSeconds) and is resumed from its last resourceVersion (bookmarks every
    0.2 s) with the same field selector: no relist, no Event twice, and never an Event about a Pod on the wire."""
    from dataclasses import replace

    from backends.base import ClusterEvent
    from backends.kubernetes.resources import EVENTS

    server = kube_api_factory(controller="manual")
    for ns in (SHOP, TEAM):
        _namespace(server, ns)
    server.apply(_k8s_event(SHOP, "app.before", "Deployment", "app", "Before"))
    server.apply(_k8s_event(TEAM, "pod.before", "Pod", "app-x", "PodBefore"))
    cluster = await make_cluster(server.kubeconfig, watch_timeout=1)
    cluster.namespaces = None  # every namespace, as -A builds it
    received: list[str] = []  # regarding.kind of every Event the client was sent

    def recording(convert: Any) -> Any:
        def read(obj: dict[str, Any]) -> Any:
            received.append(str(obj.get("regarding", {}).get("kind")))
            return convert(obj)

        return read

    informer = cluster.informer()
    informer.sources = [replace(s, convert=recording(s.convert)) if s.res == EVENTS else s for s in informer.sources]
    it = informer.events()
    try:
        first = await _until_event(it, lambda e: e.type == "SYNCED")
        assert [e.object.reason for e in first if isinstance(e.object, ClusterEvent)] == ["Before"]
        selected = "regarding.kind=Deployment"
        deadline = time.monotonic() + 15
        while True:  # the first watch of the Deployments' Events ended and a second one resumed
            resumed = [r for r in _watches(server) if r.query.get("fieldSelector") == selected]
            if len(resumed) >= 2:
                break
            assert time.monotonic() < deadline, "the watch was not resumed"
            await asyncio.sleep(0.05)
        assert resumed[1].query.get("resourceVersion") not in ("", "0", None)  # from where it was, not a new list
        server.apply(_k8s_event(TEAM, "pod.after", "Pod", "app-x", "PodAfter"))
        server.apply(_k8s_event(SHOP, "app.after", "Deployment", "app", "After"))
        later = await _until_event(it, lambda e: isinstance(e.object, ClusterEvent) and e.object.reason == "After")
        assert not [e for e in later if e.type in ("RESET", "SYNCED")]  # resumed, not listed again
        assert [e.object.reason for e in later if isinstance(e.object, ClusterEvent)] == ["After"]
        assert "Pod" not in received and received.count("Deployment") == 2, received
        lists = [r for r in server.requests if r.path == EVENTS_PATH and "watch" not in r.query]
        assert len(lists) == len(informer.sources) - len([s for s in informer.sources if s.res != EVENTS])
    finally:
        await it.aclose()
        await cluster.close()
