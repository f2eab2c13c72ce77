"""Lease renewals without a GET: the room remembers the Lease it wrote last and renews it with one PUT
carrying that resourceVersion; when another room wrote it since, the PUT gets 409 and the Lease is read
and judged again (the other holder keeps it)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from backends.base import Conflict
from backends.kubernetes.leases import micro_time
from tests.kube_helpers import make_cluster

NAME = "shiftroom-shop"


def _writes(server: Any) -> list[tuple[str, int]]:
    return [(r.method, r.status) for r in server.requests if r.path.endswith(NAME) or r.path.endswith("/leases")]


async def test_a_renewal_is_one_put_and_a_lease_taken_meanwhile_stays_taken(kube_api: Any) -> None:
    room = await make_cluster(kube_api.kubeconfig)
    try:
        await room.acquire_lease("default", NAME, "alice@h1#1", 15)
        kube_api.clear_requests()
        renewed = await room.acquire_lease("default", NAME, "alice@h1#1", 15)
        assert renewed.holder == "alice@h1#1" and _writes(kube_api) == [("PUT", 200)]  # no GET first

        stored = kube_api.get("coordination.k8s.io/v1", "Lease", NAME) or {}
        stored["spec"].update(holderIdentity="bob@h2#2", renewTime=micro_time(time.time()))  # bob took it over
        kube_api.apply(stored)
        kube_api.clear_requests()
        with pytest.raises(Conflict) as err:
            await room.acquire_lease("default", NAME, "alice@h1#1", 15)
        assert "bob@h2#2" in str(err.value)
        assert _writes(kube_api) == [("PUT", 409), ("GET", 200)]  # the stale renewal is refused, then read
        assert (kube_api.get("coordination.k8s.io/v1", "Lease", NAME) or {})["spec"]["holderIdentity"] == "bob@h2#2"
        await room.release_lease("default", NAME, "alice@h1#1")  # not hers any more: nothing is written
        assert (kube_api.get("coordination.k8s.io/v1", "Lease", NAME) or {})["spec"]["holderIdentity"] == "bob@h2#2"
    finally:
        await room.close()


async def test_release_of_the_lease_written_last_is_one_put(kube_api: Any) -> None:
    room = await make_cluster(kube_api.kubeconfig)
    try:
        await room.acquire_lease("default", NAME, "alice@h1#1", 15)
        kube_api.clear_requests()
        await room.release_lease("default", NAME, "alice@h1#1")
        assert _writes(kube_api) == [("PUT", 200)]
        assert "holderIdentity" not in (kube_api.get("coordination.k8s.io/v1", "Lease", NAME) or {})["spec"]
    finally:
        await room.close()
