"""End to end on the test Kubernetes API server with the real `KubeCluster`: Flagger's CRD installed, the
seed's Canary applied and its status written the way Flagger writes it; the room's engine shows it from
its watch, and `space` (pause) sends exactly the patch `kubectl patch canary --type=merge` sends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.clock import VirtualClock
from app.control.commands import RolloutCommand, Verb
from app.control.engine import Engine
from app.model import MetricCheck, MetricSample, Phase, Rollout, SampleStatus
from tests.kube_helpers import env_fixture

DATA = Path(__file__).parent / "foreign_data"
NS = "microservices"


class NoData:
    name = "none"
    read_only = True

    async def ping(self) -> None:
        return None

    async def query(self, check: MetricCheck, targets: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        return {w: MetricSample(t=0.0, value=None, status=SampleStatus.NO_DATA, error="no data") for w in targets}

    async def history(self, *args: Any) -> list[tuple[float, float | None]]:
        return []


def canary(**status: Any) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load((DATA / "canary.yaml").read_text())
    body["status"] = status
    return body


async def until(engine: Engine, key: str, found: Callable[[Rollout | None], bool], seconds: float = 15.0) -> Rollout:
    """Passes until the watch brought what is awaited (the watch is real I/O: real time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await engine.run_pass()
        row = engine.state.rollout(key)
        if found(row):
            assert row is not None
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen within {seconds} s: {engine.state.rollout(key)}")


@pytest.fixture
async def room(request: pytest.FixtureRequest) -> Any:
    async for env in env_fixture(request, namespace=NS):
        await env.install_crds("flagger")
        await env.apply(canary(phase="Progressing", canaryWeight=20, failedChecks=1, iterations=0))
        engine = Engine(
            clock=VirtualClock(),
            cluster=env.cluster,
            metrics=NoData(),
            targets=[],
            namespaces=(env.namespace,),
            actor="alice@desk",
            identity="shiftroom@test",
        )
        try:
            yield env, engine
        finally:
            await engine.stop()


async def test_the_seed_canary_on_a_cluster_shows_in_the_room(room: Any) -> None:
    env, engine = room
    key = f"{env.namespace}/microservices-canary"
    row = await until(engine, key, lambda r: r is not None)
    assert (row.driven_by, row.phase, row.actual.canary, row.failed_checks, row.threshold) == (
        "flagger",
        Phase.PROGRESSING,
        20,
        1,
        5,
    )
    body = await env.get("flagger.app/v1beta1", "Canary", "microservices-canary")
    assert body is not None
    body["status"] = {"phase": "Progressing", "canaryWeight": 30, "failedChecks": 2, "iterations": 0}
    await env.apply(body)  # Flagger's next tick
    row = await until(engine, key, lambda r: r is not None and r.actual.canary == 30)
    assert row.failed_checks == 2
    assert [c.name for c in row.checks] == ["request-success-rate", "request-duration", "error-rate"]


async def test_pause_writes_exactly_what_flaggers_tooling_writes(room: Any) -> None:
    env, engine = room
    key = f"{env.namespace}/microservices-canary"
    await until(engine, key, lambda r: r is not None)
    env.clear_requests()
    result = await engine.execute(RolloutCommand(Verb.PAUSE, key))
    assert result.ok, result.message
    requests = env.requests()
    if requests is not None:
        patches = [(r.path, r.content_type, r.body) for r in requests if r.method == "PATCH"]
        assert patches == [
            (
                f"/apis/flagger.app/v1beta1/namespaces/{NS}/canaries/microservices-canary",
                "application/merge-patch+json",
                b'{"spec":{"suspend":true}}',
            )
        ]
    body = await env.get("flagger.app/v1beta1", "Canary", "microservices-canary")
    assert body is not None
    assert body["spec"]["suspend"] is True and body["status"]["canaryWeight"] == 20
    assert (await until(engine, key, lambda r: r is not None and r.paused)).driven_by == "flagger"
