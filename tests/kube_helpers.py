"""Shared by tests/test_kube_*.py: a cluster to test against and object builders.

By default the test Kubernetes API server (`kube_api`, tests/kubeapi/). With
`SHIFTROOM_TEST_KUBECONFIG` set, the same tests run against that real cluster,
each in a namespace of its own (deleted afterwards); tests that need the test
server's own controls (request log, outages, stalls) skip there, saying so.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.model import Target

REAL = os.environ.get("SHIFTROOM_TEST_KUBECONFIG", "")


@dataclass
class Env:
    kubeconfig: Path
    namespace: str
    server: Any = None  # the test server (None on a real cluster)
    cluster: Any = None  # a KubeCluster on `kubeconfig`, admin identity

    def needs_server(self) -> Any:
        if self.server is None:
            pytest.skip("needs the test API server's own controls; SHIFTROOM_TEST_KUBECONFIG points at a real cluster")
        return self.server

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace `obj` (with its status on the test server)."""
        obj = {**obj, "metadata": {**obj["metadata"], "namespace": self.namespace}}
        if self.server is not None:
            return await asyncio.to_thread(self.server.apply, obj)
        return await _real_apply(self.cluster.api, obj)

    async def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        if self.server is not None:
            return await asyncio.to_thread(self.server.get, api_version, kind, name, self.namespace)
        from backends.base import NotFound
        from backends.kubernetes.resources import resource_for
        from backends.kubernetes.writes import get

        try:
            return await get(self.cluster.api, resource_for(api_version, kind), self.namespace, name)
        except NotFound:
            return None


async def _real_apply(api: Any, obj: dict[str, Any]) -> dict[str, Any]:
    from backends.base import NotFound
    from backends.kubernetes.errors import What
    from backends.kubernetes.resources import resource_for

    res = resource_for(obj["apiVersion"], obj["kind"])
    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    try:
        current = await api.call("GET", res.path(ns, name), What("get", res, ns, name))
    except NotFound:
        return dict(await api.call("POST", res.path(ns), What("create", res, ns, name), body=obj))
    body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
    return dict(await api.call("PUT", res.path(ns, name), What("update", res, ns, name), body=body))


async def make_cluster(
    kubeconfig: Path | str,
    *,
    context: str | None = None,
    targets: list[Target] | None = None,
    read_only: bool = False,
    namespaces: list[str] | None = None,
    **kw: Any,
) -> Any:
    from backends.kubernetes.client import Api, connect
    from backends.kubernetes.cluster import KubeCluster
    from backends.kubernetes.discovery import whoami

    cfg, where = await connect(str(kubeconfig), context, env={})
    api = Api(cfg, where.server)
    identity = await whoami(api)
    return KubeCluster(
        api,
        namespaces=namespaces or [where.namespace],
        targets=targets or [],
        read_only=read_only,
        identity=identity,
        where=where,
        **kw,
    )


async def env_fixture(
    request: pytest.FixtureRequest, controller: str = "manual", namespace: str = "default"
) -> AsyncIterator[Env]:
    """controller="manual": the test server's Deployment controller runs only on `settle()`, so
    tests can write status by hand; "auto": it reacts to every change, as a real one does."""
    if REAL:
        ns = f"shiftroom-test-{secrets.token_hex(3)}"
        cluster = await make_cluster(REAL, namespaces=[ns])
        await _real_apply(
            cluster.api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "namespace": ""}}
        )
        env = Env(Path(REAL), ns, None, cluster)
        try:
            yield env
        finally:
            from backends.kubernetes.errors import What
            from backends.kubernetes.resources import Res

            nsres = Res("", "v1", "namespaces", "Namespace", namespaced=False)
            await cluster.api.call("DELETE", nsres.path(None, ns), What("delete", nsres, None, ns))
            await cluster.close()
        return
    server = request.getfixturevalue("kube_api_factory")(**({"controller": "manual"} if controller == "manual" else {}))
    if namespace != "default":
        server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    cluster = await make_cluster(server.kubeconfig, namespaces=[namespace])
    env = Env(server.kubeconfig, namespace, server, cluster)
    try:
        yield env
    finally:
        await cluster.close()


def deployment(
    name: str,
    image: str,
    *,
    replicas: int = 3,
    labels: dict[str, str] | None = None,
    ready: bool = True,
    revision: int | None = None,
    container: str = "app",
    port: int = 80,
) -> dict[str, Any]:
    labels = labels or {"app": name}
    meta: dict[str, Any] = {"name": name, "labels": dict(labels), "generation": 1}
    if revision is not None:
        meta["annotations"] = {"deployment.kubernetes.io/revision": str(revision)}
    n = replicas if ready else 0
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": container, "image": image, "ports": [{"containerPort": port}]}]},
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": n,
            "availableReplicas": n,
        },
    }


def service(name: str, selector: dict[str, str], port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": dict(selector), "ports": [{"port": port, "targetPort": port}]},
    }
