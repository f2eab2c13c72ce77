"""The test API server's stand-in Deployment controller and its pod/service proxies, driven with the real
kubernetes-asyncio client: revisioned ReplicaSets, rollout undo, readiness, progress deadline, health
checks through the pod proxy, Flagger load tester gates through the service proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.testing import client_for, deployment, status_of


@pytest.fixture
def kube_api(kube_api_factory: Callable[..., KubeApiServer]) -> KubeApiServer:
    """The suite's fixture, but with the Deployment controller stepped by the tests (deterministic)."""
    return kube_api_factory(controller="manual")


@pytest.fixture
async def api(kube_api: KubeApiServer) -> AsyncIterator[client.ApiClient]:
    api_client = await client_for(kube_api)
    yield api_client
    await api_client.close()


REVISION = "deployment.kubernetes.io/revision"


async def _replicasets(apps: Any, name: str = "web") -> dict[int, Any]:
    """ReplicaSets of a Deployment by revision annotation."""
    items = (await apps.list_namespaced_replica_set("default")).items
    return {int(rs.metadata.annotations[REVISION]): rs for rs in items if rs.metadata.name.startswith(name + "-")}


async def test_rollout_creates_revisioned_replicasets_and_undo_reuses_the_old_one(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    apps: Any = client.AppsV1Api(api)
    core: Any = client.CoreV1Api(api)
    made = await apps.create_namespaced_deployment("default", deployment(replicas=3, image="app:v1"))
    kube_api.settle()
    rs = await _replicasets(apps)
    assert list(rs) == [1]
    first = rs[1]
    h = first.metadata.labels["pod-template-hash"]
    assert first.metadata.name == f"web-{h}"
    assert first.spec.selector.match_labels == {"app": "web", "pod-template-hash": h}
    assert first.spec.template.metadata.labels["pod-template-hash"] == h
    owner = first.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid, owner.controller) == ("Deployment", "web", made.metadata.uid, True)
    pods = (await core.list_namespaced_pod("default", label_selector=f"pod-template-hash={h}")).items
    assert len(pods) == 3
    assert all(c.status == "True" for p in pods for c in p.status.conditions if c.type == "Ready")
    d = await apps.read_namespaced_deployment("web", "default")
    assert d.metadata.annotations[REVISION] == "1"
    st = d.status
    assert (st.observed_generation, st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas) == (
        1,
        3,
        3,
        3,
        3,
    )
    conditions = {c.type: (c.status, c.reason) for c in st.conditions}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:v2"}]}}}}
    await apps.patch_namespaced_deployment("web", "default", patch)
    kube_api.settle()
    rs = await _replicasets(apps)
    assert sorted(rs) == [1, 2]
    assert (rs[1].spec.replicas, rs[2].spec.replicas) == (0, 3)
    assert rs[2].metadata.labels["pod-template-hash"] != h
    d = await apps.read_namespaced_deployment("web", "default")
    assert d.metadata.annotations[REVISION] == "2" and d.status.observed_generation == 2
    images = {p.spec.containers[0].image for p in (await core.list_namespaced_pod("default")).items}
    assert images == {"app:v2"}
    events = await core.list_namespaced_event("default", field_selector="involvedObject.kind=Deployment")
    assert sorted((e.reason, e.message, e.source.component) for e in events.items) == sorted(
        [
            ("ScalingReplicaSet", f"Scaled up replica set {first.metadata.name} from 0 to 3", "deployment-controller"),
            ("ScalingReplicaSet", f"Scaled up replica set {rs[2].metadata.name} from 0 to 3", "deployment-controller"),
            (
                "ScalingReplicaSet",
                f"Scaled down replica set {first.metadata.name} from 3 to 0",
                "deployment-controller",
            ),
        ]
    )

    # rollout undo as kubectl does it: revision 1's template without pod-template-hash, into the Deployment
    template = api.sanitize_for_serialization(rs[1].spec.template)
    del template["metadata"]["labels"]["pod-template-hash"]
    await apps.patch_namespaced_deployment(
        "web", "default", [{"op": "replace", "path": "/spec/template", "value": template}]
    )
    kube_api.settle()
    rs = await _replicasets(apps)
    assert sorted(rs) == [2, 3]  # revision 1's ReplicaSet is now revision 3
    assert rs[3].metadata.labels["pod-template-hash"] == h and rs[3].metadata.name == first.metadata.name
    assert rs[3].metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert (rs[2].spec.replicas, rs[3].spec.replicas) == (0, 3)
    d = await apps.read_namespaced_deployment("web", "default")
    assert d.metadata.annotations[REVISION] == "3"
    assert d.spec.template.spec.containers[0].image == "app:v1"


async def test_readiness_per_image_and_progress_deadline_exceeded(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    apps: Any = client.AppsV1Api(api)
    kube_api.set_image_readiness("app:slow", after_steps=2)
    kube_api.set_image_readiness("app:broken", None)
    body = deployment(replicas=2, image="app:slow")
    body["spec"]["progressDeadlineSeconds"] = 60
    await apps.create_namespaced_deployment("default", body)
    kube_api.settle()
    d = await apps.read_namespaced_deployment("web", "default")
    assert d.status.ready_replicas is None and d.status.unavailable_replicas == 2
    assert {c.type: c.status for c in d.status.conditions}["Available"] == "False"
    kube_api.settle()
    kube_api.settle()
    d = await apps.read_namespaced_deployment("web", "default")
    assert d.status.ready_replicas == 2
    assert {c.type: c.reason for c in d.status.conditions}["Progressing"] == "NewReplicaSetAvailable"

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:broken"}]}}}}
    await apps.patch_namespaced_deployment("web", "default", patch)
    kube_api.settle()
    rs = await _replicasets(apps)
    assert (rs[1].spec.replicas, rs[2].spec.replicas) == (2, 2)  # old pods stay until the new ones are available
    d = await apps.read_namespaced_deployment("web", "default")
    progressing = next(c for c in d.status.conditions if c.type == "Progressing")
    assert progressing.status == "True" and progressing.reason in ("NewReplicaSetCreated", "ReplicaSetUpdated")
    kube_api.clock.advance(30)
    kube_api.settle()
    d = await apps.read_namespaced_deployment("web", "default")
    assert next(c for c in d.status.conditions if c.type == "Progressing").status == "True"
    kube_api.clock.advance(31)
    kube_api.settle()
    d = await apps.read_namespaced_deployment("web", "default")
    progressing = next(c for c in d.status.conditions if c.type == "Progressing")
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
    assert progressing.message == f'ReplicaSet "{rs[2].metadata.name}" has timed out progressing.'
    assert d.status.available_replicas == 2 and d.status.updated_replicas == 2


async def test_scale_subresource_drives_the_pods(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    core: Any = client.CoreV1Api(api)
    await apps.create_namespaced_deployment("default", deployment(replicas=1))
    kube_api.settle()
    await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    kube_api.settle()
    assert len((await core.list_namespaced_pod("default")).items) == 4
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.spec.replicas, scale.status.replicas) == (4, 4)
    await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 0}})
    kube_api.settle()
    assert (await core.list_namespaced_pod("default")).items == []


async def test_controller_runs_by_itself_in_auto_mode(kube_api_factory: Callable[..., KubeApiServer]) -> None:
    server = kube_api_factory()  # the suite's default: automatic
    api_client = await client_for(server)
    try:
        apps: Any = client.AppsV1Api(api_client)
        await apps.create_namespaced_deployment("default", deployment(replicas=2))
        for _ in range(100):
            d = await apps.read_namespaced_deployment("web", "default")
            if d.status and d.status.ready_replicas == 2:
                break
            await asyncio.sleep(0.05)
        assert d.status.ready_replicas == 2 and d.metadata.annotations[REVISION] == "1"
        assert server.controller_errors == []
    finally:
        await api_client.close()


async def test_pod_proxy_health_and_its_rbac(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    core: Any = client.CoreV1Api(api)
    await apps.create_namespaced_deployment("default", deployment(replicas=1, image="app:v1"))
    kube_api.settle()
    pod = (await core.list_namespaced_pod("default")).items[0].metadata.name
    assert await core.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8080", "default", "health") == "OK"
    kube_api.set_image_health("app:v1", False)
    with pytest.raises(ApiException) as exc:
        await core.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8080", "default", "health")
    assert exc.value.status == 503
    kube_api.set_pod_handler("app:v1", lambda method, path, query, body: (200, f"{method} {path}"))
    assert await core.connect_get_namespaced_pod_proxy_with_path(pod, "default", "x/y") == "GET x/y"
    with pytest.raises(ApiException) as exc:
        await core.connect_get_namespaced_pod_proxy_with_path("nope:8080", "default", "health")
    assert exc.value.status == 404 and status_of(exc.value)["message"] == 'pods "nope" not found'

    kube_api.grant("viewer", "view")
    kube_api.write_kubeconfig(kube_api.kubeconfig, contexts={"test": ("admin", "default"), "ro": ("viewer", "default")})
    viewer = await client_for(kube_api, context="ro")
    try:
        with pytest.raises(ApiException) as exc:
            await client.CoreV1Api(viewer).connect_get_namespaced_pod_proxy_with_path(
                f"{pod}:8080", "default", "health"
            )
        assert status_of(exc.value)["message"] == (
            f'pods "{pod}:8080" is forbidden: User "viewer" cannot get resource "pods/proxy" in API group "" in '
            'the namespace "default"'
        )
    finally:
        await viewer.close()


async def _post_proxy(api: client.ApiClient, path: str, payload: dict[str, Any]) -> tuple[int, str]:
    resp = await api.call_api(
        path,
        "POST",
        header_params={"Content-Type": "application/json"},
        body=payload,
        auth_settings=["BearerToken"],
        _preload_content=False,
    )
    status = resp.status
    text = await resp.text()
    resp.release()
    return status, text


async def test_service_proxy_answers_flagger_load_tester_gates(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    tester = kube_api.install_flagger_loadtester("test")
    base = "/api/v1/namespaces/test/services/http:flagger-loadtester:80/proxy"
    payload = {"name": "podinfo", "namespace": "test", "phase": "Progressing", "metadata": {}}
    assert await _post_proxy(api, f"{base}/gate/check", payload) == (403, "Forbidden")
    assert (await _post_proxy(api, f"{base}/gate/open", payload))[0] == 202
    assert await _post_proxy(api, f"{base}/gate/check", payload) == (200, "Approved")
    assert await _post_proxy(api, f"{base}/rollback/check", payload) == (403, "Forbidden")
    assert (await _post_proxy(api, f"{base}/rollback/open", payload))[0] == 202
    assert await _post_proxy(api, f"{base}/rollback/check", payload) == (200, "Approved")
    assert (await _post_proxy(api, f"{base}/gate/close", payload))[0] == 202
    assert await _post_proxy(api, f"{base}/gate/check", payload) == (403, "Forbidden")
    assert tester.is_open("podinfo", "test", rollback=True) and not tester.is_open("podinfo", "test")
    other = {**payload, "name": "other"}
    assert await _post_proxy(api, f"{base}/rollback/check", other) == (403, "Forbidden")
    task = {**payload, "metadata": {"type": "cmd", "cmd": "hey -z 1m -q 10 -c 2 http://podinfo-canary.test/"}}
    assert (await _post_proxy(api, f"{base}/", task))[0] == 202
    assert tester.tasks == [task]
    core: Any = client.CoreV1Api(api)
    await core.create_namespaced_service(
        "default", {"metadata": {"name": "empty"}, "spec": {"selector": {"app": "none"}, "ports": [{"port": 80}]}}
    )
    with pytest.raises(ApiException) as exc:
        await core.connect_get_namespaced_service_proxy_with_path("empty:80", "default", "health")
    assert exc.value.status == 503
    assert status_of(exc.value)["message"] == 'no endpoints available for service "empty"'


async def test_standalone_pods_run_on_the_test_node_and_others_keep_their_status(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    core: Any = client.CoreV1Api(api)
    spec = {"containers": [{"name": "c", "image": "tool:1"}]}
    await core.create_namespaced_pod("default", {"metadata": {"name": "solo"}, "spec": spec})
    kube_api.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "elsewhere", "namespace": "default"},
            "spec": {**spec, "nodeName": "node-b"},
            "status": {"phase": "Failed"},
        }
    )
    kube_api.settle()
    solo = await core.read_namespaced_pod("solo", "default")
    assert solo.spec.node_name == "kubeapi-test-node" and solo.status.phase == "Running" and solo.status.pod_ip
    assert await core.connect_get_namespaced_pod_proxy_with_path("solo", "default", "healthz") == "OK"
    assert (await core.read_namespaced_pod("elsewhere", "default")).status.phase == "Failed"
    with pytest.raises(ApiException) as exc:
        await core.connect_get_namespaced_pod_proxy_with_path("elsewhere", "default", "healthz")
    assert exc.value.status == 400 and status_of(exc.value)["message"] == "address not allowed"  # no pod IP
