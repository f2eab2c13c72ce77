"""What the stand-in controllers share: names, the pod-template hash, ownership, conditions, writes."""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
from typing import Any

from .resources import ResourceType
from .state import ServerState

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


def strip_hash(template: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH, None)
    return t


def revision_of(obj: dict[str, Any]) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == owner["metadata"]["uid"] and r.get("controller") for r in refs)


def owner_ref(owner: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def record_event(state: ServerState, obj: dict[str, Any], reason: str, message: str, component: str) -> None:
    """A core v1 Event on `obj`, as the controllers' event recorders write them (type Normal)."""
    meta = obj["metadata"]
    now = state.clock.stamp()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Normal",
        "reportingComponent": component,
        "reportingInstance": "",
    }
    state.ops.create(rtype(state, ("", "events")), meta["namespace"], event)


def rtype(state: ServerState, key: tuple[str, str]) -> ResourceType:
    return state.registry.types[key]


def write(state: ServerState, key: tuple[str, str], obj: dict[str, Any], sub: str = "") -> dict[str, Any]:
    meta = obj["metadata"]
    return state.ops.update(rtype(state, key), meta.get("namespace", ""), meta["name"], obj, sub)


def changed_write(
    state: ServerState, key: tuple[str, str], before: dict[str, Any], after: dict[str, Any], sub: str = ""
) -> bool:
    if before == after:
        return False
    write(state, key, after, sub)
    return True


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def condition(st: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in st.get("conditions") or [] if c.get("type") == ctype), None)


def set_condition(
    st: dict[str, Any], ctype: str, status: str, reason: str, message: str, now: str, touch: bool = False
) -> None:
    """Set a condition; lastTransitionTime moves when the status changes, lastUpdateTime (Deployment
    conditions) when anything changes or `touch` says progress was made."""
    conditions = st.setdefault("conditions", [])
    current = condition(st, ctype)
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


def parse_stamp(stamp: Any) -> dt.datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
