"""Shared by tests/test_kube_*.py: a cluster to test against and object builders.

By default the test Kubernetes API server (`kube_api`, tests/kubeapi/). With
`SHIFTROOM_TEST_KUBECONFIG` set (a kubeconfig whose current context is
cluster-admin), the same tests run against that real cluster, each in a namespace
of its own (deleted afterwards), with the cluster's own controllers (see
tests/kube_real.py); checks on the test server's request log run only there, and
tests that need its other controls (outages, stalls, compaction, hand-written
Deployment status) skip on a real cluster, saying why.
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
    kubelet: Any = None  # the kubelet stand-in on a real cluster without Nodes (tests/kube_real.py)

    async def make_cluster(self, kubeconfig: Path | None = None, **kw: Any) -> Any:
        """Another KubeCluster on this namespace (on `kubeconfig`, else the admin one)."""
        kw.setdefault("namespaces", [self.namespace])
        return await make_cluster(kubeconfig or self.kubeconfig, **kw)

    def needs_server(self, why: str = "") -> Any:
        """The test server; on a real cluster the test skips, saying why it cannot run there."""
        if self.server is None:
            reason = why or "needs the test API server's own controls"
            pytest.skip(f"{reason}; SHIFTROOM_TEST_KUBECONFIG points at a real cluster")
        return self.server

    def needs_ready_pods(self) -> None:
        """Skip on a real cluster whose pods cannot become ready: one with Nodes (the tests' made-up
        images never pull there), so no kubelet stand-in runs."""
        if self.server is None and self.kubelet is None:
            pytest.skip("needs Ready pods of made-up images: only a cluster without Nodes gets the kubelet stand-in")

    def clear_requests(self) -> None:
        if self.server is not None:
            self.server.clear_requests()

    def requests(self) -> list[Any] | None:
        """The test server's request log; None on a real cluster (checks on it are the test server's)."""
        return None if self.server is None else list(self.server.requests)

    async def apply(self, obj: dict[str, Any], validate: bool = True) -> dict[str, Any]:
        """Create or replace `obj`, and write its status. `validate=False` stores what a real API server
        refuses (only the test server can)."""
        obj = {**obj, "metadata": {**obj["metadata"], "namespace": self.namespace}}
        if not validate:
            self.needs_server("stores an object a real API server refuses (422)")
        if self.server is not None:
            return await asyncio.to_thread(self.server.apply, obj, validate)
        from tests import kube_real

        return await kube_real.apply(self.cluster.api, obj)

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

    async def objects(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        if self.server is not None:
            return list(await asyncio.to_thread(self.server.list, api_version, kind, self.namespace))
        from backends.kubernetes.errors import What
        from backends.kubernetes.resources import resource_for

        res = resource_for(api_version, kind)
        body = await self.cluster.api.call("GET", res.path(self.namespace), What("list", res, self.namespace))
        return [dict(i) for i in body.get("items") or []]

    async def install_crds(self, *names: str) -> list[str]:
        if self.server is not None:
            return list(await asyncio.to_thread(self.server.install_crds, *names))
        from tests import kube_real

        return await kube_real.install_crds(self.cluster.api, names)

    async def settle(self, ready: bool = True, timeout: float = 60.0) -> None:
        """The Deployment controller at a fixed point: on the test server one `settle()`; on a real
        cluster, wait until its controller reports every Deployment of the namespace rolled out (and,
        with `ready`, available, when the kubelet stand-in makes pods ready)."""
        if self.server is not None:
            await asyncio.to_thread(self.server.settle)
            return
        from tests import kube_real

        ready = ready and self.kubelet is not None
        await kube_real.wait_for(
            lambda: kube_real.settled(self.cluster.api, self.namespace, ready), "settled Deployments", timeout
        )

    async def identity(self, name: str, cluster_role: str, path: Path) -> tuple[Path, str]:
        """A kubeconfig for another identity holding `cluster_role` in this namespace, and the username the
        API server sees for it (a user on the test server, a ServiceAccount on a real cluster)."""
        if self.server is not None:
            self.server.grant(name, cluster_role, namespace=self.namespace)
            return self.server.write_kubeconfig(path, contexts={name: (name, self.namespace)}), name
        from tests import kube_real

        user = await kube_real.identity(self.cluster.api, self.kubeconfig, self.namespace, name, cluster_role, path)
        return path, user


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
    tests can write status by hand; "auto": it reacts to every change, as a real one does. On a real
    cluster every test gets a namespace of its own (`namespace` is the test server's), deleted
    afterwards, and the cluster's own controllers run."""
    if REAL:
        async for env in _real_env():
            yield env
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


async def _real_env() -> AsyncIterator[Env]:
    from tests import kube_real

    ns = f"shiftroom-test-{secrets.token_hex(3)}"
    cluster = await make_cluster(REAL, namespaces=[ns])
    await kube_real.apply(cluster.api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await kube_real.wait_for(lambda: kube_real.has_default_sa(cluster.api, ns), f"ServiceAccount {ns}/default", 30)
    kubelet = None if await kube_real.has_nodes(cluster.api) else kube_real.Kubelet(cluster.api, ns)
    if kubelet is not None:
        kubelet.start()
    env = Env(Path(REAL), ns, None, cluster, kubelet)
    try:
        yield env
    finally:
        try:
            if kubelet is not None:
                await kubelet.stop()
        finally:
            await kube_real.delete(cluster.api, kube_real.NAMESPACES, None, ns)
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
