"""Field selectors on Events, on the test Kubernetes API server, with the real kubernetes-asyncio client.

What a real API server accepts: for core `v1` Events the labels the Field Selectors page lists for
Event (`involvedObject.*`, `reason`, `reportingComponent`, `source`, `type`, `metadata.name`,
`metadata.namespace`); for `events.k8s.io/v1` the same fields under that API's names (`regarding.*`,
`reportingController`; kubernetes pkg/apis/events/v1/conversion.go). Any other label is a 400 BadRequest
`field label not supported: <label>`, for a list and for a watch alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.testing import client_for, status_of

NS = "default"


@pytest.fixture
def kube_api(kube_api_factory: Callable[..., KubeApiServer]) -> KubeApiServer:
    return kube_api_factory(controller="manual")  # no Events of the Deployment controller: only the test's


@pytest.fixture
async def api(kube_api: KubeApiServer) -> AsyncIterator[client.ApiClient]:
    api_client = await client_for(kube_api)
    yield api_client
    await api_client.close()


def _event(name: str, api_version: str, kind: str, about: str, reason: str, type_: str = "Normal") -> dict[str, Any]:
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": NS},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "test-controller",
        "reportingInstance": "test-controller-1",
        "action": reason,
        "reason": reason,
        "type": type_,
        "note": f"{reason} {about}",
        "regarding": {"apiVersion": api_version, "kind": kind, "name": about, "namespace": NS, "uid": f"uid-{about}"},
    }


async def _seed(api: client.ApiClient) -> None:
    events: Any = client.EventsV1Api(api)
    for body in (
        _event("web.1", "apps/v1", "Deployment", "web", "ScalingReplicaSet"),
        _event("web-abc.1", "apps/v1", "ReplicaSet", "web-abc", "SuccessfulCreate"),
        _event("pod.1", "v1", "Pod", "web-abc-x", "Pulled"),
        _event("pod.2", "v1", "Pod", "web-abc-y", "BackOff", "Warning"),
    ):
        await events.create_namespaced_event(NS, body)


DOCUMENTED_V1 = {  # events.k8s.io/v1 label → the Events it selects
    "regarding.kind=Deployment": {"web.1"},
    "regarding.kind!=Pod": {"web.1", "web-abc.1"},
    "regarding.name=web-abc": {"web-abc.1"},
    "regarding.namespace=default": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "regarding.uid=uid-web": {"web.1"},
    "regarding.apiVersion=apps/v1": {"web.1", "web-abc.1"},
    "regarding.resourceVersion=": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "regarding.fieldPath=": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "reason=BackOff": {"pod.2"},
    "type=Warning": {"pod.2"},
    "reportingController=test-controller": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "source=test-controller": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "metadata.name=pod.1": {"pod.1"},
    "metadata.namespace=default": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "regarding.kind=Pod,type=Normal": {"pod.1"},
}
DOCUMENTED_CORE = {
    "involvedObject.kind=ReplicaSet": {"web-abc.1"},
    "involvedObject.name==web": {"web.1"},
    "involvedObject.uid=uid-web-abc-y": {"pod.2"},
    "involvedObject.apiVersion=v1": {"pod.1", "pod.2"},
    "reason=Pulled": {"pod.1"},
    "reportingComponent=test-controller": {"web.1", "web-abc.1", "pod.1", "pod.2"},
    "source=nobody": set(),
    "type!=Normal": {"pod.2"},
    "metadata.name=web.1": {"web.1"},
}


async def test_documented_event_labels_select_in_both_apis(api: client.ApiClient) -> None:
    await _seed(api)
    events: Any = client.EventsV1Api(api)
    core: Any = client.CoreV1Api(api)
    for selector, names in DOCUMENTED_V1.items():
        got = await events.list_namespaced_event(NS, field_selector=selector)
        assert {e.metadata.name for e in got.items} == names, selector
    for selector, names in DOCUMENTED_CORE.items():
        got = await core.list_namespaced_event(NS, field_selector=selector)
        assert {e.metadata.name for e in got.items} == names, selector
    every = await events.list_event_for_all_namespaces(field_selector="regarding.kind=ReplicaSet")
    assert [e.metadata.name for e in every.items] == ["web-abc.1"]  # cluster-wide too


async def test_a_watch_with_regarding_kind_sends_only_those_events(api: client.ApiClient) -> None:
    events: Any = client.EventsV1Api(api)
    listed = await events.list_event_for_all_namespaces(field_selector="regarding.kind=Deployment")
    await _seed(api)
    resp = await events.list_event_for_all_namespaces(
        field_selector="regarding.kind=Deployment",
        watch=True,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=1,
        _preload_content=False,
    )
    lines = [json.loads(line) for line in (await resp.read()).splitlines() if line.strip()]
    changes = [(ln["type"], ln["object"]["metadata"]["name"]) for ln in lines if ln["type"] != "BOOKMARK"]
    assert changes == [("ADDED", "web.1")]


REFUSED_V1 = ["involvedObject.kind=Deployment", "reportingComponent=x", "note=hi", "spec.foo=bar", "action=Pulled"]
REFUSED_CORE = ["regarding.kind=Deployment", "reportingController=x", "message=hi", "count=1"]


async def test_other_labels_are_a_bad_request_for_lists_and_watches(api: client.ApiClient) -> None:
    events: Any = client.EventsV1Api(api)
    core: Any = client.CoreV1Api(api)
    calls = [(events.list_namespaced_event, s) for s in REFUSED_V1]
    calls += [(core.list_namespaced_event, s) for s in REFUSED_CORE]
    for call, selector in calls:
        label = selector.split("=", 1)[0]
        with pytest.raises(ApiException) as exc:
            await call(NS, field_selector=selector)
        status = status_of(exc.value)
        assert exc.value.status == 400, selector
        assert (status["reason"], status["message"]) == ("BadRequest", f"field label not supported: {label}")
        resp = await call(NS, field_selector=selector, watch=True, timeout_seconds=1, _preload_content=False)
        body = json.loads(await resp.read())  # a watch that cannot start is answered with the Status, no stream
        assert (resp.status, body["kind"], body["code"], body["message"]) == (400, "Status", 400, status["message"])
    with pytest.raises(ApiException) as exc:  # and cluster-wide
        await events.list_event_for_all_namespaces(field_selector="involvedObject.kind=Pod")
    assert exc.value.status == 400


async def test_other_built_ins_keep_their_field_paths(api: client.ApiClient) -> None:
    """Only the Events' labels are checked here; other built-in lists still select by a field path."""
    apps: Any = client.AppsV1Api(api)
    got = await apps.list_namespaced_deployment(NS, field_selector="metadata.name=nothing")
    assert got.items == []
