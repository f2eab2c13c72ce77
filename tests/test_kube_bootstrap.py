"""Flagger's layout bootstrapped around an existing deployment: preview, apply, never replace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.model import Target
from backends.base import ReadOnly
from backends.kubernetes import bootstrap
from tests.kube_helpers import Env, deployment, env_fixture, service


@pytest.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    async for e in env_fixture(request):
        yield e


async def test_bootstrap_creates_only_what_is_missing(env: Env) -> None:
    await env.install_crds("istio")
    ns = env.namespace
    await env.apply(deployment("shop", "shop:1", replicas=3, ready=False))
    mine = service("shop-canary", {"app": "shop"}, port=8080)
    mine["metadata"]["labels"] = {"owner": "team"}
    await env.apply(mine)  # the user's own: left alone
    target = Target(name="shop", namespace=ns, deployment="shop", replicas=2, router="istio")
    env.cluster.add_target(target)
    steps = await bootstrap.plan(env.cluster, target, port=8080)
    assert [s.line for s in steps] == [
        f"create Deployment {ns}/shop-primary from shop's template (2 replicas)",
        f"create Service {ns}/shop-primary selecting app=shop-primary",
        f"create VirtualService {ns}/shop at 100/0",
        f"scale Deployment {ns}/shop 3 → 0 (the primary serves until a release)",
    ]
    ro = await env.make_cluster(read_only=True, targets=[target])
    try:
        env.clear_requests()
        sent = ro.api.requests
        with pytest.raises(ReadOnly):
            await bootstrap.apply(ro, steps)
        assert ro.api.requests == sent and env.requests() in (None, [])
    finally:
        await ro.close()
    await bootstrap.apply(env.cluster, steps)
    primary = await env.get("apps/v1", "Deployment", "shop-primary") or {}
    assert primary["spec"]["selector"]["matchLabels"] == {"app": "shop-primary"}
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == "shop:1"
    assert primary["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "shiftroom"
    assert (await env.cluster.get_route(ns, "shop")).weights == {"shop-primary": 100, "shop": 0}
    assert (await env.cluster.get_deployment(ns, "shop")).replicas == 0
    kept = await env.get("v1", "Service", "shop-canary") or {}
    assert kept["metadata"]["labels"] == {"owner": "team"} and kept["spec"]["ports"][0]["port"] == 8080
    assert await bootstrap.plan(env.cluster, target) == []  # complete: nothing more to do
