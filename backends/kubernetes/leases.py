"""One `coordination.k8s.io/v1` Lease per target: exactly one room drives it.

Acquire = create the Lease, or update it (with its resourceVersion, so two
rooms racing for an expired Lease cannot both win: the second gets 409) when it
is ours or expired. Renew = the same update. Release = clear the holder, again
with the resourceVersion. Times are the API's MicroTime, compared with this
machine's wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from backends.base import Conflict, Lease, NotFound
from backends.kubernetes import objects
from backends.kubernetes.client import Api
from backends.kubernetes.errors import NAME, What
from backends.kubernetes.objects import _dict
from backends.kubernetes.resources import LEASES
from backends.kubernetes.writes import get

MANAGED = {"app.kubernetes.io/managed-by": "shiftroom"}
SELECTOR = "app.kubernetes.io/managed-by=shiftroom"


def micro_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def get_lease(api: Api, namespace: str, name: str) -> Lease | None:
    try:
        return objects.lease(await get(api, LEASES, namespace, name))
    except NotFound:
        return None


async def acquire(api: Api, namespace: str, name: str, holder: str, duration: float) -> Lease:
    now = time.time()
    spec = {"holderIdentity": holder, "leaseDurationSeconds": max(1, round(duration)), "renewTime": micro_time(now)}
    try:
        current = await get(api, LEASES, namespace, name)
    except NotFound:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace, "labels": MANAGED},
            "spec": {**spec, "acquireTime": micro_time(now), "leaseTransitions": 0},
        }
        try:
            created = await api.call("POST", LEASES.path(namespace), What("create", LEASES, namespace, name), body=body)
        except Conflict:  # 409 AlreadyExists: another room created it first
            raise Conflict(NAME, f"Lease {namespace}/{name} was just taken by another room.") from None
        return objects.lease(created)
    lease = objects.lease(current)
    if lease.held_by_other(holder, now):
        left = lease.renewed + lease.duration - now
        raise Conflict(NAME, f"Lease {namespace}/{name} is held by {lease.holder} for another {left:.0f} s.")
    old = _dict(current.get("spec"))
    if lease.holder != holder:
        spec["acquireTime"] = micro_time(now)
        spec["leaseTransitions"] = int(old.get("leaseTransitions") or 0) + 1
    return objects.lease(await _update(api, current, {**old, **spec}))


async def release(api: Api, namespace: str, name: str, holder: str) -> None:
    try:
        current = await get(api, LEASES, namespace, name)
    except NotFound:
        return
    if objects.lease(current).holder != holder:
        return  # not ours: nothing to give back
    spec = {k: v for k, v in _dict(current.get("spec")).items() if k not in ("holderIdentity", "renewTime")}
    try:
        await _update(api, current, spec)
    except Conflict:
        return  # someone else renewed or took it meanwhile: it is no longer ours to release


async def _update(api: Api, current: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    md = _dict(current.get("metadata"))
    ns, name = str(md.get("namespace") or ""), str(md.get("name") or "")
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md, "spec": spec}
    try:
        out = await api.call("PUT", LEASES.path(ns, name), What("update", LEASES, ns, name), body=body)
    except Conflict:
        raise Conflict(NAME, f"Lease {ns}/{name} changed while this room renewed it; another room holds it.") from None
    return out if isinstance(out, dict) else {}
