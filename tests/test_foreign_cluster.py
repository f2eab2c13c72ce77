"""Driving Flagger Canaries and Argo Rollouts on the test API server (upstream CRDs), through the room's
collaborator: the controllers' status is scripted as they write it, the patches are compared byte for
byte in the server's request log, and what lands in the object is only the fields their tools write.

`HttpWrites` is the smallest client the collaborator needs (`app.control.foreign_writes.ObjectWrites`):
it PATCHes the bytes it is given with the patch type's content type, as the kube backend must.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest
import yaml

from app.control.commands import RolloutCommand, Verb
from app.control.foreign import ForeignRollouts
from app.control.foreign_writes import EventWrites, ObjectWrites
from app.model import Phase
from backends.base import BackendError, Conflict, ForeignObject, NotFound

DATA = Path(__file__).parent / "foreign_data"
CONTENT = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
PLURAL = {"Canary": "canaries", "Rollout": "rollouts", "Event": "events"}
NOW = 1_796_018_000.0


class HttpWrites:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.headers = url, {"Authorization": f"Bearer {token}"}

    async def _send(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, str]:
        async with aiohttp.ClientSession(headers=self.headers) as s:
            async with s.request(method, self.url + path, data=body, headers={"Content-Type": content_type}) as r:
                return r.status, await r.text()

    async def patch_object(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: Literal["merge", "json", "strategic"],
        resource_version: str | None = None,
        subresource: str = "",
    ) -> ForeignObject:
        sub = f"/{subresource}" if subresource else ""
        path = f"/apis/{api_version}/namespaces/{namespace}/{PLURAL[kind]}/{name}{sub}"
        status, text = await self._send("PATCH", path, patch, CONTENT[patch_type])
        if status == 404:
            raise NotFound("kubernetes", f"{kind} {namespace}/{name}{sub} was not found.")
        if status == 409:
            raise Conflict("kubernetes", f"{kind} {namespace}/{name} changed meanwhile.")
        if status >= 300:
            raise BackendError("kubernetes", f"PATCH {kind} {namespace}/{name} answered {status}.")
        body = json.loads(text)
        return ForeignObject(
            api_version=api_version,
            kind=kind,
            name=name,
            namespace=namespace,
            body=body,
            resource_version=body["metadata"]["resourceVersion"],
        )

    async def proxy(
        self,
        namespace: str,
        kind: Literal["pods", "services"],
        name: str,
        port: int | str,
        path: str,
        method: str = "GET",
        body: Any = None,
    ) -> tuple[int, str]:
        path = f"/api/v1/namespaces/{namespace}/{kind}/{name}:{port}/proxy/{path.lstrip('/')}"
        return await self._send(method, path, body if body is not None else b"", "application/json")

    async def record_object_event(
        self, api_version: str, kind: str, namespace: str, name: str, action: str, note: str, warning: bool = False
    ) -> None:
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{time.time_ns():x}", "namespace": namespace},
            "eventTime": "2026-11-30T05:53:20.000000Z",
            "reportingController": "shiftroom.io/room",
            "reportingInstance": "test",
            "action": action,
            "reason": action,
            "note": note,
            "type": "Normal",
            "regarding": {"apiVersion": api_version, "kind": kind, "name": name, "namespace": namespace},
        }
        status, text = await self._send(
            "POST",
            f"/apis/events.k8s.io/v1/namespaces/{namespace}/events",
            json.dumps(event).encode(),
            "application/json",
        )
        assert status == 201, text


@pytest.fixture
def cluster(kube_api: Any) -> tuple[Any, HttpWrites]:
    kube_api.install_crds("flagger", "argo")
    kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "microservices"}})
    return kube_api, HttpWrites(kube_api.url, kube_api.token_for("admin"))


def foreign(kube_api: Any, api_version: str, kind: str, namespace: str) -> list[ForeignObject]:
    return [
        ForeignObject(
            api_version=api_version,
            kind=kind,
            name=o["metadata"]["name"],
            namespace=namespace,
            body=o,
            resource_version=o["metadata"]["resourceVersion"],
        )
        for o in kube_api.list(api_version, kind, namespace)
    ]


def patches(kube_api: Any) -> list[tuple[str, str, bytes]]:
    return [(r.path, r.content_type, r.body) for r in kube_api.requests if r.method == "PATCH"]


def test_the_writer_satisfies_the_protocols(cluster: tuple[Any, HttpWrites]) -> None:
    assert isinstance(cluster[1], ObjectWrites) and isinstance(cluster[1], EventWrites)


def seed_canary() -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((DATA / "canary.yaml").read_text())
    return body


def test_seed_canary_watched_through_flaggers_progression(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, _ = cluster
    kube_api.apply(seed_canary())
    room = ForeignRollouts(now=lambda: NOW)
    script = [
        ("Initializing", 0, 0),
        ("Initialized", 0, 0),
        ("Progressing", 10, 0),
        ("Progressing", 20, 1),
        ("Progressing", 30, 2),
        ("Progressing", 40, 2),
        ("Progressing", 50, 3),
        ("Promoting", 50, 3),
        ("Finalising", 0, 3),
        ("Succeeded", 0, 0),
    ]
    shown = []
    for phase, weight, failed in script:
        body = kube_api.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
        body["status"] = {
            "phase": phase,
            "canaryWeight": weight,
            "failedChecks": failed,
            "iterations": 0,
            "lastTransitionTime": "2026-11-30T05:53:00Z",
        }
        kube_api.apply(body)
        (row,) = room.rollouts(foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices"))
        shown.append((row.phase.value, row.actual.canary, row.failed_checks, row.threshold, row.driven_by))
    assert shown == [(p, w, f, 5, "flagger") for p, w, f in script]
    idx = room.index(foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices"))
    view = idx.canaries["microservices/microservices-canary"]
    assert [c.check.name for c in view.checks] == ["request-success-rate", "request-duration", "error-rate"]


def test_seed_canary_failure_path_counts_down(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, _ = cluster
    body = seed_canary()
    body["status"] = {
        "phase": "Progressing",
        "canaryWeight": 30,
        "failedChecks": 4,
        "lastTransitionTime": "2026-11-30T05:53:00Z",
    }
    kube_api.apply(body)
    room = ForeignRollouts(now=lambda: NOW)  # 20 s after the last tick
    (row,) = room.rollouts(foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices"))
    assert (row.next_tick, row.earliest_rollback) == (NOW + 10, NOW + 40)
    body = kube_api.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
    body["status"] = {"phase": "Failed", "canaryWeight": 0, "failedChecks": 5}
    kube_api.apply(body)
    (row,) = room.rollouts(foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices"))
    assert (row.phase, row.earliest_rollback) == (Phase.FAILED, None)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_flagger_suspend_resume_and_skip_analysis(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, writes = cluster
    kube_api.apply(seed_canary())
    room = ForeignRollouts(now=lambda: NOW)
    key = "microservices/microservices-canary"
    objects = foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices")
    before = kube_api.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
    kube_api.clear_requests()
    result = run(room.execute(RolloutCommand(Verb.PAUSE, key), writes, "alice", objects))
    assert result.ok, result.message
    path = "/apis/flagger.app/v1beta1/namespaces/microservices/canaries/microservices-canary"
    assert patches(kube_api) == [(path, "application/merge-patch+json", b'{"spec":{"suspend":true}}')]
    after = kube_api.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
    assert after["spec"] == {**before["spec"], "suspend": True}  # nothing else is written
    audit = result.details["audit"]
    assert (audit.actor, audit.action, audit.after) == ("alice", "flagger pause", {"spec.suspend": "true"})
    events = kube_api.list("events.k8s.io/v1", "Event", "microservices")
    assert [(e["regarding"]["kind"], e["note"]) for e in events] == [
        ("Canary", "alice ran suspend (kubectl patch canary --type=merge) from Shiftroom")
    ]

    objects = foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices")
    again = run(room.preview(RolloutCommand(Verb.PAUSE, key), objects))
    assert not again.possible and again.lines == (f"Canary {key} is already suspended.",)
    kube_api.clear_requests()
    assert run(room.execute(RolloutCommand(Verb.RESUME, key), writes, "alice", objects)).ok
    preview = run(room.preview(RolloutCommand(Verb.SKIP_ANALYSIS, key), objects, production=True))
    assert preview.destructive and preview.confirm_name == key
    assert "Flagger then promotes the canary without running any check." in preview.lines
    assert preview.lines[0] == (
        'kubectl patch canary microservices-canary -n microservices --type=merge -p \'{"spec":{"skipAnalysis":true}}\''
    )
    assert run(room.execute(RolloutCommand(Verb.SKIP_ANALYSIS, key), writes, "alice", objects)).ok
    assert [b for _, _, b in patches(kube_api)] == [b'{"spec":{"suspend":false}}', b'{"spec":{"skipAnalysis":true}}']


def test_flagger_without_gates_says_what_the_room_cannot_do(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, writes = cluster
    kube_api.apply(seed_canary())
    objects = foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices")
    room = ForeignRollouts(now=lambda: NOW)
    result = run(room.execute(RolloutCommand(Verb.PROMOTE, "microservices/microservices-canary"), writes, "a", objects))
    assert not result.ok and "you cannot approve a step or the promotion" in result.message
    assert patches(kube_api) == []


def argo_objects(kube_api: Any) -> list[ForeignObject]:
    rollouts = foreign(kube_api, "argoproj.io/v1alpha1", "Rollout", "shop")
    bodies = yaml.safe_load((DATA / "replicasets.yaml").read_text())
    for o in bodies:  # owned by the Rollout the API server created: its uid, as the controller writes it
        o["metadata"]["ownerReferences"][0]["uid"] = rollouts[0].body["metadata"]["uid"]
    sets = [
        ForeignObject(api_version="apps/v1", kind="ReplicaSet", name=o["metadata"]["name"], namespace="shop", body=o)
        for o in bodies
    ]
    return rollouts + sets


def set_status(kube_api: Any, **status: Any) -> None:
    body = kube_api.get("argoproj.io/v1alpha1", "Rollout", "checkout", "shop")
    body["status"] = {"stableRS": "6d4f8c7b9", "currentPodHash": "85b9f6d5c", **status}
    kube_api.apply(body)


def test_argo_steps_pause_promote_abort_retry_with_the_clis_bytes(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, writes = cluster
    kube_api.apply(yaml.safe_load((DATA / "rollout.yaml").read_text()))
    room = ForeignRollouts(now=lambda: NOW)
    key = "shop/checkout"
    base = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout"
    merge = "application/merge-patch+json"

    set_status(
        kube_api,
        currentStepIndex=1,
        phase="Paused",
        message="CanaryPauseStep",
        controllerPause=True,
        pauseConditions=[{"reason": "CanaryPauseStep", "startTime": "2026-11-30T05:50:00Z"}],
        availableReplicas=4,
    )
    (row,) = room.rollouts(argo_objects(kube_api))
    assert (row.driven_by, row.phase, row.step, row.steps, row.desired.canary) == ("argo", Phase.PAUSED, 1, 8, 25)
    kube_api.clear_requests()
    result = run(room.execute(RolloutCommand(Verb.PROMOTE, key), writes, "bob", argo_objects(kube_api)))
    assert result.ok, result.message
    assert patches(kube_api) == [(base + "/status", merge, b'{"status":{"pauseConditions":null}}')]
    stored = kube_api.get("argoproj.io/v1alpha1", "Rollout", "checkout", "shop")
    assert "pauseConditions" not in stored["status"] and stored["status"]["currentStepIndex"] == 1

    # The controller moves on to the analysis step; a promote there skips to the next step.
    set_status(
        kube_api,
        currentStepIndex=4,
        phase="Progressing",
        availableReplicas=4,
        canary={"currentStepAnalysisRunStatus": {"name": "checkout-85b9f6d5c-2-4", "status": "Running"}},
    )
    kube_api.clear_requests()
    assert run(room.execute(RolloutCommand(Verb.STEP, key), writes, "bob", argo_objects(kube_api))).ok
    assert patches(kube_api) == [
        (base + "/status", merge, b'{"status":{"pauseConditions":null, "currentStepIndex":5}}')
    ]

    kube_api.clear_requests()
    for verb in (Verb.PAUSE, Verb.ABORT):
        assert run(room.execute(RolloutCommand(verb, key), writes, "bob", argo_objects(kube_api))).ok
    assert patches(kube_api) == [
        (base, merge, b'{"spec":{"paused":true}}'),
        (base + "/status", merge, b'{"status":{"abort":true}}'),
    ]
    set_status(
        kube_api,
        currentStepIndex=4,
        abort=True,
        phase="Degraded",
        message="RolloutAborted: Rollout aborted update to revision 2",
    )
    (row,) = room.rollouts(argo_objects(kube_api))
    assert (row.phase, row.message) == (Phase.DEGRADED, "RolloutAborted: Rollout aborted update to revision 2")
    kube_api.clear_requests()
    assert run(room.execute(RolloutCommand(Verb.RETRY, key), writes, "bob", argo_objects(kube_api))).ok
    assert run(room.execute(RolloutCommand(Verb.RESUME, key), writes, "bob", argo_objects(kube_api))).ok
    assert run(room.execute(RolloutCommand(Verb.RESTART, key), writes, "bob", argo_objects(kube_api))).ok
    assert patches(kube_api) == [
        (base + "/status", merge, b'{"status":{"abort":false}}'),
        (base, merge, b'{"spec":{"paused":false}}'),
        (base, merge, b'{\n\t"spec": {\n\t\t"restartAt": "2026-11-30T05:53:20Z"\n\t}\n}'),
    ]
    stored = kube_api.get("argoproj.io/v1alpha1", "Rollout", "checkout", "shop")
    assert stored["spec"]["restartAt"] == "2026-11-30T05:53:20Z" and stored["status"]["abort"] is False


def test_argo_promote_full_and_undo(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, writes = cluster
    kube_api.apply(yaml.safe_load((DATA / "rollout.yaml").read_text()))
    set_status(kube_api, currentStepIndex=2, phase="Progressing")
    room = ForeignRollouts(now=lambda: NOW)
    key = "shop/checkout"
    preview = run(room.preview(RolloutCommand(Verb.PROMOTE_FULL, key), argo_objects(kube_api)))
    assert preview.destructive and preview.lines[0] == "kubectl argo rollouts promote --full checkout -n shop"
    kube_api.clear_requests()
    assert run(
        room.execute(RolloutCommand(Verb.PROMOTE_FULL, key), writes, "bob", argo_objects(kube_api), confirmed=preview)
    ).ok
    assert [b for _, _, b in patches(kube_api)] == [b'{"status":{"promoteFull":true}}']

    undo = RolloutCommand(Verb.UNDO, key, revision=1)
    preview = run(room.preview(undo, argo_objects(kube_api)))
    assert [(c.what, c.before, c.after) for c in preview.changes] == [
        ("spec.template", "registry.example.com/checkout:2.0.0", "registry.example.com/checkout:1.9.3")
    ]
    kube_api.clear_requests()
    assert run(room.execute(undo, writes, "bob", argo_objects(kube_api), confirmed=preview)).ok
    ((path, content_type, body),) = patches(kube_api)
    assert (path, content_type) == (
        "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout",
        "application/json-patch+json",
    )
    assert body == (
        b'[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,'
        b'"labels":{"app":"checkout"}},"spec":{"containers":[{"name":"checkout",'
        b'"image":"registry.example.com/checkout:1.9.3","resources":{}}],"restartPolicy":"Always"}}}]'
    )
    stored = kube_api.get("argoproj.io/v1alpha1", "Rollout", "checkout", "shop")
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/checkout:1.9.3"


def test_a_confirmation_of_an_older_version_is_refused_as_stale(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, writes = cluster
    kube_api.apply(yaml.safe_load((DATA / "rollout.yaml").read_text()))
    set_status(kube_api, currentStepIndex=2, phase="Progressing")
    room = ForeignRollouts(now=lambda: NOW)
    preview = run(room.preview(RolloutCommand(Verb.ABORT, "shop/checkout"), argo_objects(kube_api)))
    set_status(kube_api, currentStepIndex=3, phase="Progressing")  # the controller moved on meanwhile
    kube_api.clear_requests()
    result = run(
        room.execute(
            RolloutCommand(Verb.ABORT, "shop/checkout"), writes, "bob", argo_objects(kube_api), confirmed=preview
        )
    )
    assert result.stale and not result.ok and result.preview is not None
    assert result.preview.version != preview.version and patches(kube_api) == []


def test_without_a_status_subresource_the_unified_patch_goes_to_the_object(cluster: tuple[Any, HttpWrites]) -> None:
    """Rollouts v0.9 had no status subresource: the CLI's status patch answers 404, then it sends the unified one."""
    kube_api, writes = cluster
    crd = kube_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "rollouts.argoproj.io", "")
    for version in crd["spec"]["versions"]:
        version.pop("subresources", None)
    kube_api.apply(crd)
    kube_api.apply(yaml.safe_load((DATA / "rollout.yaml").read_text()))
    set_status(
        kube_api,
        currentStepIndex=1,
        pauseConditions=[{"reason": "CanaryPauseStep", "startTime": "2026-11-30T05:50:00Z"}],
    )
    room = ForeignRollouts(now=lambda: NOW)
    kube_api.clear_requests()
    assert run(room.execute(RolloutCommand(Verb.PROMOTE, "shop/checkout"), writes, "bob", argo_objects(kube_api))).ok
    base = "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/checkout"
    assert [(r.path, r.status, r.body) for r in kube_api.requests if r.method == "PATCH"] == [
        (base + "/status", 404, b'{"status":{"pauseConditions":null}}'),
        (base, 200, b'{"spec":{"paused":false},"status":{"pauseConditions":null}}'),
    ]


def test_flagger_gates_through_the_api_servers_service_proxy(cluster: tuple[Any, HttpWrites]) -> None:
    kube_api, writes = cluster
    tester = kube_api.install_flagger_loadtester("test")
    canary = seed_canary()
    canary["spec"]["analysis"]["webhooks"] += [
        {"name": "approve", "type": "confirm-promotion", "url": "http://flagger-loadtester.test/gate/check"},
        {"name": "undo", "type": "rollback", "url": "http://flagger-loadtester.test/rollback/check"},
    ]
    canary["status"] = {"phase": "WaitingPromotion", "canaryWeight": 50, "failedChecks": 1}
    kube_api.apply(canary)
    room = ForeignRollouts(now=lambda: NOW)
    key = "microservices/microservices-canary"
    objects = foreign(kube_api, "flagger.app/v1beta1", "Canary", "microservices")
    assert run(room.gate_states(writes, objects)) == {key: {"promotion": "closed", "rollback": "closed"}}
    kube_api.clear_requests()
    result = run(room.execute(RolloutCommand(Verb.PROMOTE, key), writes, "dana", objects))
    assert result.ok, result.message
    assert tester.is_open("microservices-canary", "microservices") and not tester.is_open(
        "microservices-canary", "microservices", rollback=True
    )
    (post,) = [r for r in kube_api.requests if r.method == "POST" and "/proxy/" in r.path]
    assert (post.path, post.body, post.status) == (
        "/api/v1/namespaces/test/services/flagger-loadtester:80/proxy/gate/open",
        b'{"name": "microservices-canary","namespace":"microservices"}',
        202,
    )
    assert run(room.gate_states(writes, objects))[key] == {"promotion": "open", "rollback": "closed"}
    assert run(room.execute(RolloutCommand(Verb.ABORT, key), writes, "dana", objects)).ok
    assert tester.is_open("microservices-canary", "microservices", rollback=True)
    assert run(room.execute(RolloutCommand(Verb.CLOSE_GATE, key, gate="promotion"), writes, "dana", objects)).ok
    assert not tester.is_open("microservices-canary", "microservices")
    after = kube_api.get("flagger.app/v1beta1", "Canary", "microservices-canary", "microservices")
    assert after["spec"] == canary["spec"] and patches(kube_api) == []  # the Canary itself is never written
