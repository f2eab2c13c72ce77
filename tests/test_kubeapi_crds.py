"""Custom resources on the test API server, with the real kubernetes-asyncio client: a CRD (the
schema-only upstream copies under tests/kubeapi/crds/) makes its group, versions and plural servable.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubeapi.catalog import load_crds
from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.testing import JSON_PATCH, MERGE, STRATEGIC, client_for, status_of


@pytest.fixture
def kube_api(kube_api_factory: Callable[..., KubeApiServer]) -> KubeApiServer:
    """The suite's fixture, but with the Deployment controller stepped by the tests (deterministic)."""
    return kube_api_factory(controller="manual")


@pytest.fixture
async def api(kube_api: KubeApiServer) -> AsyncIterator[client.ApiClient]:
    api_client = await client_for(kube_api)
    yield api_client
    await api_client.close()


async def test_crd_makes_custom_objects_servable(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    custom: Any = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as exc:
        await custom.list_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries")
    assert exc.value.status == 404
    ext: Any = client.ApiextensionsV1Api(api)
    crd = load_crds(["canaries.flagger.app"])[0]
    assert "description" not in json.dumps(crd)
    created_crd = await ext.create_custom_resource_definition(crd)
    assert {c.type for c in created_crd.status.conditions} >= {"Established", "NamesAccepted"}
    canary = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "analysis": {"interval": "30s", "threshold": 5, "stepWeight": 10, "maxWeight": 50},
        },
    }
    made = await custom.create_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries", canary)
    assert made["metadata"]["generation"] == 1 and made["kind"] == "Canary"
    out = await custom.patch_namespaced_custom_object(
        "flagger.app", "v1beta1", "default", "canaries", "podinfo", {"spec": {"suspend": True}}, _content_type=MERGE
    )
    assert out["spec"]["suspend"] is True and out["metadata"]["generation"] == 2
    status = {"status": {"phase": "Progressing", "canaryWeight": 10}}
    out = await custom.patch_namespaced_custom_object_status(
        "flagger.app", "v1beta1", "default", "canaries", "podinfo", status, _content_type=MERGE
    )
    assert out["status"]["phase"] == "Progressing" and out["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as exc:
        await custom.patch_namespaced_custom_object(
            "flagger.app",
            "v1beta1",
            "default",
            "canaries",
            "podinfo",
            {"spec": {"suspend": False}},
            _content_type=STRATEGIC,
        )
    assert exc.value.status == 415 and status_of(exc.value)["reason"] == "UnsupportedMediaType"
    listed = await custom.list_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries")
    assert listed["kind"] == "CanaryList" and [i["metadata"]["name"] for i in listed["items"]] == ["podinfo"]
    kube_api.install_crds("argo")
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "r"},
        "spec": {"replicas": 3},
    }
    await custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", "default", "rollouts", rollout)
    scale = await custom.get_namespaced_custom_object_scale("argoproj.io", "v1alpha1", "default", "rollouts", "r")
    assert scale["spec"]["replicas"] == 3
    cluster = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ClusterAnalysisTemplate",
        "metadata": {"name": "t"},
        "spec": {"metrics": []},
    }
    await custom.create_cluster_custom_object("argoproj.io", "v1alpha1", "clusteranalysistemplates", cluster)
    assert kube_api.get("argoproj.io/v1alpha1", "ClusterAnalysisTemplate", "t", "") is not None
    await ext.delete_custom_resource_definition("canaries.flagger.app")
    with pytest.raises(ApiException) as exc:
        await custom.list_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries")
    assert exc.value.status == 404


async def test_every_upstream_crd_installs_and_each_served_version_shows_the_same_objects(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    names = kube_api.install_crds()
    assert len(names) == 12 and "httproutes.gateway.networking.k8s.io" in names
    for crd in load_crds():
        spec = crd["spec"]
        assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
        assert "description" not in json.dumps(crd)
    custom: Any = client.CustomObjectsApi(api)
    vs = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "web"},
        "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web-primary"}, "weight": 100}]}]},
    }
    await custom.create_namespaced_custom_object("networking.istio.io", "v1beta1", "default", "virtualservices", vs)
    for version in ("v1", "v1alpha3"):
        got = await custom.get_namespaced_custom_object(
            "networking.istio.io", version, "default", "virtualservices", "web"
        )
        assert got["apiVersion"] == f"networking.istio.io/{version}" and got["spec"] == vs["spec"]
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {
            "rules": [
                {
                    "backendRefs": [
                        {"name": "web-primary", "port": 80, "weight": 90},
                        {"name": "web-canary", "port": 80, "weight": 10},
                    ]
                }
            ]
        },
    }
    await custom.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", "default", "httproutes", route)
    ops = [{"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 20}]
    out = await custom.patch_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", "default", "httproutes", "web", ops, _content_type=JSON_PATCH
    )
    assert out["spec"]["rules"][0]["backendRefs"][1]["weight"] == 20


async def test_custom_objects_are_checked_against_the_crd_schema(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    """Wording as kube-apiserver v1.36 answered the same Canary (oneOf of required sets, types)."""
    kube_api.install_crds("flagger")
    custom: Any = client.CustomObjectsApi(api)
    body: dict[str, Any] = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "shop"},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop"}, "analysis": {}},
    }
    body["spec"]["analysis"] = {"interval": "1m"}
    with pytest.raises(ApiException) as exc:
        await custom.create_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries", body)
    status = status_of(exc.value)
    assert exc.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith(
        'Canary.flagger.app "shop" is invalid: [<nil>: Invalid value: "": "spec.analysis" must validate one and '
        "only one schema (oneOf). Found none valid, spec.analysis.threshold: Required value"
    )
    body["spec"]["analysis"] = {"interval": "1m", "threshold": "five", "stepWeight": 10}
    with pytest.raises(ApiException) as exc:
        await custom.create_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries", body)
    assert "spec.analysis.threshold in body must be of type number" in status_of(exc.value)["message"]
    body["spec"]["analysis"]["threshold"] = 5
    created = await custom.create_namespaced_custom_object("flagger.app", "v1beta1", "default", "canaries", body)
    assert created["metadata"]["generation"] == 1
