"""A stand-in for the Deployment and ReplicaSet controllers (kube-controller-manager), as the Deployment
documentation describes them:

- a Deployment's pod template (its hash: `pod-template-hash`) has one ReplicaSet `<deployment>-<hash>`,
  owned by the Deployment, with the hash in its labels, selector and template labels;
- `deployment.kubernetes.io/revision` on the new ReplicaSet is max(old revisions) + 1; a reused old
  ReplicaSet (rollback) gets the new revision and its previous one in `revision-history`; the Deployment
  carries the same revision annotation;
- the new ReplicaSet is scaled to `spec.replicas`; old ones are scaled to 0 once the new one is available
  (RollingUpdate end state, without the surge steps) or at once (Recreate); `spec.paused` stops rollouts;
- ReplicaSets create Pods, which become Ready per image (`set_image_readiness`);
- Deployment status: observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas,
  unavailableReplicas, conditions Available and Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
  ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded against the virtual clock).

`settle()` runs to a fixed point and then counts one step (pods' readiness is counted in steps); in
automatic mode the same happens on every change and every `tick` seconds.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import logging
import random
import string
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .selectors import selector_matches
from .state import ServerState
from .store import Event

log = logging.getLogger(__name__)
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
HASH = "pod-template-hash"
DEPLOY = ("apps", "deployments")
RS = ("apps", "replicasets")
PODS = ("", "pods")
SAFE = "bcdfghjklmnpqrstvwxz2456789"
SKIPPED_ANNOTATIONS = {REVISION, HISTORY, "kubectl.kubernetes.io/last-applied-configuration"}


def template_hash(template: dict[str, Any]) -> str:
    """FNV-1a (32 bit) of the template without its pod-template-hash label, in the safe alphabet."""
    t = copy.deepcopy(template)
    (t.get("metadata") or {}).get("labels", {}).pop(HASH, None)
    h = 0x811C9DC5
    for byte in json.dumps(t, sort_keys=True, separators=(",", ":")).encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE[ord(c) % len(SAFE)] for c in str(h))


def _strip_hash(template: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH, None)
    return t


def _revision(obj: dict[str, Any]) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == owner["metadata"]["uid"] and r.get("controller") for r in refs)


def _owner_ref(owner: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


@dataclass
class Readiness:
    default_after: int | None = 0
    by_image: dict[str, int | None] = field(default_factory=dict)

    def after(self, images: list[str]) -> int | None:
        steps = [self.by_image.get(i, self.default_after) for i in images]
        if any(s is None for s in steps):
            return None
        return max([s for s in steps if s is not None], default=0)


class DeploymentController:
    def __init__(self, state: ServerState, auto: bool = True, tick: float = 0.1) -> None:
        self.state = state
        self.auto = auto
        self.tick = tick
        self.steps = 0
        self.readiness = Readiness()
        self.born: dict[str, int] = {}  # pod uid → step at which it was created
        self.errors: list[Exception] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- running -------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.state.store.listeners.add(self._on_event)
        if self.auto:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.state.store.listeners.discard(self._on_event)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _on_event(self, event: Event) -> None:
        if event.key in (DEPLOY, RS, PODS):
            self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self.tick
        while True:
            woken = True
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_tick - loop.time()))
            except TimeoutError:
                woken = False
            try:
                if woken:
                    self._wake.clear()
                    await asyncio.sleep(0.01)  # let a burst of writes land first
                    self.reconcile_all()
                if loop.time() >= next_tick:
                    self.settle()
                    next_tick = loop.time() + self.tick
            except Exception as exc:  # recorded for the tests (server.controller_errors) and logged
                self.errors.append(exc)
                log.exception("the stand-in Deployment controller failed")
                next_tick = loop.time() + self.tick

    def settle(self) -> int:
        """Reconcile to a fixed point, then count one step. Returns the number of passes that changed anything."""
        passes = self.reconcile_all()
        self.steps += 1
        return passes + self.reconcile_all()

    def reconcile_all(self) -> int:
        passes = 0
        for _ in range(50):
            changed = False
            for d in self.state.store.list(DEPLOY):
                changed |= self._sync_deployment(copy.deepcopy(d))
            for rs in self.state.store.list(RS):
                changed |= self._sync_replicaset(copy.deepcopy(rs))
            if not changed:
                return passes
            passes += 1
        return passes

    # ---- helpers -------------------------------------------------------------------------------------------

    def _t(self, key: tuple[str, str]) -> Any:
        return self.state.registry.types[key]

    def _write(self, key: tuple[str, str], obj: dict[str, Any], sub: str = "") -> dict[str, Any]:
        meta = obj["metadata"]
        return self.state.ops.update(self._t(key), meta.get("namespace", ""), meta["name"], obj, sub)

    def _changed_write(
        self, key: tuple[str, str], before: dict[str, Any], after: dict[str, Any], sub: str = ""
    ) -> bool:
        if before == after:
            return False
        self._write(key, after, sub)
        return True

    # ---- Deployment ----------------------------------------------------------------------------------------

    def _sync_deployment(self, d: dict[str, Any]) -> bool:
        ns = d["metadata"]["namespace"]
        owned = [rs for rs in self.state.store.list(RS, ns) if _owned_by(rs, d)]
        template = d["spec"]["template"]
        new = next((rs for rs in owned if _strip_hash(rs["spec"]["template"]) == _strip_hash(template)), None)
        old = [rs for rs in owned if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        paused = bool(d["spec"].get("paused"))
        if new is None and paused:
            return self._sync_status(d, None)
        max_old = max((_revision(rs) for rs in old), default=0)
        if new is None:
            new = self._create_replicaset(d, max_old + 1)
            return True
        changed = False
        if _revision(new) <= max_old and not paused:
            new = self._bump_revision(new, max_old + 1)
            changed = True
        desired = d["spec"].get("replicas", 1)
        if new["spec"].get("replicas") != desired:
            scaled = copy.deepcopy(new)
            scaled["spec"]["replicas"] = desired
            scaled["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(desired)
            new = self._write(RS, scaled)
            changed = True
        available = (new.get("status") or {}).get("availableReplicas", 0) >= desired
        recreate = (d["spec"].get("strategy") or {}).get("type") == "Recreate"
        if (available or recreate) and not paused:
            for rs in old:
                if rs["spec"].get("replicas", 0) != 0:
                    scaled = copy.deepcopy(rs)
                    scaled["spec"]["replicas"] = 0
                    self._write(RS, scaled)
                    changed = True
        changed |= self._prune_history(d, old)
        changed |= self._annotate_revision(d, _revision(new))
        return self._sync_status(self.state.ops.get(self._t(DEPLOY), ns, d["metadata"]["name"]), new) or changed

    def _create_replicaset(self, d: dict[str, Any], revision: int) -> dict[str, Any]:
        template = copy.deepcopy(d["spec"]["template"])
        h = template_hash(template)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = h
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH] = h
        annotations = {
            k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k not in SKIPPED_ANNOTATIONS
        }
        replicas = d["spec"].get("replicas", 1)
        surge = replicas + 1
        annotations.update(
            {
                REVISION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(surge),
            }
        )
        name = f"{d['metadata']['name']}-{h}"
        rs: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{d['metadata']['name']}-{h}",
                "namespace": d["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [_owner_ref(d, "Deployment")],
            },
            "spec": {
                "replicas": replicas,
                "selector": selector,
                "template": template,
                **({"minReadySeconds": d["spec"]["minReadySeconds"]} if "minReadySeconds" in d["spec"] else {}),
            },
        }
        created = self.state.ops.create(self._t(RS), d["metadata"]["namespace"], rs)
        self._set_progressing(d, "True", "NewReplicaSetCreated", f'Created new replica set "{name}"')
        return created

    def _bump_revision(self, rs: dict[str, Any], revision: int) -> dict[str, Any]:
        bumped = copy.deepcopy(rs)
        annotations = bumped["metadata"].setdefault("annotations", {})
        previous = annotations.get(REVISION)
        if previous:
            history = [h for h in annotations.get(HISTORY, "").split(",") if h]
            annotations[HISTORY] = ",".join([*history, previous])
        annotations[REVISION] = str(revision)
        return self._write(RS, bumped)

    def _annotate_revision(self, d: dict[str, Any], revision: int) -> bool:
        fresh = self.state.ops.get(self._t(DEPLOY), d["metadata"]["namespace"], d["metadata"]["name"])
        annotations = fresh["metadata"].setdefault("annotations", {})
        if annotations.get(REVISION) == str(revision):
            return False
        annotations[REVISION] = str(revision)
        self._write(DEPLOY, fresh)
        return True

    def _prune_history(self, d: dict[str, Any], old: list[dict[str, Any]]) -> bool:
        limit = d["spec"].get("revisionHistoryLimit", 10)
        idle = sorted(
            (
                rs
                for rs in old
                if rs["spec"].get("replicas", 0) == 0 and (rs.get("status") or {}).get("replicas", 0) == 0
            ),
            key=_revision,
        )
        changed = False
        for rs in idle[: max(0, len(idle) - limit)]:
            self.state.ops.delete(self._t(RS), rs["metadata"]["namespace"], rs["metadata"]["name"])
            changed = True
        return changed

    def _set_progressing(self, d: dict[str, Any], status: str, reason: str, message: str) -> None:
        fresh = self.state.ops.get(self._t(DEPLOY), d["metadata"]["namespace"], d["metadata"]["name"])
        st = copy.deepcopy(fresh.get("status") or {})
        _set_condition(st, "Progressing", status, reason, message, self.state.clock.stamp(), touch=True)
        self._changed_write(DEPLOY, fresh, {**fresh, "status": st}, "status")

    def _sync_status(self, d: dict[str, Any], new: dict[str, Any] | None) -> bool:
        ns = d["metadata"]["namespace"]
        owned = [rs for rs in self.state.store.list(RS, ns) if _owned_by(rs, d)]
        total = sum((rs.get("status") or {}).get("replicas", 0) for rs in owned)
        ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in owned)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in owned)
        new_status = (new or {}).get("status") or {}
        desired = d["spec"].get("replicas", 1)
        st = copy.deepcopy(d.get("status") or {})
        st.update(
            {
                "observedGeneration": d["metadata"].get("generation", 1),
                "replicas": total,
                "updatedReplicas": new_status.get("replicas", 0),
                "readyReplicas": ready,
                "availableReplicas": available,
                "unavailableReplicas": max(0, desired - available),
            }
        )
        for key in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas", "unavailableReplicas"):
            if st[key] == 0:
                st.pop(key)
        now = self.state.clock.stamp()
        max_unavailable = _max_unavailable(d, desired)
        if available >= desired - max_unavailable:
            _set_condition(
                st, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now
            )
        else:
            _set_condition(
                st,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        self._progress(d, st, new, now)
        return self._changed_write(DEPLOY, d, {**d, "status": st}, "status")

    def _progress(self, d: dict[str, Any], st: dict[str, Any], new: dict[str, Any] | None, now: str) -> None:
        """The Progressing condition, decided as the controller's syncRolloutStatus does: complete, progressing,
        or timed out (lastUpdateTime + progressDeadlineSeconds before now)."""
        if d["spec"].get("paused"):
            _set_condition(st, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
            return
        if new is None:
            return
        rs_name = new["metadata"]["name"]
        desired = d["spec"].get("replicas", 1)
        old = d.get("status") or {}
        complete = all(st.get(k, 0) == desired for k in ("updatedReplicas", "replicas", "availableReplicas"))
        if complete and st["observedGeneration"] >= d["metadata"].get("generation", 1):
            _set_condition(
                st,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now,
            )
        elif _progressing(old, st):
            _set_condition(
                st,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
                now,
                touch=True,
            )
        elif self._timed_out(d, _condition(st, "Progressing")):
            _set_condition(
                st,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now,
            )

    def _timed_out(self, d: dict[str, Any], cond: dict[str, Any] | None) -> bool:
        deadline = d["spec"].get("progressDeadlineSeconds")
        if deadline is None or cond is None or cond.get("reason") == "NewReplicaSetAvailable":
            return False
        if cond.get("reason") == "ProgressDeadlineExceeded":
            return True
        since = _parse(cond.get("lastUpdateTime"))
        return since is not None and (self.state.clock.now() - since).total_seconds() > deadline

    # ---- ReplicaSet ----------------------------------------------------------------------------------------

    def _sync_replicaset(self, rs: dict[str, Any]) -> bool:
        ns = rs["metadata"]["namespace"]
        pods = [p for p in self.state.store.list(PODS, ns) if _owned_by(p, rs)]
        desired = rs["spec"].get("replicas", 1)
        changed = False
        for _ in range(desired - len(pods)):
            self._create_pod(rs)
            changed = True
        for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[
            : max(0, len(pods) - desired)
        ]:
            self.state.ops.delete(self._t(PODS), ns, pod["metadata"]["name"])
            self.born.pop(pod["metadata"]["uid"], None)
            changed = True
        pods = [p for p in self.state.store.list(PODS, ns) if _owned_by(p, rs)]
        for pod in pods:
            changed |= self._sync_pod(copy.deepcopy(pod))
        pods = [p for p in self.state.store.list(PODS, ns) if _owned_by(p, rs)]
        ready = sum(1 for p in pods if _pod_ready(p))
        labels = rs["spec"]["template"].get("metadata", {}).get("labels") or {}
        st = {
            "replicas": len(pods),
            "fullyLabeledReplicas": sum(
                1 for p in pods if selector_matches({"matchLabels": labels}, p["metadata"].get("labels") or {})
            ),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        st = {k: v for k, v in st.items() if v or k in ("replicas", "observedGeneration")}
        return self._changed_write(RS, rs, {**rs, "status": st}, "status") or changed

    def _create_pod(self, rs: dict[str, Any]) -> None:
        template = copy.deepcopy(rs["spec"]["template"])
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **template.get("metadata", {}),
                "name": f"{rs['metadata']['name']}-{suffix}",
                "namespace": rs["metadata"]["namespace"],
                "ownerReferences": [_owner_ref(rs, "ReplicaSet")],
            },
            "spec": {**template.get("spec", {}), "nodeName": "kubeapi-test-node"},
        }
        created = self.state.ops.create(self._t(PODS), rs["metadata"]["namespace"], pod)
        self.born[created["metadata"]["uid"]] = self.steps

    def _sync_pod(self, pod: dict[str, Any]) -> bool:
        images = [c.get("image", "") for c in pod["spec"].get("containers") or []]
        after = self.readiness.after(images)
        born = self.born.setdefault(pod["metadata"]["uid"], self.steps)
        is_ready = after is not None and self.steps - born >= after
        st = copy.deepcopy(pod.get("status") or {})
        now = self.state.clock.stamp()
        st.update(
            {
                "phase": "Running",
                "hostIP": "10.0.0.1",
                "podIP": st.get("podIP") or _pod_ip(pod),
                "startTime": st.get("startTime") or now,
            }
        )
        flag = "True" if is_ready else "False"
        for ctype in ("Initialized", "PodScheduled"):
            _set_condition(st, ctype, "True", "", "", now)
        for ctype in ("ContainersReady", "Ready"):
            _set_condition(st, ctype, flag, "" if is_ready else "ContainersNotReady", "", now)
        st["containerStatuses"] = [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": "docker.io/library/" + c.get("image", ""),
                "containerID": "containerd://" + template_hash({"c": c, "p": pod["metadata"]["uid"]}),
                "ready": is_ready,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": st["startTime"]}},
            }
            for c in pod["spec"].get("containers") or []
        ]
        try:
            return self._changed_write(PODS, pod, {**pod, "status": st}, "status")
        except ApiError:
            return False


def _pod_ip(pod: dict[str, Any]) -> str:
    n = int(pod["metadata"]["uid"].replace("-", "")[:4], 16)
    return f"10.244.{n // 256}.{n % 256}"


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _max_unavailable(d: dict[str, Any], desired: int) -> int:
    strategy = d["spec"].get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return int(desired * int(value[:-1]) / 100)
    return int(value)


def _progressing(old: dict[str, Any], new: dict[str, Any]) -> bool:
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return bool(
        new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
        or new_old < old_old
        or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
        or new.get("availableReplicas", 0) > old.get("availableReplicas", 0)
    )


def _condition(st: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in st.get("conditions") or [] if c.get("type") == ctype), None)


def _set_condition(
    st: dict[str, Any], ctype: str, status: str, reason: str, message: str, now: str, touch: bool = False
) -> None:
    """Set a condition; lastTransitionTime moves when the status changes, lastUpdateTime (Deployment
    conditions) when anything changes or `touch` says progress was made."""
    conditions = st.setdefault("conditions", [])
    current = _condition(st, ctype)
    if current is None:
        current = {"type": ctype}
        conditions.append(current)
    same = (current.get("status"), current.get("reason", ""), current.get("message", "")) == (status, reason, message)
    if same and not touch:
        return
    if current.get("status") != status:
        current["lastTransitionTime"] = now
    current["status"] = status
    if reason:
        current["reason"] = reason
    else:
        current.pop("reason", None)
    if message:
        current["message"] = message
    else:
        current.pop("message", None)
    if ctype in ("Available", "Progressing"):
        current["lastUpdateTime"] = now


def _parse(stamp: Any) -> dt.datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def attach(server: Any, auto: bool = True, tick: float = 0.1) -> None:
    controller = DeploymentController(server.state, auto=auto, tick=tick)
    server.state.controller = controller
    controller.start()
