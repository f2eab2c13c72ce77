"""The stand-in ReplicaSet controller: Pods for each ReplicaSet, Ready per image after a number of steps."""

from __future__ import annotations

import copy
import random
import string
from dataclasses import dataclass, field
from typing import Any

from .selectors import selector_matches
from .state import ServerState
from .workloads import (
    PODS,
    RS,
    changed_write,
    owned_by,
    owner_ref,
    pod_ready,
    record_event,
    rtype,
    set_condition,
    template_hash,
    write,
)

NODE = "kubeapi-test-node"
COMPONENT = "replicaset-controller"


@dataclass
class Readiness:
    default_after: int | None = 0
    by_image: dict[str, int | None] = field(default_factory=dict)

    def after(self, images: list[str]) -> int | None:
        steps = [self.by_image.get(i, self.default_after) for i in images]
        if any(s is None for s in steps):
            return None
        return max([s for s in steps if s is not None], default=0)


class ReplicaSetController:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.steps = 0
        self.readiness = Readiness()
        self.born: dict[str, int] = {}  # pod uid → step at which it was created

    def sync(self, rs: dict[str, Any]) -> bool:
        ns = rs["metadata"]["namespace"]
        pods = [p for p in self.state.store.list(PODS, ns) if owned_by(p, rs)]
        desired = rs["spec"].get("replicas", 1)
        changed = False
        for _ in range(desired - len(pods)):
            self._create_pod(rs)
            changed = True
        for pod in sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)[
            : max(0, len(pods) - desired)
        ]:
            self.state.ops.delete(rtype(self.state, PODS), ns, pod["metadata"]["name"])
            self.born.pop(pod["metadata"]["uid"], None)
            record_event(self.state, rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", COMPONENT)
            changed = True
        for pod in [p for p in self.state.store.list(PODS, ns) if owned_by(p, rs)]:
            changed |= self.sync_pod(copy.deepcopy(pod))
        pods = [p for p in self.state.store.list(PODS, ns) if owned_by(p, rs)]
        ready = sum(1 for p in pods if pod_ready(p))
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
        return changed_write(self.state, RS, rs, {**rs, "status": st}, "status") or changed

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
                "ownerReferences": [owner_ref(rs, "ReplicaSet")],
            },
            "spec": {**template.get("spec", {}), "nodeName": NODE},
        }
        created = self.state.ops.create(rtype(self.state, PODS), rs["metadata"]["namespace"], pod)
        record_event(self.state, rs, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", COMPONENT)
        self.born[created["metadata"]["uid"]] = self.steps

    def sync_pod(self, pod: dict[str, Any]) -> bool:
        """The kubelet's part: a pod on the test node (or on no node: it is scheduled there) runs, with Ready
        as its images' readiness says. Pods on any other node are left as the tests write them."""
        node = pod["spec"].get("nodeName")
        if node not in (None, "", NODE):
            return False
        if not node:
            scheduled = copy.deepcopy(pod)
            scheduled["spec"]["nodeName"] = NODE
            pod = write(self.state, PODS, scheduled)
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
            set_condition(st, ctype, "True", "", "", now)
        for ctype in ("ContainersReady", "Ready"):
            set_condition(st, ctype, flag, "" if is_ready else "ContainersNotReady", "", now)
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
        return changed_write(self.state, PODS, pod, {**pod, "status": st}, "status")


def _pod_ip(pod: dict[str, Any]) -> str:
    n = int(pod["metadata"]["uid"].replace("-", "")[:4], 16)
    return f"10.244.{n // 256}.{n % 256}"
