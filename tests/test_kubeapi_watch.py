"""WATCH on the test API server with the real kubernetes-asyncio client: order, bookmarks,
initial events, 410 Expired, timeouts and stalls, as api-concepts describes them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.testing import client_for, deployment


@pytest.fixture
def kube_api(kube_api_factory: Callable[..., KubeApiServer]) -> KubeApiServer:
    """The suite's fixture, but with the Deployment controller stepped by the tests (deterministic)."""
    return kube_api_factory(controller="manual")


@pytest.fixture
async def api(kube_api: KubeApiServer) -> AsyncIterator[client.ApiClient]:
    api_client = await client_for(kube_api)
    yield api_client
    await api_client.close()


async def test_watch_from_list_resource_version_sees_changes_in_order_and_bookmarks(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    core: Any = client.CoreV1Api(api)  # ConfigMaps: no controller writes to them
    await core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "1"}})
    listed = await core.list_namespaced_config_map("default")
    await core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    await core.patch_namespaced_config_map("a", "default", {"data": {"k": "2"}})
    await core.delete_namespaced_config_map("b", "default")
    seen: list[tuple[str, str]] = []
    rvs: list[int] = []
    async with watch.Watch() as w:
        async for ev in w.stream(
            core.list_namespaced_config_map,
            "default",
            allow_watch_bookmarks=True,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=5,
        ):
            if ev["type"] == "BOOKMARK":
                assert list(ev["raw_object"]["metadata"]) == ["resourceVersion"]
                assert int(ev["raw_object"]["metadata"]["resourceVersion"]) >= rvs[-1]
                seen.append(("BOOKMARK", ""))
                break
            seen.append((ev["type"], ev["object"].metadata.name))
            rvs.append(int(ev["object"].metadata.resource_version))
    assert seen == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b"), ("BOOKMARK", "")]
    assert rvs == sorted(rvs)


async def test_watch_without_resource_version_starts_with_state_and_ends_at_timeout(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    core: Any = client.CoreV1Api(api)
    await core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "svc", "labels": {"app": "x"}},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}},
        },
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    events = []
    async with watch.Watch() as w:
        async for ev in w.stream(core.list_namespaced_service, "default", label_selector="app=x", timeout_seconds=1):
            events.append((ev["type"], ev["object"].metadata.name))
    assert events == [("ADDED", "svc")]
    assert 0.9 <= loop.time() - started < 3


async def test_send_initial_events_ends_with_annotated_bookmark(api: client.ApiClient) -> None:
    coord: Any = client.CoordinationV1Api(api)
    await coord.create_namespaced_lease("default", {"metadata": {"name": "l1"}, "spec": {"holderIdentity": "me"}})
    resp = await coord.list_namespaced_lease(
        "default",
        watch=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        timeout_seconds=2,
        _preload_content=False,
    )
    first = json.loads(await resp.content.readline())
    second = json.loads(await resp.content.readline())
    resp.close()
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "l1")
    assert second["type"] == "BOOKMARK"
    assert second["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_from_compacted_resource_version_gets_410_expired(
    kube_api: KubeApiServer, api: client.ApiClient
) -> None:
    apps: Any = client.AppsV1Api(api)
    await apps.create_namespaced_deployment("default", deployment())
    listed = await apps.list_namespaced_deployment("default")
    await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    kube_api.compact()
    resp = await apps.list_namespaced_deployment(
        "default",
        watch=True,
        timeout_seconds=2,
        _preload_content=False,
        resource_version=listed.metadata.resource_version,
    )
    assert resp.status == 200  # the error arrives as a watch event, and the stream ends
    lines = (await resp.read()).splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert (event["object"]["kind"], event["object"]["code"], event["object"]["reason"]) == ("Status", 410, "Expired")
    with pytest.raises(ApiException) as exc:
        async with watch.Watch() as w:
            async for _ in w.stream(
                apps.list_namespaced_deployment,
                "default",
                timeout_seconds=2,
                resource_version=listed.metadata.resource_version,
            ):
                pass
    assert exc.value.status == 410


async def test_stalled_watch_stays_open_and_sends_nothing(kube_api: KubeApiServer, api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    listed = await core.list_namespaced_config_map("default")
    resp = await core.list_namespaced_config_map(
        "default",
        watch=True,
        allow_watch_bookmarks=True,
        resource_version=listed.metadata.resource_version,
        _preload_content=False,
    )
    kube_api.stall_watches()
    await core.create_namespaced_config_map("default", {"metadata": {"name": "late"}})
    second = await core.list_namespaced_config_map("default", watch=True, timeout_seconds=5, _preload_content=False)
    assert second.status == 200  # a new watch opens, but sends nothing either
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(resp.content.readline(), 0.6)  # several bookmark intervals
    kube_api.stall_watches(False)
    line = json.loads(await asyncio.wait_for(resp.content.readline(), 2))
    resp.close()
    assert (line["type"], line["object"]["metadata"]["name"]) == ("ADDED", "late")
    assert json.loads(await asyncio.wait_for(second.content.readline(), 2))["type"] == "ADDED"
    second.close()


async def test_history_window_overflow_expires_old_resource_versions(
    kube_api_factory: Callable[..., KubeApiServer],
) -> None:
    server = kube_api_factory(controller="manual", history_window=3)
    api_client = await client_for(server)
    try:
        core: Any = client.CoreV1Api(api_client)
        start = (await core.list_namespaced_config_map("default")).metadata.resource_version
        for n in range(5):
            await core.create_namespaced_config_map("default", {"metadata": {"name": f"c{n}"}})
        resp = await core.list_namespaced_config_map(
            "default", watch=True, resource_version=start, timeout_seconds=1, _preload_content=False
        )
        event = json.loads((await resp.read()).splitlines()[0])
        assert (event["type"], event["object"]["code"]) == ("ERROR", 410)
        assert event["object"]["message"].startswith(f"too old resource version: {start} (")
    finally:
        await api_client.close()
