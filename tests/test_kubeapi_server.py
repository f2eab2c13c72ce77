"""The test Kubernetes API server, exercised with the real kubernetes-asyncio client over HTTP.

Each test checks a behaviour the Kubernetes API documentation describes (api-concepts, the API
reference, RBAC), so the backend tested against this server is tested against documented behaviour,
not against its own assumptions. Watches: test_kubeapi_watch.py; custom resources:
test_kubeapi_crds.py; controller and proxies: test_kubeapi_controller.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.testing import JSON_PATCH, MERGE, STRATEGIC, client_for, deployment, status_of


@pytest.fixture
def kube_api(kube_api_factory: Callable[..., KubeApiServer]) -> KubeApiServer:
    """The suite's fixture, but with the Deployment controller stepped by the tests (deterministic)."""
    return kube_api_factory(controller="manual")


@pytest.fixture
async def api(kube_api: KubeApiServer) -> AsyncIterator[client.ApiClient]:
    api_client = await client_for(kube_api)
    yield api_client
    await api_client.close()


async def test_discovery_lists_groups_resources_and_subresources(kube_api: KubeApiServer) -> None:
    await config.load_kube_config(config_file=str(kube_api.kubeconfig))
    async with client.ApiClient() as api_client:
        versions = await client.CoreApi(api_client).get_api_versions()
        assert versions.versions == ["v1"]
        groups = {g.name for g in (await client.ApisApi(api_client).get_api_versions()).groups}
        assert {"apps", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"} <= groups
        assert "flagger.app" not in groups
        resources = {r.name: r for r in (await client.AppsV1Api(api_client).get_api_resources()).resources}
        assert resources["deployments"].namespaced and resources["deployments"].kind == "Deployment"
        assert "patch" in resources["deployments"].verbs
        assert resources["deployments/scale"].kind == "Scale"
        assert "deployments/status" in resources
        core = {r.name for r in (await client.CoreV1Api(api_client).get_api_resources()).resources}
        assert {"pods", "services", "events", "namespaces", "pods/proxy", "services/proxy"} <= core
        kube_api.install_crds("flagger")
        groups = {g.name for g in (await client.ApisApi(api_client).get_api_versions()).groups}
        assert "flagger.app" in groups
        version = await client.VersionApi(api_client).get_code()
        assert version.major == "1"


async def test_create_get_list_and_conflicts_as_status_objects(api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    created = await apps.create_namespaced_deployment("default", deployment())
    assert created.metadata.uid and created.metadata.generation == 1 and created.metadata.creation_timestamp
    assert created.spec.progress_deadline_seconds == 600  # defaulted
    with pytest.raises(ApiException) as exc:
        await apps.create_namespaced_deployment("default", deployment())
    body = status_of(exc.value)
    assert (exc.value.status, body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'deployments.apps "web" already exists'
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}

    stale_copy = deployment("copy")
    stale_copy["metadata"]["resourceVersion"] = created.metadata.resource_version
    with pytest.raises(ApiException) as exc:  # an object read back must lose its resourceVersion to be created
        await apps.create_namespaced_deployment("default", stale_copy)
    body = status_of(exc.value)  # kube-apiserver answers this one 500, with no reason
    assert exc.value.status == 500 and "reason" not in body
    assert body["message"] == "resourceVersion should not be set on objects to be created"
    await apps.create_namespaced_deployment("default", deployment("api", tier="backend"))
    listed = await apps.list_namespaced_deployment("default")
    assert [d.metadata.name for d in listed.items] == ["api", "web"]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)
    by_label = await apps.list_namespaced_deployment("default", label_selector="tier=backend")
    assert [d.metadata.name for d in by_label.items] == ["api"]
    by_set = await apps.list_namespaced_deployment("default", label_selector="app in (web,x),!tier")
    assert [d.metadata.name for d in by_set.items] == ["web"]
    by_field = await apps.list_deployment_for_all_namespaces(field_selector="metadata.name=web")
    assert [d.metadata.name for d in by_field.items] == ["web"]

    fresh = await apps.read_namespaced_deployment("web", "default")
    fresh.spec.replicas = 5
    replaced = await apps.replace_namespaced_deployment("web", "default", fresh)
    assert replaced.metadata.generation == 2
    assert int(replaced.metadata.resource_version) > int(fresh.metadata.resource_version)
    fresh.spec.replicas = 7  # still carries the old resourceVersion
    with pytest.raises(ApiException) as exc:
        await apps.replace_namespaced_deployment("web", "default", fresh)
    body = status_of(exc.value)
    assert (exc.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"].startswith('Operation cannot be fulfilled on deployments.apps "web": the object has been')

    with pytest.raises(ApiException) as exc:
        await apps.read_namespaced_deployment("nope", "default")
    body = status_of(exc.value)
    assert (exc.value.status, body["reason"], body["message"]) == (404, "NotFound", 'deployments.apps "nope" not found')


async def test_three_patch_types_and_resource_version_precondition(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    apps: Any = client.AppsV1Api(api)
    await apps.create_namespaced_deployment("default", deployment())
    kube_api.clear_requests()
    # strategic merge: containers merge by name, so the sidecar stays
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}
    out = await apps.patch_namespaced_deployment("web", "default", patch)
    assert [(c.name, c.image) for c in out.spec.template.spec.containers] == [
        ("app", "nginx:1.26"),
        ("sidecar", "envoy:1"),
    ]
    assert out.spec.template.spec.containers[0].ports[0].container_port == 8080
    assert out.metadata.generation == 2
    # merge patch (RFC 7386): lists replace, null deletes
    merge = {
        "metadata": {"labels": {"extra": "1", "app": None}},
        "spec": {"template": {"spec": {"containers": [{"name": "only", "image": "busybox:1"}]}}},
    }
    with pytest.raises(ApiException) as exc:  # template labels no longer match the selector
        await apps.patch_namespaced_deployment(
            "web", "default", {"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}}, _content_type=MERGE
        )
    assert exc.value.status == 422 and status_of(exc.value)["reason"] == "Invalid"
    out = await apps.patch_namespaced_deployment("web", "default", merge, _content_type=MERGE)
    assert [c.name for c in out.spec.template.spec.containers] == ["only"]
    assert out.metadata.labels == {"extra": "1"}
    with pytest.raises(ApiException) as exc:  # apps/v1 selectors are immutable
        await apps.patch_namespaced_deployment(
            "web", "default", {"spec": {"selector": {"matchLabels": {"app": "web", "x": "1"}}}}, _content_type=MERGE
        )
    assert exc.value.status == 422 and "spec.selector" in status_of(exc.value)["message"]
    assert "field is immutable" in status_of(exc.value)["message"]
    # JSON patch (RFC 6902) with a passing and a failing test op
    rv = out.metadata.resource_version
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
    ]
    out = await apps.patch_namespaced_deployment("web", "default", ops)
    assert out.spec.replicas == 4
    with pytest.raises(ApiException) as exc:
        await apps.patch_namespaced_deployment("web", "default", ops)
    assert exc.value.status == 422 and status_of(exc.value)["reason"] == "Invalid"
    # a patch carrying a stale metadata.resourceVersion is a precondition
    stale = {"metadata": {"resourceVersion": rv}, "spec": {"replicas": 1}}
    with pytest.raises(ApiException) as exc:
        await apps.patch_namespaced_deployment("web", "default", stale, _content_type=MERGE)
    assert exc.value.status == 409 and status_of(exc.value)["reason"] == "Conflict"
    types = [r.content_type for r in kube_api.requests if r.method == "PATCH"]
    assert types == [STRATEGIC, MERGE, MERGE, MERGE, JSON_PATCH, JSON_PATCH, MERGE]
    first = next(r for r in kube_api.requests if r.method == "PATCH")
    assert json.loads(first.body) == patch and first.user == "admin"


async def test_strategic_merge_directives_and_keys() -> None:
    from tests.kubeapi.patch import strategic_merge

    pod = {
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
                    "ports": [{"containerPort": 80}],
                }
            ]
        },
        "metadata": {"finalizers": ["f1"]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    out = strategic_merge(
        pod,
        {
            "spec": {
                "containers": [
                    {
                        "name": "a",
                        "env": [{"name": "Y", "$patch": "delete"}, {"name": "Z", "value": "3"}],
                        "ports": [{"containerPort": 81}],
                    }
                ]
            },
            "metadata": {"finalizers": ["f2"]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )
    container = out["spec"]["containers"][0]
    assert container["env"] == [{"name": "X", "value": "1"}, {"name": "Z", "value": "3"}]
    assert container["ports"] == [{"containerPort": 80}, {"containerPort": 81}]
    assert out["metadata"]["finalizers"] == ["f1", "f2"]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    replaced = strategic_merge(pod, {"spec": {"containers": [{"$patch": "replace"}, {"name": "b"}]}})
    assert replaced["spec"]["containers"] == [{"name": "b"}]


async def test_forbidden_and_unauthorized(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    await apps.create_namespaced_deployment("default", deployment())
    kube_api.grant("viewer", "view")
    kube_api.write_kubeconfig(kube_api.kubeconfig, contexts={"test": ("admin", "default"), "ro": ("viewer", "default")})
    viewer = await client_for(kube_api, context="ro")
    try:
        apps = client.AppsV1Api(viewer)
        assert [d.metadata.name for d in (await apps.list_namespaced_deployment("default")).items] == ["web"]
        with pytest.raises(ApiException) as exc:
            await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 1}})
        body = status_of(exc.value)
        assert (exc.value.status, body["reason"]) == (403, "Forbidden")
        assert body["message"] == (
            'deployments.apps "web" is forbidden: User "viewer" cannot patch resource "deployments" in API group '
            '"apps" in the namespace "default"'
        )
        with pytest.raises(ApiException) as exc:
            await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 1}})
        assert 'cannot patch resource "deployments/scale"' in status_of(exc.value)["message"]
        with pytest.raises(ApiException) as exc:
            viewer_core: Any = client.CoreV1Api(viewer)
            await viewer_core.create_namespace({"metadata": {"name": "x"}})
        assert status_of(exc.value)["message"] == (
            'namespaces is forbidden: User "viewer" cannot create resource "namespaces" in API group "" at the '
            "cluster scope"
        )
    finally:
        await viewer.close()
    anonymous = client.ApiClient(client.Configuration(host=kube_api.url))
    try:
        with pytest.raises(ApiException) as exc:
            await client.CoreV1Api(anonymous).list_namespace()
        assert exc.value.status == 401 and status_of(exc.value)["reason"] == "Unauthorized"
    finally:
        await anonymous.close()


async def test_scale_subresource_read_and_patch(api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    await apps.create_namespaced_deployment("default", deployment(replicas=2))
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.kind, scale.api_version, scale.spec.replicas, scale.status.selector) == (
        "Scale",
        "autoscaling/v1",
        2,
        "app=web",
    )
    out = await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 0}})
    assert out.spec.replicas == 0
    assert (await apps.read_namespaced_deployment("web", "default")).spec.replicas == 0
    with pytest.raises(ApiException) as exc:
        await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": -1}})
    assert exc.value.status == 422


async def test_status_subresource_is_separate_from_the_main_endpoint(api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    await apps.create_namespaced_deployment("default", deployment())
    out = await apps.patch_namespaced_deployment("web", "default", {"status": {"replicas": 9}}, _content_type=MERGE)
    assert out.status is None or out.status.replicas is None
    out = await apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"replicas": 9}}, _content_type=MERGE
    )
    assert out.status.replicas == 9 and out.metadata.generation == 1


async def test_invalid_objects_get_422_with_field_causes(api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metadata": {}}, "metadata.name: Required value: name or generateName is required"),
        (
            {"metadata": {"name": "web", "labels": {"app": "bad value!"}}},
            'metadata.labels: Invalid value: "bad value!"',
        ),
        ({"spec": {"replicas": -1}}, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ]
    for change, text in cases:
        body = deployment()
        body["metadata"].update(change.get("metadata", {}))
        body["spec"].update(change.get("spec", {}))
        if "name" not in body["metadata"] or change.get("metadata") == {}:
            body["metadata"].pop("name", None)
        with pytest.raises(ApiException) as exc:
            await apps.create_namespaced_deployment("default", body)
        status = status_of(exc.value)
        assert (exc.value.status, status["reason"]) == (422, "Invalid")
        assert status["message"].startswith('Deployment.apps "') and text in status["message"]
        assert status["details"]["causes"][0]["field"] == text.split(":")[0]
    with pytest.raises(ApiException) as exc:
        await apps.create_namespaced_deployment("nowhere", deployment())
    assert exc.value.status == 404 and status_of(exc.value)["message"] == 'namespaces "nowhere" not found'


async def test_list_pagination_with_limit_and_continue(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    for n in range(5):
        await core.create_namespaced_config_map("default", {"metadata": {"name": f"cm{n}"}})
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = await core.list_namespaced_config_map("default", limit=2, _continue=token)
        names += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"cm{n}" for n in range(5)] and pages == 3


async def test_unreachable_latency_and_recovery(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    await core.list_namespace()
    kube_api.set_reachable(False)
    with pytest.raises(Exception) as exc:  # aiohttp connection errors
        await core.list_namespace(_request_timeout=2)
    assert not isinstance(exc.value, ApiException)
    kube_api.set_reachable(True)
    assert (await core.list_namespace()).items
    kube_api.set_latency(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await core.list_namespace()
    assert loop.time() - started >= 0.3
    kube_api.set_latency(0)


async def test_delete_returns_status_and_collects_dependents(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(api)
    owner = await apps.create_namespaced_deployment("default", deployment())
    kube_api.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "dep",
                "namespace": "default",
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner.metadata.uid}
                ],
            },
        }
    )
    status = await apps.delete_namespaced_deployment("web", "default")
    assert status.status == "Success" and status.details.name == "web"
    assert kube_api.get("v1", "ConfigMap", "dep") is None


async def test_self_subject_review_and_access_review(kube_api: KubeApiServer) -> None:
    kube_api.grant("ops", "edit", namespace="default", groups=["team-a"])
    kube_api.write_kubeconfig(kube_api.kubeconfig, contexts={"ops": ("ops", "default")})
    ops = await client_for(kube_api)
    try:
        authn: Any = client.AuthenticationV1Api(ops)
        review = await authn.create_self_subject_review({})
        assert review.status.user_info.username == "ops"
        assert review.status.user_info.groups == ["team-a", "system:authenticated"]
        authz: Any = client.AuthorizationV1Api(ops)

        async def can(verb: str, resource: str, group: str = "", namespace: str = "default", sub: str = "") -> bool:
            body = {
                "spec": {
                    "resourceAttributes": {
                        "verb": verb,
                        "resource": resource,
                        "group": group,
                        "namespace": namespace,
                        "subresource": sub,
                    }
                }
            }
            return bool((await authz.create_self_subject_access_review(body)).status.allowed)

        assert await can("patch", "deployments", "apps")
        assert await can("get", "pods", sub="proxy")
        assert not await can("patch", "deployments", "apps", namespace="kube-system")
        assert not await can("create", "customresourcedefinitions", "apiextensions.k8s.io", namespace="")
    finally:
        await ops.close()


async def test_server_side_apply_creates_then_merges_and_lists_show_item_kinds_as_the_server_does(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    core: Any = client.CoreV1Api(api)
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    apply = "application/apply-patch+yaml"
    with pytest.raises(ApiException) as exc:
        await core.patch_namespaced_config_map("cfg", "default", manifest, _content_type=apply)
    assert exc.value.status == 422 and "fieldManager" in status_of(exc.value)["message"]
    made = await core.patch_namespaced_config_map("cfg", "default", manifest, field_manager="t", _content_type=apply)
    assert made.data == {"a": "1"}
    manifest["data"] = {"b": "2"}
    out = await core.patch_namespaced_config_map("cfg", "default", manifest, field_manager="t", _content_type=apply)
    assert out.data == {"a": "1", "b": "2"}
    raw = await core.list_namespaced_config_map("default", _preload_content=False)
    listed = json.loads(await raw.read())
    assert (listed["kind"], listed["apiVersion"]) == ("ConfigMapList", "v1")
    assert "kind" not in listed["items"][0] and "apiVersion" not in listed["items"][0]
    kube_api.install_crds("smi")
    custom: Any = client.CustomObjectsApi(api)
    split = {
        "apiVersion": "split.smi-spec.io/v1alpha4",
        "kind": "TrafficSplit",
        "metadata": {"name": "s"},
        "spec": {"service": "web", "backends": [{"service": "web-primary", "weight": 100}]},
    }
    await custom.create_namespaced_custom_object("split.smi-spec.io", "v1alpha4", "default", "trafficsplits", split)
    items = (await custom.list_namespaced_custom_object("split.smi-spec.io", "v1alpha4", "default", "trafficsplits"))[
        "items"
    ]
    assert (items[0]["kind"], items[0]["apiVersion"]) == ("TrafficSplit", "split.smi-spec.io/v1alpha4")


async def test_events_v1_and_core_events_are_one_resource(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    events: Any = client.EventsV1Api(api)
    core: Any = client.CoreV1Api(api)
    event = {
        "metadata": {"name": "web.1"},
        "eventTime": "2026-12-02T06:00:00.000000Z",
        "reportingController": "shiftroom.io/room",
        "reportingInstance": "room-1",
        "action": "Promote",
        "reason": "Promoted",
        "type": "Normal",
        "note": "promoted web to 100%",
        "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "default"},
    }
    with pytest.raises(ApiException) as exc:
        await events.create_namespaced_event("default", {**event, "reportingController": None})
    assert exc.value.status == 422 and "reportingController: Required value" in status_of(exc.value)["message"]
    listed = await core.list_namespaced_event("default")
    await events.create_namespaced_event("default", event)
    seen = await core.list_namespaced_event("default", field_selector="involvedObject.name=web")
    assert [(e.reason, e.message, e.reporting_component, e.involved_object.kind) for e in seen.items] == [
        ("Promoted", "promoted web to 100%", "shiftroom.io/room", "Deployment")
    ]
    resp = await core.list_namespaced_event(
        "default",
        watch=True,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
        _preload_content=False,
    )
    line = json.loads((await resp.read()).splitlines()[0])
    assert (line["type"], line["object"]["apiVersion"], line["object"]["message"]) == (
        "ADDED",
        "v1",
        "promoted web to 100%",
    )
    back = await events.read_namespaced_event("web.1", "default")
    assert back.note == "promoted web to 100%" and back.regarding.name == "web"
