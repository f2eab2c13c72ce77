"""The ReplicaSets Argo Rollouts keeps, on the test Kubernetes API server with the real `KubeCluster`.

The Argo CRDs are installed, a Rollout and the ReplicaSets its controller would have made are applied
(owned by the Rollout's uid, labelled `rollouts-pod-template-hash`) beside a Deployment's ReplicaSet.
The watch delivers only the Rollout's, as `ForeignObject(kind="ReplicaSet")` on the same feed as the
Rollout; the room's row lists them as `kubectl argo rollouts get rollout` does (stable / canary,
revision, images, ready/desired). Undo through the same `KubeCluster`, byte for byte, is in
test_foreign_kube_verbs.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.clock import VirtualClock
from app.control.engine import Engine
from app.model import Rollout
from backends.base import ForeignObject
from tests.kube_helpers import make_cluster
from tests.test_engine_foreign_kube import NoData

DATA = Path(__file__).parent / "foreign_data"
NS = "shop"
KEY = "shop/checkout"


def rollout_body() -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((DATA / "rollout.yaml").read_text())
    body.pop("status", None)
    body["metadata"].pop("generation", None)
    return body


def argo_status() -> dict[str, Any]:
    return {
        "stableRS": "6d4f8c7b9",
        "currentPodHash": "85b9f6d5c",
        "currentStepIndex": 1,
        "phase": "Paused",
        "message": "CanaryPauseStep",
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-12-02T06:00:00Z"}],
    }


def owned_sets(uid: str) -> list[dict[str, Any]]:
    out = []
    for rs in yaml.safe_load((DATA / "replicasets.yaml").read_text()):
        for ref in rs["metadata"]["ownerReferences"]:
            ref["uid"] = uid
        hash_ = rs["metadata"]["labels"]["rollouts-pod-template-hash"]
        rs["spec"]["selector"] = {"matchLabels": {"app": "checkout", "rollouts-pod-template-hash": hash_}}
        out.append(rs)
    return out


def deployment_set() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-5f7d9",
            "namespace": NS,
            "labels": {"app": "web", "pod-template-hash": "5f7d9"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1"}],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }


@pytest.fixture
async def argo(kube_api_factory: Any) -> Any:
    server = kube_api_factory(controller="manual")
    server.install_crds("argo")
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    applied = server.apply(rollout_body())
    applied["status"] = argo_status()
    server.apply(applied)
    for rs in owned_sets(applied["metadata"]["uid"]):
        server.apply(rs)
    server.apply(deployment_set())
    cluster = await make_cluster(server.kubeconfig, namespaces=[NS])
    engine = Engine(
        clock=VirtualClock(),
        cluster=cluster,
        metrics=NoData(),
        targets=[],
        namespaces=(NS,),
        actor="alice@desk",
        identity="shiftroom@test",
    )
    try:
        yield server, cluster, engine
    finally:
        await engine.stop()
        await cluster.close()


async def until(engine: Engine, found: Callable[[Rollout | None], bool], seconds: float = 15.0) -> Rollout:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await engine.run_pass()
        row = engine.state.rollout(KEY)
        if found(row):
            assert row is not None
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s: {engine.state.rollout(KEY)}")


async def first_sync(cluster: Any) -> list[ForeignObject]:
    """The foreign objects of the watch's first list, up to SYNCED."""
    out: list[ForeignObject] = []
    async with asyncio.timeout(15):
        async for event in cluster.watch(NS):
            if event.type == "SYNCED":
                return out
            if event.kind == "Foreign" and isinstance(event.object, ForeignObject):
                out.append(event.object)
    return out


async def test_the_watch_delivers_the_replica_sets_a_rollout_owns_and_no_other(argo: Any) -> None:
    _, cluster, _ = argo
    delivered = await first_sync(cluster)
    assert sorted((o.kind, o.name) for o in delivered) == [
        ("ReplicaSet", "checkout-6d4f8c7b9"),
        ("ReplicaSet", "checkout-85b9f6d5c"),
        ("Rollout", "checkout"),
    ]
    rs = next(o for o in delivered if o.name == "checkout-85b9f6d5c")
    assert (rs.api_version, rs.namespace) == ("apps/v1", NS)
    assert rs.body["metadata"]["labels"]["rollouts-pod-template-hash"] == "85b9f6d5c"


async def test_the_row_lists_stable_and_canary_replica_sets_as_the_argo_plugin_does(argo: Any) -> None:
    server, _, engine = argo
    row = await until(engine, lambda r: r is not None and len(r.replica_sets) == 2)
    canary, stable = row.replica_sets  # newest revision first
    assert (canary.name, canary.revision, canary.tags, canary.images) == (
        "checkout-85b9f6d5c",
        2,
        ("canary",),
        ("registry.example.com/checkout:2.0.0",),
    )
    assert (stable.name, stable.revision, stable.tags, stable.images) == (
        "checkout-6d4f8c7b9",
        1,
        ("stable",),
        ("registry.example.com/checkout:1.9.3",),
    )
    assert (stable.desired, canary.desired) == (3, 1)

    # The controller's next status: the canary's pod became ready; the row follows the watch.
    rs = server.get("apps/v1", "ReplicaSet", "checkout-85b9f6d5c", NS)
    rs["status"] = {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    rs["status"]["observedGeneration"] = rs["metadata"]["generation"]  # else Progressing, as the plugin says
    server.apply(rs)
    row = await until(engine, lambda r: r is not None and r.replica_sets[0].ready == 1)
    assert (row.replica_sets[0].ready, row.replica_sets[0].desired, row.replica_sets[0].status) == (1, 1, "Healthy")
