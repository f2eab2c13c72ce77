"""rollout undo as kubectl does it, the routers, leases, events, 403 sentences."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.model import Target
from backends.base import Conflict, NotFound
from backends.kubernetes.errors import Forbidden
from backends.kubernetes.leases import micro_time
from tests.kube_helpers import Env, deployment, env_fixture

NS = "default"


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request):
        yield e


def kubectl_undo_expectation(dep: dict[str, Any], rs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """What `kubectl rollout undo` writes (kubectl's rollback.go): the ReplicaSet's template minus
    pod-template-hash; annotations = the ReplicaSet's (minus kubectl's skip list) + the Deployment's
    skip-list ones."""
    skip = {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
    template = copy.deepcopy(rs["spec"]["template"])
    del template["metadata"]["labels"]["pod-template-hash"]
    ann = {k: v for k, v in dep["metadata"].get("annotations", {}).items() if k in skip}
    ann.update({k: v for k, v in rs["metadata"]["annotations"].items() if k not in skip})
    return template, ann


async def test_rollout_undo_as_kubectl(env: Env) -> None:
    ns = env.namespace
    first = deployment("shop", "shop:1")
    first["metadata"]["annotations"] = {"team": "rev1"}
    await env.apply(first)
    await env.settle(ready=False)  # the Deployment controller: ReplicaSet revision 1
    await env.cluster.set_image(ns, "shop", "app", "shop:2")  # revision 1's ReplicaSet is old from now on
    await env.cluster.patch_annotations("Deployment", ns, "shop", {"team": "rev2"})
    await env.settle(ready=False)  # revision 2
    revs = await env.cluster.revisions(ns, "shop")
    assert [(r.revision, r.image) for r in revs] == [(1, "shop:1"), (2, "shop:2")]
    dep = await env.get("apps/v1", "Deployment", "shop") or {}
    (rs1,) = [
        rs
        for rs in await env.objects("apps/v1", "ReplicaSet")
        if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    ]
    assert rs1["metadata"]["annotations"]["team"] == "rev1"  # the controller copies annotations to its RS
    env.clear_requests()
    out = await env.cluster.rollout_undo(ns, "shop")
    assert out.image == "shop:1"
    stored = await env.get("apps/v1", "Deployment", "shop") or {}
    template, ann = kubectl_undo_expectation(dep, rs1)
    assert stored["spec"]["template"] == template
    assert {k: v for k, v in stored["metadata"]["annotations"].items() if k in ann or k == "team"} == ann
    requests = env.requests()
    if requests is not None:
        (patch,) = [r for r in requests if r.method == "PATCH"]
        assert patch.content_type.startswith("application/json-patch+json")
        ops = json.loads(patch.body)
        assert [o["path"] for o in ops] == ["/metadata/resourceVersion", "/spec/template", "/metadata/annotations"]
    await env.settle(ready=False)  # the controller takes revision 1's ReplicaSet back as revision 3
    assert [r.revision for r in await env.cluster.revisions(ns, "shop")] == [2, 3]


async def test_undo_without_history_and_when_paused(env: Env) -> None:
    await env.apply(deployment("lone", "lone:1"))
    with pytest.raises(NotFound) as err:
        await env.cluster.rollout_undo(env.namespace, "lone")
    assert "no rollout history" in str(err.value)


ROUTERS = {
    "istio": (
        "networking.istio.io/v1beta1",
        "VirtualService",
        "shop",
        {
            "hosts": ["shop"],
            "http": [
                {
                    "route": [
                        {"destination": {"host": "shop-primary"}, "weight": 100},
                        {"destination": {"host": "shop-canary"}, "weight": 0},
                    ]
                }
            ],
        },
    ),
    "gateway-api": (
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "shop",
        {
            "parentRefs": [{"name": "gw"}],
            "rules": [
                {
                    "backendRefs": [
                        {"name": "shop-primary", "port": 80, "weight": 100},
                        {"name": "shop-canary", "port": 80, "weight": 0},
                    ]
                }
            ],
        },
    ),
    "smi": (
        "split.smi-spec.io/v1alpha4",
        "TrafficSplit",
        "shop",
        {
            "service": "shop",
            "backends": [{"service": "shop-primary", "weight": 100}, {"service": "shop-canary", "weight": 0}],
        },
    ),
    "nginx": (
        "networking.k8s.io/v1",
        "Ingress",
        "shop-canary",
        {
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "shop-canary", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    ),
}


@pytest.mark.parametrize("router", sorted(ROUTERS))
async def test_router_writes_weights_and_reads_them_back(env: Env, router: str) -> None:
    await env.install_crds("istio", "gateway-api", "smi")
    ns = env.namespace
    api_version, kind, name, spec = ROUTERS[router]
    meta: dict[str, Any] = {"name": name}
    if router == "nginx":
        meta["annotations"] = {
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-weight": "0",
        }
    await env.apply({"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec})
    target = Target(name="shop", namespace=ns, deployment="shop", router=router)
    cluster = await env.make_cluster(targets=[target])
    try:
        assert (await cluster.get_route(ns, "shop")).weights == {"shop-primary": 100, "shop": 0}
        route = await cluster.set_weights(ns, "shop", {"shop-primary": 70, "shop": 30})
        assert route.weights == {"shop-primary": 70, "shop": 30}
        assert (await cluster.get_route(ns, "shop")).weights == {"shop-primary": 70, "shop": 30}
        stale = route.resource_version
        await cluster.set_weights(ns, "shop", {"shop-primary": 60, "shop": 40})
        with pytest.raises(Conflict):
            await cluster.set_weights(ns, "shop", {"shop-primary": 50, "shop": 50}, resource_version=stale)
    finally:
        await cluster.close()


async def test_router_without_its_crd_is_one_sentence(env: Env) -> None:
    env.needs_server("needs a cluster without the Gateway API CRD (other tests install it)")
    target = Target(name="shop", namespace=NS, deployment="shop", router="gateway-api")
    cluster = await env.make_cluster(targets=[target])
    try:
        with pytest.raises(NotFound) as err:
            await cluster.get_route(NS, "shop")
        assert "httproutes.gateway.networking.k8s.io" in str(err.value) and "not installed" in str(err.value)
    finally:
        await cluster.close()


async def test_two_holders_one_driver(env: Env) -> None:
    ns = env.namespace
    a, b = env.cluster, await env.make_cluster(namespaces=[ns])
    try:
        lease = await a.acquire_lease(ns, "shiftroom-shop", "alice@h1#1", 15)
        assert lease.holder == "alice@h1#1"
        results = await asyncio.gather(b.acquire_lease(ns, "shiftroom-shop", "bob@h2#2", 15), return_exceptions=True)
        assert isinstance(results[0], Conflict) and "alice@h1#1" in str(results[0])
        await a.acquire_lease(ns, "shiftroom-shop", "alice@h1#1", 15)  # renew
        await a.release_lease(ns, "shiftroom-shop", "alice@h1#1")
        assert (await b.acquire_lease(ns, "shiftroom-shop", "bob@h2#2", 15)).holder == "bob@h2#2"
        got = await a.get_lease(ns, "shiftroom-shop")
        assert got is not None and got.holder == "bob@h2#2"
    finally:
        await b.close()


async def test_expired_lease_is_taken_and_a_race_has_one_winner(env: Env) -> None:
    ns = env.namespace
    old = time.time() - 60
    await env.apply(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "shiftroom-x", "labels": {"app.kubernetes.io/managed-by": "shiftroom"}},
            "spec": {
                "holderIdentity": "gone@h#9",
                "leaseDurationSeconds": 15,
                "renewTime": micro_time(old),
                "acquireTime": micro_time(old),
            },
        }
    )
    b = await env.make_cluster(namespaces=[ns])
    try:
        got = await asyncio.gather(
            env.cluster.acquire_lease(ns, "shiftroom-x", "a#1", 15),
            b.acquire_lease(ns, "shiftroom-x", "b#2", 15),
            return_exceptions=True,
        )
        winners = [g for g in got if not isinstance(g, BaseException)]
        assert len(winners) == 1 and all(isinstance(g, Conflict) for g in got if isinstance(g, BaseException))
        stored = await env.get("coordination.k8s.io/v1", "Lease", "shiftroom-x") or {}
        assert stored["spec"]["holderIdentity"] == winners[0].holder and stored["spec"]["leaseTransitions"] == 1
    finally:
        await b.close()


async def test_decision_becomes_an_event_on_the_object(env: Env) -> None:
    await env.apply(deployment("shop", "shop:1"))
    await env.cluster.record_event("Deployment", env.namespace, "shop", "rollback", "error-rate 7% > 1%", warning=True)
    # (a real Deployment controller records its own Events on the object too)
    (ev,) = [e for e in await env.cluster.events() if e.object == "Deployment/shop" and e.reason == "Rollback"]
    assert (ev.reason, ev.type, ev.message) == ("Rollback", "Warning", "error-rate 7% > 1%")
    events = await env.objects("events.k8s.io/v1", "Event")  # a real cluster's controllers record theirs too
    (stored,) = [e for e in events if e.get("reportingController") == "shiftroom.io/room"]
    assert stored["reportingController"] == "shiftroom.io/room"
    assert stored["regarding"]["kind"] == "Deployment" and stored["regarding"]["name"] == "shop"
    assert stored["metadata"]["name"].startswith("shop.")  # named as client-go names Events
    long = "é" * 700  # 1400 bytes: the API server counts bytes, at most 1024
    await env.cluster.record_event("Deployment", env.namespace, "shop", "note", long)


async def test_403_names_verb_resource_namespace_identity(env: Env, tmp_path: Any) -> None:
    await env.apply(deployment("shop", "shop:1"))
    kc, user = await env.identity("viewer", "view", tmp_path / "ro")
    viewer = await env.make_cluster(kc)
    try:
        assert viewer.identity == user
        assert (await viewer.get_deployment(env.namespace, "shop")).image == "shop:1"
        with pytest.raises(Forbidden) as err:
            await viewer.scale(env.namespace, "shop", 0)
        msg = str(err.value)
        assert f"{user} may not patch deployments.apps/scale in namespace {env.namespace}" in msg
    finally:
        await viewer.close()
