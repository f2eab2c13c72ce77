"""KubeCluster reads and writes through the real kubernetes-asyncio client over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backends.base import Cluster, Conflict, Invalid, NotFound, ObjectWrites, ReadOnly
from tests.kube_helpers import Env, deployment, env_fixture, service


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request):
        yield e


async def test_protocols_and_reads(env: Env) -> None:
    env.needs_ready_pods()
    c = env.cluster
    assert isinstance(c, Cluster) and isinstance(c, ObjectWrites)
    await env.apply(deployment("shop", "shop:1", replicas=3))
    await env.settle()  # the Deployment controller: a ReplicaSet of revision 1, its pods ready
    d = await c.get_deployment(env.namespace, "shop")
    assert (d.image, d.container, d.replicas, d.ready_replicas, d.revision) == ("shop:1", "app", 3, 3, 1)
    assert [x.name for x in await c.list_deployments()] == ["shop"]
    with pytest.raises(NotFound) as err:
        await c.get_deployment(env.namespace, "nope")
    assert "Deployment" in str(err.value) and "nope" in str(err.value)


async def test_readiness_from_status(env: Env) -> None:
    env.needs_server("writes Deployment status by hand, which a real Deployment controller rewrites at once")
    obj = deployment("shop", "shop:1", replicas=3)
    obj["status"]["observedGeneration"] = 0  # the controller has not seen the latest spec yet
    await env.apply(obj)
    assert (await env.cluster.get_deployment(env.namespace, "shop")).ready_replicas == 0
    obj = deployment("shop", "shop:1", replicas=3)
    obj["status"].update(replicas=4, updatedReplicas=3)  # an old pod still running
    await env.apply(obj)
    d = await env.cluster.get_deployment(env.namespace, "shop")
    assert d.ready_replicas == 2 and not d.ready


async def test_malformed_object_is_one_sentence(env: Env) -> None:
    bad = deployment("bad", "x:1")
    bad["spec"]["template"]["spec"]["containers"] = [{"name": "app"}]
    await env.apply(bad, validate=False)  # a real API server refuses it (image: Required value)
    await env.apply(deployment("good", "good:1"))
    with pytest.raises(Invalid) as err:
        await env.cluster.get_deployment(env.namespace, "bad")
    assert "bad" in str(err.value) and "image" in str(err.value)
    assert [d.name for d in await env.cluster.list_deployments()] == ["good"]


async def test_set_image_is_strategic_and_scale_uses_the_subresource(env: Env) -> None:
    dep = deployment("shop", "shop:1")
    dep["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})
    await env.apply(dep)
    env.clear_requests()
    d = await env.cluster.set_image(env.namespace, "shop", "app", "shop:2")
    assert d.image == "shop:2"
    await env.cluster.scale(env.namespace, "shop", 5)
    requests = env.requests()
    if requests is not None:
        patches = [r for r in requests if r.method == "PATCH"]
        assert [(r.path.rsplit("/", 1)[-1], r.content_type.split(";")[0]) for r in patches] == [
            ("shop", "application/strategic-merge-patch+json"),
            ("scale", "application/merge-patch+json"),
        ]
    stored = await env.get("apps/v1", "Deployment", "shop")
    assert stored is not None and stored["spec"]["replicas"] == 5
    containers = stored["spec"]["template"]["spec"]["containers"]  # merged by name: the sidecar stays
    assert [(c["name"], c["image"]) for c in containers] == [("app", "shop:2"), ("sidecar", "envoy:1")]


async def test_selector_switch_carries_resource_version_and_retries_once(env: Env) -> None:
    await env.apply(service("microservices", {"app": "microservices", "version": "blue"}))
    svc = await env.cluster.get_service(env.namespace, "microservices")
    await env.apply(service("microservices", {"app": "microservices", "version": "blue", "tier": "web"}))
    with pytest.raises(Conflict) as err:  # the caller's version is stale: its intent may not apply
        await env.cluster.patch_selector(
            env.namespace,
            "microservices",
            {"app": "microservices", "version": "green"},
            resource_version=svc.resource_version,
        )
    assert "microservices" in str(err.value)
    env.clear_requests()
    out = await env.cluster.patch_selector(env.namespace, "microservices", {"app": "microservices", "version": "green"})
    assert out.selector == {"app": "microservices", "version": "green"}  # exactly: "tier" removed
    requests = env.requests()
    if requests is not None:
        (patch,) = [r for r in requests if r.method == "PATCH"]
        assert b'"resourceVersion"' in patch.body


async def test_annotations_with_precondition(env: Env) -> None:
    await env.apply(deployment("shop", "shop:1"))
    await env.settle()  # a real controller writes the revision annotation and status (each a new version)
    d = await env.cluster.get_deployment(env.namespace, "shop")
    await env.cluster.patch_annotations(
        "Deployment", env.namespace, "shop", {"shiftroom.io/state": "{}"}, resource_version=d.resource_version
    )
    assert (await env.cluster.get_annotations("Deployment", env.namespace, "shop"))["shiftroom.io/state"] == "{}"
    with pytest.raises(Conflict):
        await env.cluster.patch_annotations(
            "Deployment", env.namespace, "shop", {"shiftroom.io/state": '{"a":1}'}, resource_version=d.resource_version
        )
    await env.cluster.patch_annotations("Deployment", env.namespace, "shop", {"shiftroom.io/state": None})
    assert "shiftroom.io/state" not in await env.cluster.get_annotations("Deployment", env.namespace, "shop")


async def test_read_only_refuses_every_write_before_any_request(env: Env) -> None:
    ro = await env.make_cluster(read_only=True)
    try:
        env.clear_requests()
        sent = ro.api.requests
        ns = env.namespace
        writes = [
            ro.set_image(ns, "shop", "app", "x"),
            ro.scale(ns, "shop", 1),
            ro.rollout_undo(ns, "shop"),
            ro.patch_selector(ns, "s", {"a": "b"}),
            ro.set_weights(ns, "r", {"a": 100}),
            ro.patch_annotations("Deployment", ns, "shop", {"a": "b"}),
            ro.acquire_lease(ns, "l", "me", 15),
            ro.release_lease(ns, "l", "me"),
            ro.probe(ns, "shop"),
            ro.record_event("Deployment", ns, "shop", "x", "y"),
            ro.patch_object("flagger.app/v1beta1", "Canary", ns, "c", {}, "merge"),
            ro.proxy(ns, "pods", "p", 80, "/x", method="POST"),
        ]
        for w in writes:
            with pytest.raises(ReadOnly) as err:
                await w
            assert "read-only" in str(err.value)
        assert ro.api.requests == sent
        assert env.requests() in (None, [])
    finally:
        await ro.close()


async def test_a_pod_the_api_server_cannot_reach_is_said_so(env: Env) -> None:
    """A ready pod with no IP (on a cluster without Nodes, every pod): the pod proxy answers 400 "address
    not allowed" itself, and the health check names the API server, not the application, as the one failing."""
    env.needs_ready_pods()
    await env.apply(deployment("shop", "shop:1", replicas=1))
    await env.settle()
    (pod,) = await env.objects("v1", "Pod")
    if env.server is not None:  # the test server's stand-in kubelet gives pods an IP: take it away
        pod["status"].pop("podIP", None)
        pod["status"].pop("podIPs", None)
        await env.apply(pod)
    ok, message = await env.cluster.probe(env.namespace, "shop")
    assert not ok
    assert f"the API server could not reach {pod['metadata']['name']} (HTTP 400: address not allowed)" in message
