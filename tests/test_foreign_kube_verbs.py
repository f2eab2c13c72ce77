"""Every Argo Rollouts and Flagger verb end to end: engine command → real `KubeCluster` (kubernetes-asyncio over
HTTP) → the test API server with the upstream CRDs → the request on the wire (path, status subresource, content
type, exact bytes, as `kubectl argo rollouts` / `kubectl patch` send them) → the object's resulting spec/status.

The Rollout controller is played by the test: it writes `status` the way Argo's controller does, and keeps the
ReplicaSets (owned by the Rollout's uid, `rollouts-pod-template-hash` label); the room sees both only through its
watch. The expected bodies are the upstream CLIs' constants (pkg/kubectl-argo-rollouts/cmd/*), written out here.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.clock import VirtualClock
from app.control.commands import RolloutCommand, Verb
from app.control.engine import Engine
from app.model import Rollout
from tests.kube_helpers import make_cluster
from tests.kubeapi.catalog import load_crds
from tests.test_engine_foreign_kube import NoData

DATA = Path(__file__).parent / "foreign_data"
NS = "shop"
KEY = "shop/checkout"
ROLLOUT = ("argoproj.io/v1alpha1", "Rollout")
BASE = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/checkout"
MERGE, JSON_PATCH = "application/merge-patch+json", "application/json-patch+json"
STABLE, CANARY = "6d4f8c7b9", "85b9f6d5c"
PAUSED_AT_STEP = [{"reason": "CanaryPauseStep", "startTime": "2026-12-02T06:00:00Z"}]


def replica_sets(uid: str) -> list[dict[str, Any]]:
    sets: list[dict[str, Any]] = yaml.safe_load((DATA / "replicasets.yaml").read_text())
    for rs in sets:
        rs["metadata"]["ownerReferences"][0]["uid"] = uid  # as the controller writes it: the Rollout's uid
        rs["spec"]["selector"] = {"matchLabels": dict(rs["metadata"]["labels"])}
    return sets


def deployment_rs() -> dict[str, Any]:
    """A Deployment's ReplicaSet in the same namespace: the room must not be handed it."""
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-7f9c",
            "namespace": NS,
            "labels": {"app": "web", "pod-template-hash": "7f9c"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1"}],
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7f9c"}},
            "template": {
                "metadata": {"labels": {"app": "web", "pod-template-hash": "7f9c"}},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }


class Room:
    """The test API server, the engine on a real KubeCluster, and the controller's hand."""

    def __init__(self, server: Any, engine: Engine) -> None:
        self.server, self.engine = server, engine

    def rollout(self) -> dict[str, Any]:
        body: dict[str, Any] = self.server.get(*ROLLOUT, "checkout", NS)
        return body

    def write_status(self, paused: bool | None = None, **status: Any) -> None:
        """The Rollout controller's next status (and, for the test's setup, spec.paused)."""
        body = self.rollout()
        if paused is not None:
            body["spec"]["paused"] = paused
        body["status"] = {"stableRS": STABLE, "currentPodHash": CANARY, **status}
        self.server.apply(body)

    async def seen(self, found: Callable[[Rollout], bool] = lambda r: True, seconds: float = 15.0) -> Rollout:
        """Engine passes until the watch brought the server's current Rollout and `found` holds for its row."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self.engine.run_pass()
            rv = self.rollout()["metadata"]["resourceVersion"]
            cached = [o for o in self.engine.cache.foreign_objects() if o.kind == "Rollout"]
            row = self.engine.state.rollout(KEY)
            if row is not None and cached and cached[0].resource_version == rv and found(row):
                return row
            await asyncio.sleep(0.05)
        raise AssertionError(f"not seen within {seconds} s: {self.engine.state.rollout(KEY)}")

    async def run(self, command: RolloutCommand) -> list[tuple[str, str, bytes]]:
        """Preview, confirm, execute as the room's keys do; the PATCH requests the server received."""
        self.server.clear_requests()
        preview = await self.engine.preview(command)
        assert preview.possible, preview.lines
        result = await self.engine.execute(command, confirmed=preview)
        assert result.ok, result.message
        return [(r.path, r.content_type, r.body) for r in self.server.requests if r.method == "PATCH"]


@pytest.fixture
async def room(kube_api_factory: Any) -> Any:
    server = kube_api_factory(controller="manual")
    server.install_crds("argo", "flagger")
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    created = server.apply(yaml.safe_load((DATA / "rollout.yaml").read_text()))
    for rs in [*replica_sets(created["metadata"]["uid"]), deployment_rs()]:
        server.apply(rs)
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
    r = Room(server, engine)
    r.write_status(currentStepIndex=1, phase="Paused", controllerPause=True, pauseConditions=PAUSED_AT_STEP)
    try:
        yield r
    finally:
        await engine.stop()
        await cluster.close()


async def test_the_replica_sets_a_rollout_owns_arrive_through_the_watch_and_no_others(room: Room) -> None:
    row = await room.seen(lambda r: len(r.replica_sets) == 2)
    assert [(rs.name, rs.revision, rs.tags, rs.images) for rs in row.replica_sets] == [
        ("checkout-85b9f6d5c", 2, ("canary",), ("registry.example.com/checkout:2.0.0",)),
        ("checkout-6d4f8c7b9", 1, ("stable",), ("registry.example.com/checkout:1.9.3",)),
    ]
    assert (row.stable_image, row.canary_image) == (
        "registry.example.com/checkout:1.9.3",
        "registry.example.com/checkout:2.0.0",
    )
    delivered = sorted(o.name for o in room.engine.cache.foreign_objects() if o.kind == "ReplicaSet")
    assert delivered == ["checkout-6d4f8c7b9", "checkout-85b9f6d5c"]  # not the Deployment's web-7f9c
    watched = {r.query.get("labelSelector") for r in room.server.requests if "/replicasets" in r.path}
    assert watched == {"rollouts-pod-template-hash"}  # only Argo's ReplicaSets are listed and watched

    canary = room.server.get("apps/v1", "ReplicaSet", "checkout-85b9f6d5c", NS)
    canary["status"] = {"replicas": 1, "availableReplicas": 1, "readyReplicas": 1}
    canary["spec"]["replicas"] = 1
    room.server.apply(canary)  # the controller scales the canary: the watch brings it
    row = await room.seen(lambda r: r.replica_sets[0].ready == 1)
    assert (row.replica_sets[0].ready, row.replica_sets[0].desired) == (1, 1)


async def test_promote_at_a_pause_step_patches_status_first_and_the_pause_is_lifted(room: Room) -> None:
    await room.seen(lambda r: r.paused)
    assert await room.run(RolloutCommand(Verb.PROMOTE, KEY)) == [
        (f"{BASE}/status", MERGE, b'{"status":{"pauseConditions":null}}')
    ]
    assert "pauseConditions" not in room.rollout()["status"]


async def test_promote_of_a_manually_paused_rollout_between_steps_moves_on_and_unpauses(room: Room) -> None:
    room.write_status(paused=True, currentStepIndex=2, phase="Paused")
    await room.seen(lambda r: r.paused)
    assert await room.run(RolloutCommand(Verb.PROMOTE, KEY)) == [
        (f"{BASE}/status", MERGE, b'{"status":{"pauseConditions":null, "currentStepIndex":3}}'),
        (BASE, MERGE, b'{"spec":{"paused":false}}'),
    ]
    stored = room.rollout()
    assert stored["status"]["currentStepIndex"] == 3 and stored["spec"]["paused"] is False


async def test_promote_full_abort_retry_patch_the_status_subresource(room: Room) -> None:
    await room.seen()
    assert await room.run(RolloutCommand(Verb.PROMOTE_FULL, KEY)) == [
        (f"{BASE}/status", MERGE, b'{"status":{"promoteFull":true}}')
    ]
    assert room.rollout()["status"]["promoteFull"] is True

    room.write_status(currentStepIndex=1, phase="Progressing")
    await room.seen(lambda r: not r.paused)
    assert await room.run(RolloutCommand(Verb.ABORT, KEY)) == [(f"{BASE}/status", MERGE, b'{"status":{"abort":true}}')]
    assert room.rollout()["status"]["abort"] is True

    room.write_status(abort=True, phase="Degraded", message="RolloutAborted: Rollout aborted update to revision 2")
    await room.seen(lambda r: r.message.startswith("RolloutAborted"))
    assert await room.run(RolloutCommand(Verb.RETRY, KEY)) == [(f"{BASE}/status", MERGE, b'{"status":{"abort":false}}')]
    assert room.rollout()["status"]["abort"] is False


async def test_pause_resume_restart_patch_the_spec(room: Room) -> None:
    room.write_status(currentStepIndex=2, phase="Progressing")
    await room.seen(lambda r: not r.paused)
    assert await room.run(RolloutCommand(Verb.PAUSE, KEY)) == [(BASE, MERGE, b'{"spec":{"paused":true}}')]
    assert room.rollout()["spec"]["paused"] is True

    await room.seen(lambda r: r.paused)
    assert await room.run(RolloutCommand(Verb.RESUME, KEY)) == [(BASE, MERGE, b'{"spec":{"paused":false}}')]
    assert room.rollout()["spec"]["paused"] is False

    await room.seen(lambda r: not r.paused)
    stamp = datetime.fromtimestamp(int(room.engine.clock.now()), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await room.run(RolloutCommand(Verb.RESTART, KEY)) == [
        (BASE, MERGE, b'{\n\t"spec": {\n\t\t"restartAt": "' + stamp.encode() + b'"\n\t}\n}')
    ]
    assert room.rollout()["spec"]["restartAt"] == stamp


async def test_undo_sends_the_revisions_template_as_the_cli_does(room: Room) -> None:
    await room.seen(lambda r: len(r.replica_sets) == 2)
    assert await room.run(RolloutCommand(Verb.UNDO, KEY)) == [
        (
            BASE,
            JSON_PATCH,
            # The API server defaulted the ReplicaSet's template (and stores the defaults after the fields it
            # was given); the CLI writes them in the Go field order of Container and PodSpec.
            b'[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,'
            b'"labels":{"app":"checkout"}},"spec":{"containers":[{"name":"checkout",'
            b'"image":"registry.example.com/checkout:1.9.3","resources":{},'
            b'"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",'
            b'"imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,'
            b'"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}}]',
        )
    ]
    template = room.rollout()["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "registry.example.com/checkout:1.9.3"
    assert template["metadata"]["labels"] == {"app": "checkout"}

    # The controller makes revision 3 of the old template; undo to revision 2 brings 2.0.0 back.
    third = copy.deepcopy(room.server.get("apps/v1", "ReplicaSet", "checkout-6d4f8c7b9", NS))
    third["metadata"]["annotations"]["rollout.argoproj.io/revision"] = "3"
    room.server.apply(third)
    await room.seen(lambda r: [rs.revision for rs in r.replica_sets] == [3, 2])
    preview = await room.engine.preview(RolloutCommand(Verb.UNDO, KEY, revision=3))
    assert preview.lines == ("Rollout shop/checkout: skipped rollback (current template already matches revision 3).",)
    patches = await room.run(RolloutCommand(Verb.UNDO, KEY))  # the previous revision: 2
    assert [(p, c) for p, c, _ in patches] == [(BASE, JSON_PATCH)]
    assert b'"image":"registry.example.com/checkout:2.0.0","resources":{}' in patches[0][2]
    assert room.rollout()["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/checkout:2.0.0"


async def test_without_a_status_subresource_the_unified_patch_goes_to_the_object(room: Room) -> None:
    """Rollouts v0.9 had no status subresource: the CLI's status patch answers 404 and it sends the unified one."""
    (shared,) = [c for c in load_crds(["argo"]) if c["metadata"]["name"] == "rollouts.argoproj.io"]
    crd = copy.deepcopy(shared)  # the catalog caches what it read: other tests must keep the status subresource
    for version in crd["spec"]["versions"]:
        version.pop("subresources", None)
    room.server.apply(crd)
    room.write_status(currentStepIndex=1, phase="Paused", controllerPause=True, pauseConditions=PAUSED_AT_STEP)
    await room.seen(lambda r: r.paused)
    assert await room.run(RolloutCommand(Verb.PROMOTE, KEY)) == [
        (f"{BASE}/status", MERGE, b'{"status":{"pauseConditions":null}}'),  # answered 404
        (BASE, MERGE, b'{"spec":{"paused":false},"status":{"pauseConditions":null}}'),
    ]
    statuses = [r.status for r in room.server.requests if r.method == "PATCH"]
    assert statuses == [404, 200]
    assert "pauseConditions" not in room.rollout()["status"]


# ---------------------------------------------------------------- Flagger


CANARY_KEY = "microservices/microservices-canary"
CANARY_PATH = "/apis/flagger.app/v1beta1/namespaces/microservices/canaries/microservices-canary"


async def test_flagger_pause_resume_and_skip_analysis_are_kubectl_patch_merge(room: Room) -> None:
    server = room.server
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "microservices"}})
    canary = yaml.safe_load((DATA / "canary.yaml").read_text())
    canary["status"] = {"phase": "Progressing", "canaryWeight": 20, "failedChecks": 0, "iterations": 0}
    server.apply(canary)
    cluster = await make_cluster(server.kubeconfig, namespaces=["microservices"])
    engine = Engine(clock=VirtualClock(), cluster=cluster, metrics=NoData(), targets=[], namespaces=("microservices",))
    flagger = Room(server, engine)

    async def seen(found: Callable[[dict[str, Any]], bool]) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await engine.run_pass()
            rv = server.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
            cached = [o for o in engine.cache.foreign_objects() if o.kind == "Canary"]
            if cached and cached[0].resource_version == rv["metadata"]["resourceVersion"] and found(cached[0].body):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the Canary's change was not seen")

    def spec() -> dict[str, Any]:
        body = server.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
        found: dict[str, Any] = body["spec"]
        return found

    try:
        await seen(lambda b: True)
        assert await flagger.run(RolloutCommand(Verb.PAUSE, CANARY_KEY)) == [
            (CANARY_PATH, MERGE, b'{"spec":{"suspend":true}}')
        ]
        assert spec()["suspend"] is True
        await seen(lambda b: b["spec"].get("suspend") is True)
        assert await flagger.run(RolloutCommand(Verb.RESUME, CANARY_KEY)) == [
            (CANARY_PATH, MERGE, b'{"spec":{"suspend":false}}')
        ]
        assert spec()["suspend"] is False
        await seen(lambda b: b["spec"].get("suspend") is False)
        assert await flagger.run(RolloutCommand(Verb.SKIP_ANALYSIS, CANARY_KEY)) == [
            (CANARY_PATH, MERGE, b'{"spec":{"skipAnalysis":true}}')
        ]
        assert spec()["skipAnalysis"] is True
    finally:
        await engine.stop()
        await cluster.close()
