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
import logging
from typing import Any

from .replicasets import Readiness, ReplicaSetController
from .state import ServerState
from .store import Event
from .workloads import (
    DEPLOY,
    HASH,
    HISTORY,
    PODS,
    REVISION,
    RS,
    SKIPPED_ANNOTATIONS,
    changed_write,
    condition,
    owned_by,
    owner_ref,
    parse_stamp,
    record_event,
    revision_of,
    rtype,
    set_condition,
    strip_hash,
    template_hash,
    write,
)

log = logging.getLogger(__name__)


class DeploymentController:
    def __init__(self, state: ServerState, auto: bool = True, tick: float = 0.1) -> None:
        self.state = state
        self.auto = auto
        self.tick = tick
        self.replicasets = ReplicaSetController(state)
        self.errors: list[Exception] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def readiness(self) -> Readiness:
        return self.replicasets.readiness

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
        self.replicasets.steps += 1
        return passes + self.reconcile_all()

    def reconcile_all(self) -> int:
        passes = 0
        for _ in range(50):
            changed = False
            for d in self.state.store.list(DEPLOY):
                changed |= self._sync_deployment(copy.deepcopy(d))
            for rs in self.state.store.list(RS):
                changed |= self.replicasets.sync(copy.deepcopy(rs))
            for pod in self.state.store.list(PODS):
                changed |= self.replicasets.sync_pod(copy.deepcopy(pod))
            if not changed:
                return passes
            passes += 1
        return passes

    # ---- helpers -------------------------------------------------------------------------------------------

    def _sync_deployment(self, d: dict[str, Any]) -> bool:
        ns = d["metadata"]["namespace"]
        owned = [rs for rs in self.state.store.list(RS, ns) if owned_by(rs, d)]
        template = d["spec"]["template"]
        new = next((rs for rs in owned if strip_hash(rs["spec"]["template"]) == strip_hash(template)), None)
        old = [rs for rs in owned if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
        paused = bool(d["spec"].get("paused"))
        if new is None and paused:
            return self._sync_status(d, None)
        max_old = max((revision_of(rs) for rs in old), default=0)
        if new is None:
            new = self._create_replicaset(d, max_old + 1)
            return True
        changed = False
        if revision_of(new) <= max_old and not paused:
            new = self._bump_revision(new, max_old + 1)
            changed = True
        desired = d["spec"].get("replicas", 1)
        if new["spec"].get("replicas") != desired:
            new = self._scale(d, new, desired)
            changed = True
        available = (new.get("status") or {}).get("availableReplicas", 0) >= desired
        recreate = (d["spec"].get("strategy") or {}).get("type") == "Recreate"
        if (available or recreate) and not paused:
            for rs in old:
                if rs["spec"].get("replicas", 0) != 0:
                    self._scale(d, rs, 0)
                    changed = True
        changed |= self._prune_history(d, old)
        changed |= self._annotate_revision(d, revision_of(new))
        return (
            self._sync_status(self.state.ops.get(rtype(self.state, DEPLOY), ns, d["metadata"]["name"]), new) or changed
        )

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
                "ownerReferences": [owner_ref(d, "Deployment")],
            },
            "spec": {
                "replicas": replicas,
                "selector": selector,
                "template": template,
                **({"minReadySeconds": d["spec"]["minReadySeconds"]} if "minReadySeconds" in d["spec"] else {}),
            },
        }
        created = self.state.ops.create(rtype(self.state, RS), d["metadata"]["namespace"], rs)
        if replicas:
            self._scaling_event(d, name, 0, replicas)
        self._set_progressing(d, "True", "NewReplicaSetCreated", f'Created new replica set "{name}"')
        return created

    def _scale(self, d: dict[str, Any], rs: dict[str, Any], replicas: int) -> dict[str, Any]:
        before = rs["spec"].get("replicas", 0)
        scaled = copy.deepcopy(rs)
        scaled["spec"]["replicas"] = replicas
        if replicas:
            scaled["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
                d["spec"].get("replicas", 1)
            )
        out = write(self.state, RS, scaled)
        self._scaling_event(d, rs["metadata"]["name"], before, replicas)
        return out

    def _scaling_event(self, d: dict[str, Any], rs_name: str, before: int, after: int) -> None:
        way = "up" if after > before else "down"
        message = f"Scaled {way} replica set {rs_name} from {before} to {after}"
        record_event(self.state, d, "ScalingReplicaSet", message, "deployment-controller")

    def _bump_revision(self, rs: dict[str, Any], revision: int) -> dict[str, Any]:
        bumped = copy.deepcopy(rs)
        annotations = bumped["metadata"].setdefault("annotations", {})
        previous = annotations.get(REVISION)
        if previous:
            history = [h for h in annotations.get(HISTORY, "").split(",") if h]
            annotations[HISTORY] = ",".join([*history, previous])
        annotations[REVISION] = str(revision)
        return write(self.state, RS, bumped)

    def _annotate_revision(self, d: dict[str, Any], revision: int) -> bool:
        fresh = self.state.ops.get(rtype(self.state, DEPLOY), d["metadata"]["namespace"], d["metadata"]["name"])
        annotations = fresh["metadata"].setdefault("annotations", {})
        if annotations.get(REVISION) == str(revision):
            return False
        annotations[REVISION] = str(revision)
        write(self.state, DEPLOY, fresh)
        return True

    def _prune_history(self, d: dict[str, Any], old: list[dict[str, Any]]) -> bool:
        limit = d["spec"].get("revisionHistoryLimit", 10)
        idle = sorted(
            (
                rs
                for rs in old
                if rs["spec"].get("replicas", 0) == 0 and (rs.get("status") or {}).get("replicas", 0) == 0
            ),
            key=revision_of,
        )
        changed = False
        for rs in idle[: max(0, len(idle) - limit)]:
            self.state.ops.delete(rtype(self.state, RS), rs["metadata"]["namespace"], rs["metadata"]["name"])
            changed = True
        return changed

    def _set_progressing(self, d: dict[str, Any], status: str, reason: str, message: str) -> None:
        fresh = self.state.ops.get(rtype(self.state, DEPLOY), d["metadata"]["namespace"], d["metadata"]["name"])
        st = copy.deepcopy(fresh.get("status") or {})
        set_condition(st, "Progressing", status, reason, message, self.state.clock.stamp(), touch=True)
        changed_write(self.state, DEPLOY, fresh, {**fresh, "status": st}, "status")

    def _sync_status(self, d: dict[str, Any], new: dict[str, Any] | None) -> bool:
        ns = d["metadata"]["namespace"]
        owned = [rs for rs in self.state.store.list(RS, ns) if owned_by(rs, d)]
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
            set_condition(
                st, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now
            )
        else:
            set_condition(
                st,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        self._progress(d, st, new, now)
        return changed_write(self.state, DEPLOY, d, {**d, "status": st}, "status")

    def _progress(self, d: dict[str, Any], st: dict[str, Any], new: dict[str, Any] | None, now: str) -> None:
        """The Progressing condition, decided as the controller's syncRolloutStatus does: complete, progressing,
        or timed out (lastUpdateTime + progressDeadlineSeconds before now)."""
        if d["spec"].get("paused"):
            set_condition(st, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
            return
        if new is None:
            return
        rs_name = new["metadata"]["name"]
        desired = d["spec"].get("replicas", 1)
        old = d.get("status") or {}
        complete = all(st.get(k, 0) == desired for k in ("updatedReplicas", "replicas", "availableReplicas"))
        if complete and st["observedGeneration"] >= d["metadata"].get("generation", 1):
            set_condition(
                st,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now,
            )
        elif _progressing(old, st):
            set_condition(
                st,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
                now,
                touch=True,
            )
        elif self._timed_out(d, condition(st, "Progressing")):
            set_condition(
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
        since = parse_stamp(cond.get("lastUpdateTime"))
        return since is not None and (self.state.clock.now() - since).total_seconds() > deadline

    # ---- ReplicaSet ----------------------------------------------------------------------------------------


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


def attach(server: Any, auto: bool = True, tick: float = 0.1) -> None:
    controller = DeploymentController(server.state, auto=auto, tick=tick)
    server.state.controller = controller
    controller.start()
