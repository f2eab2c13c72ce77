"""The real-cluster side of tests/kube_helpers.py (`SHIFTROOM_TEST_KUBECONFIG` set).

What the test API server does with a call, a real cluster is asked to do through its API, with the
kubeconfig's identity (cluster-admin): objects are created or replaced (and their status written
through the status subresource), CRDs are applied from the schema-only copies under
tests/kubeapi/crds when the cluster does not serve them yet, other identities are ServiceAccounts
of the test's namespace with a RoleBinding and a token from the TokenRequest API, and "settled"
means the cluster's own Deployment controller has caught up.

A cluster with no Node cannot run a pod, so pods would stay Pending for ever. There, and only
there, `Kubelet` stands in for the kubelet the way the test server's stand-in controller does: it
marks each unscheduled pod Running and Ready (no pod IP: nothing can be reached in it), so the
cluster's ReplicaSet and Deployment controllers count it ready. Health checks through the pod
proxy stay impossible on such a cluster, and the tests that need them say so.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import yaml

from backends.base import Conflict, NotFound
from backends.kubernetes.client import Api
from backends.kubernetes.errors import What
from backends.kubernetes.resources import DEPLOYMENTS, PODS, Res, resource_for

BUILT_IN_GROUPS = {"", "apps", "apiextensions.k8s.io", "coordination.k8s.io", "events.k8s.io", "networking.k8s.io"}
NAMESPACES = Res("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Res("", "v1", "nodes", "Node", namespaced=False)
CRDS = Res("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False)
CLUSTERROLES = Res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)
ROLEBINDINGS = Res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
SERVICEACCOUNTS = Res("", "v1", "serviceaccounts", "ServiceAccount")


def res_of(obj: dict[str, Any]) -> Res:
    for res in (NAMESPACES, CRDS, CLUSTERROLES, ROLEBINDINGS, SERVICEACCOUNTS):
        if res.kind == obj["kind"] and res.api_version == obj["apiVersion"]:
            return res
    return resource_for(obj["apiVersion"], obj["kind"])


async def apply(api: Api, obj: dict[str, Any]) -> dict[str, Any]:
    """Create or replace `obj`, then write its `status` (if it has one) through the status subresource,
    as the test server's `apply` stores both, except where a controller of the cluster owns the status
    (Deployments, ReplicaSets, Pods, Services): there the status given is the builder's guess, and the
    controller's word counts."""
    res = res_of(obj)
    md = obj["metadata"]
    ns, name = (md.get("namespace") or None) if res.namespaced else None, md["name"]
    body = {k: v for k, v in obj.items() if k != "status"}
    if not res.namespaced:
        body["metadata"] = {k: v for k, v in md.items() if k != "namespace"}
    try:
        current = await api.call("GET", res.path(ns, name), What("get", res, ns, name))
    except NotFound:
        out = dict(await api.call("POST", res.path(ns), What("create", res, ns, name), body=body))
    else:
        body = {**body, "metadata": {**body["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
        out = dict(await api.call("PUT", res.path(ns, name), What("update", res, ns, name), body=body))
    if obj.get("status") and res.group not in BUILT_IN_GROUPS:
        body = {**out, "status": obj["status"]}
        try:
            out = dict(await api.call("PUT", res.path(ns, name, "status"), What("update", res, ns, name), body=body))
        except NotFound:
            pass  # no status subresource: the status went in with the object
    return out


async def delete(api: Api, res: Res, namespace: str | None, name: str) -> None:
    try:
        await api.call("DELETE", res.path(namespace, name), What("delete", res, namespace, name))
    except NotFound:
        return


async def has_default_sa(api: Api, namespace: str) -> bool:
    """Pods are admitted only once the namespace's `default` ServiceAccount exists (a controller makes it)."""
    try:
        await api.call("GET", SERVICEACCOUNTS.path(namespace, "default"), What("get", SERVICEACCOUNTS, namespace))
    except NotFound:
        return False
    return True


async def has_nodes(api: Api) -> bool:
    body = await api.call("GET", NODES.path(), What("list", NODES), query=[("limit", 1)])
    return bool(body.get("items"))


async def install_crds(api: Api, names: tuple[str, ...]) -> list[str]:
    """Apply the schema-only CRDs the test server installs (none the cluster serves already is replaced),
    and wait until each is Established."""
    from tests.kubeapi.catalog import load_crds

    installed = []
    for crd in load_crds(list(names) or None):
        name = crd["metadata"]["name"]
        try:
            await api.call("GET", CRDS.path(None, name), What("get", CRDS, None, name))
        except NotFound:
            await apply(api, crd)
        installed.append(name)
    for name in installed:
        await wait_for(lambda n=name: _established(api, n), f"CRD {name} Established")
    return installed


async def _established(api: Api, name: str) -> bool:
    crd = await api.call("GET", CRDS.path(None, name), What("get", CRDS, None, name))
    conds = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)


async def wait_for(check: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"the cluster did not reach {what} within {timeout:g} s")
        await asyncio.sleep(0.1)


async def settled(api: Api, namespace: str, ready: bool) -> bool:
    """Every Deployment of the namespace rolled out as its controller reports it (`ready`: its pods too)."""
    body = await api.call("GET", DEPLOYMENTS.path(namespace), What("list", DEPLOYMENTS, namespace))
    for d in body.get("items") or []:
        spec, st, md = d.get("spec") or {}, d.get("status") or {}, d["metadata"]
        want = int(spec.get("replicas", 1))
        if int(st.get("observedGeneration") or 0) < int(md.get("generation") or 0):
            return False
        if int(st.get("updatedReplicas") or 0) != want or int(st.get("replicas") or 0) != want:
            return False
        if ready and int(st.get("availableReplicas") or 0) != want:
            return False
    return True


async def identity(api: Api, kubeconfig: Path, namespace: str, name: str, cluster_role: str, path: Path) -> str:
    """A ServiceAccount `name` in `namespace` bound to `cluster_role` there, and a kubeconfig at `path`
    with its token (TokenRequest): returns the username the API server sees."""
    await apply(api, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}})
    await apply(
        api,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{name}-{cluster_role}", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    )
    user = f"system:serviceaccount:{namespace}:{name}"
    await wait_for(lambda: _may_get_deployments(api, user, namespace), f"the RoleBinding of {user} in force", 30)
    req = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    what = What("create", SERVICEACCOUNTS, namespace, name, "token")
    out = await api.call("POST", SERVICEACCOUNTS.path(namespace, name, "token"), what, body=req)
    doc = yaml.safe_load(kubeconfig.read_text())
    ctx = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])
    cluster = next(c for c in doc["clusters"] if c["name"] == ctx["context"]["cluster"])
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": name, "user": {"token": out["status"]["token"]}}],
                "contexts": [
                    {"name": name, "context": {"cluster": cluster["name"], "user": name, "namespace": namespace}}
                ],
                "current-context": name,
            }
        )
    )
    return user


async def _may_get_deployments(api: Api, user: str, namespace: str) -> bool:
    """A new RoleBinding is in force once the authorizer's cache has it (a moment later, not at once)."""
    sar = Res("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False)
    ns = namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"],
            "resourceAttributes": {"verb": "get", "group": "apps", "resource": "deployments", "namespace": ns},
        },
    }
    out = await api.call("POST", sar.path(), What("create", sar), body=body)
    return bool((out.get("status") or {}).get("allowed"))


class Kubelet:
    """On a cluster without Nodes: every unscheduled pod of the namespace is marked Running and Ready."""

    def __init__(self, api: Api, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.task: asyncio.Task[None] | None = None
        self.errors: list[BaseException] = []

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.errors:
            raise AssertionError(f"the kubelet stand-in failed: {self.errors[0]!r}")

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except (NotFound, Conflict):
                pass  # a pod deleted or changed (by its ReplicaSet controller) meanwhile: next round
            except Exception as exc:  # recorded, raised by stop(): never silent
                self.errors.append(exc)
                return
            await asyncio.sleep(0.2)

    async def _step(self) -> None:
        body = await self.api.call("GET", PODS.path(self.namespace), What("list", PODS, self.namespace))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for pod in body.get("items") or []:
            if pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase") == "Running":
                continue
            conds = [
                {"type": t, "status": "True", "lastTransitionTime": now}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ]
            pod["status"] = {"phase": "Running", "startTime": now, "conditions": conds}
            name = pod["metadata"]["name"]
            await self.api.call(
                "PUT", PODS.path(self.namespace, name, "status"), What("update", PODS, self.namespace, name), body=pod
            )
