"""Flagger Canaries and Argo Rollouts in the engine: delivered by the cluster watch, shown in the same
rollouts table with who drives them, judged with their own checks, driven only with their own tools.

`ForeignCluster` is the simulated cluster plus the foreign objects a Kubernetes watch delivers
(`ForeignObject`s after each list, and changes pushed with `put`), and the object writes the
collaborator needs (`patch_object`, `proxy`, `record_object_event`), recorded.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import yaml

from app.clock import EPOCH, VirtualClock
from app.control.commands import RolloutCommand, Verb
from app.control.engine import Engine
from app.control.foreign_writes import EventWrites, ObjectWrites
from app.model import Phase, Rollout
from backends.base import BackendError, ForeignObject, WatchEvent
from backends.sim.build import build_world
from backends.sim.scenario import load_scenario
from tests.control_world import CANARY, scenario_file
from widgets.palette import Palette
from widgets.rollouts_table import WIDE_COLUMNS, rollout_cells

DATA = Path(__file__).parent / "foreign_data"
ARGO = "shop/checkout"
QUIET = "name: quiet\nduration: 900\n"


def stamp(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_canary(name: str = "microservices-canary", **status: Any) -> ForeignObject:
    body: dict[str, Any] = yaml.safe_load((DATA / "canary.yaml").read_text())
    body["metadata"]["name"] = name
    body["status"] = status
    return ForeignObject(
        api_version="flagger.app/v1beta1", kind="Canary", name=name, namespace="microservices", body=body
    )


def argo_objects() -> list[ForeignObject]:
    body: dict[str, Any] = yaml.safe_load((DATA / "rollout.yaml").read_text())
    body["status"] = {
        "observedGeneration": "2",
        "stableRS": "6d4f8c7b9",
        "currentPodHash": "85b9f6d5c",
        "currentStepIndex": 1,
        "phase": "Paused",
        "message": "CanaryPauseStep",
        "controllerPause": True,
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-12-02T06:00:00Z"}],
    }
    out = [
        ForeignObject(api_version="argoproj.io/v1alpha1", kind="Rollout", name="checkout", namespace="shop", body=body)
    ]
    for rs in yaml.safe_load((DATA / "replicasets.yaml").read_text()):
        out.append(
            ForeignObject(
                api_version="apps/v1", kind="ReplicaSet", name=rs["metadata"]["name"], namespace="shop", body=rs
            )
        )
    return out


def merged(body: Any, patch: Any) -> Any:
    """RFC 7386 merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(body) if isinstance(body, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merged(out.get(k), v)
    return out


class ForeignCluster:
    def __init__(self, inner: Any, objects: list[ForeignObject]) -> None:
        self.inner = inner
        self.name = inner.name
        self.read_only = inner.read_only
        self.rv = 100
        self.objects: dict[tuple[str, str, str], ForeignObject] = {}
        self.queues: list[tuple[str | None, asyncio.Queue[WatchEvent | BackendError]]] = []
        self.patches: list[tuple[str, str, str, str, bytes, str, str]] = []
        self.recorded: list[tuple[str, str, str, str]] = []
        for o in objects:
            self.put(o)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def put(self, obj: ForeignObject, type: Literal["ADDED", "MODIFIED", "DELETED"] = "MODIFIED") -> ForeignObject:
        self.rv += 1
        obj = obj.model_copy(update={"resource_version": str(self.rv)})
        self.objects[(obj.kind, obj.namespace, obj.name)] = obj
        for ns, queue in self.queues:
            if ns in (None, obj.namespace):
                queue.put_nowait(WatchEvent(type=type, kind="Foreign", object=obj))
        return obj

    async def watch(self, namespace: str | None = None) -> AsyncIterator[WatchEvent]:
        queue: asyncio.Queue[WatchEvent | BackendError] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for ev in self.inner.watch(namespace):
                    queue.put_nowait(ev)
                    if ev.type == "RESET":
                        for o in self.objects.values():
                            if namespace in (None, o.namespace):
                                queue.put_nowait(WatchEvent(type="ADDED", kind="Foreign", object=o))
            except BackendError as err:
                queue.put_nowait(err)

        task = asyncio.create_task(pump())
        self.queues.append((namespace, queue))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BackendError):
                    raise item
                yield item
        finally:
            task.cancel()
            self.queues.remove((namespace, queue))

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
        assert isinstance(patch, bytes), "the collaborator sends the tools' bytes as they are"
        self.patches.append((api_version, kind, namespace, name, patch, patch_type, subresource))
        old = self.objects[(kind, namespace, name)]
        body = merged(old.body, json.loads(patch)) if patch_type == "merge" else old.body  # the tools send JSON
        return self.put(old.model_copy(update={"body": body}))

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
        return 403, ""

    async def record_object_event(
        self, api_version: str, kind: str, namespace: str, name: str, action: str, note: str, warning: bool = False
    ) -> None:
        self.recorded.append((kind, f"{namespace}/{name}", action, note))


def make_engine(
    tmp_path: Path, objects: list[ForeignObject], read_only: bool = False
) -> tuple[Engine, ForeignCluster, Any, VirtualClock]:
    clock = VirtualClock()
    world = build_world(load_scenario(scenario_file(tmp_path, QUIET)), clock)
    cluster = ForeignCluster(world.cluster, objects)
    cluster.read_only = read_only
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=world.metrics,
        targets=world.targets,
        actor="alice@desk",
        identity="shiftroom@test",
        background=(world.run,),
        namespaces=("shop",),
    )
    return engine, cluster, world, clock


def row(engine: Engine, key: str) -> Rollout:
    rows = [r for r in engine.state.rollouts if r.key == key]
    assert len(rows) == 1, f"{key}: {[(r.key, r.driven_by) for r in engine.state.rollouts]}"
    return rows[0]


async def settle(engine: Engine, clock: VirtualClock, seconds: float = 2.0) -> None:
    await clock.run_for(seconds)
    await engine.idle()


def test_the_doubles_offer_the_writes_the_collaborator_needs(tmp_path: Path) -> None:
    _, cluster, _, _ = make_engine(tmp_path, [])
    assert isinstance(cluster, ObjectWrites) and isinstance(cluster, EventWrites)


async def test_the_room_shows_a_flagger_canary_and_an_argo_rollout_with_who_drives_them(tmp_path: Path) -> None:
    canary = seed_canary(
        phase="Progressing", canaryWeight=20, failedChecks=2, iterations=0, lastTransitionTime=stamp(EPOCH)
    )
    engine, cluster, world, clock = make_engine(tmp_path, [canary, *argo_objects()])
    await engine.start()
    try:
        await settle(engine, clock)
        flagger = row(engine, CANARY)  # the configured target of the same key is not shown beside it
        assert (flagger.driven_by, flagger.phase, flagger.actual.canary, flagger.failed_checks, flagger.threshold) == (
            "flagger",
            Phase.PROGRESSING,
            20,
            2,
            5,
        )
        argo = row(engine, ARGO)
        assert (argo.driven_by, argo.phase, argo.step, argo.steps) == ("argo", Phase.PAUSED, 1, 8)
        assert "registry.example.com/checkout:1.9.3" in argo.stable_image  # from the ReplicaSets it owns
        assert [r.key for r in engine.state.rollouts].count("microservices/frontend") == 1

        # The why pane's numbers are the Canary's own checks, read from the metrics backend.
        assert [c.name for c in flagger.checks] == ["request-success-rate", "request-duration", "error-rate"]
        check = next(c for c in flagger.checks if c.name == "request-success-rate")
        assert check.range == "≥ 99"
        assert "microservices" in check.query
        skipped = next(c for c in flagger.checks if c.name == "error-rate")
        assert skipped.status == "not judged by Flagger" and "does not judge it" in skipped.error

        # Flagger's next tick writes status: the watch event reaches the row, no GET.
        body = copy.deepcopy(cluster.objects[("Canary", "microservices", "microservices-canary")].body)
        body["status"].update(canaryWeight=30, failedChecks=3)
        cluster.put(canary.model_copy(update={"body": body}))
        await settle(engine, clock)
        assert (row(engine, CANARY).actual.canary, row(engine, CANARY).failed_checks) == (30, 3)
        assert engine.leases.holder(CANARY) == ""
        await settle(engine, clock, 61)  # two more analysis intervals: the charts keep the checks' history
        kept = {h.name: h for h in engine.state.histories if h.target == CANARY}
        assert set(kept) == {"request-success-rate", "request-duration", "error-rate"}
        assert len(kept["request-success-rate"].times) >= 3 and kept["request-success-rate"].min == 99
        assert ("microservices", "shiftroom-microservices-canary") not in world.leases, "never leased, never driven"
    finally:
        await engine.stop()


async def test_pause_and_promote_on_an_argo_rollout_send_the_clis_patches(tmp_path: Path) -> None:
    engine, cluster, _, clock = make_engine(tmp_path, argo_objects())
    await engine.start()
    try:
        await settle(engine, clock)
        pause = RolloutCommand(Verb.PAUSE, ARGO)
        preview = await engine.preview(pause)
        assert preview.possible and preview.lines[0] == "kubectl argo rollouts pause checkout -n shop"
        result = await engine.execute(pause, confirmed=preview)
        assert result.ok, result.message
        assert cluster.patches == [
            ("argoproj.io/v1alpha1", "Rollout", "shop", "checkout", b'{"spec":{"paused":true}}', "merge", "")
        ]
        assert cluster.recorded[-1][:3] == ("Rollout", ARGO, "pause")
        assert engine.state.events[-1].action == "argo pause" and engine.state.events[-1].actor == "alice@desk"
        assert engine.leases.holder(ARGO) == ""

        await settle(engine, clock)
        assert row(engine, ARGO).paused
        again = await engine.execute(pause)
        assert not again.ok and "already paused" in again.message

        promote = RolloutCommand(Verb.PROMOTE, ARGO)
        result = await engine.execute(promote, confirmed=await engine.preview(promote))
        assert result.ok, result.message
        status_first = cluster.patches[1]
        assert (status_first[4], status_first[6]) == (b'{"status":{"pauseConditions":null}}', "status")
        assert cluster.patches[2][4:] == (b'{"spec":{"paused":false}}', "merge", "")
    finally:
        await engine.stop()


async def test_a_stale_preview_of_a_foreign_rollout_is_refused(tmp_path: Path) -> None:
    engine, cluster, _, clock = make_engine(tmp_path, argo_objects())
    await engine.start()
    try:
        await settle(engine, clock)
        pause = RolloutCommand(Verb.PAUSE, ARGO)
        preview = await engine.preview(pause)
        rollout = cluster.objects[("Rollout", "shop", "checkout")]
        cluster.put(rollout)  # the Rollout controller wrote it meanwhile
        await settle(engine, clock)
        result = await engine.execute(pause, confirmed=preview)
        assert result.stale and not result.ok and cluster.patches == []
    finally:
        await engine.stop()


async def test_a_target_whose_deployment_a_canary_rolls_is_not_driven(tmp_path: Path) -> None:
    other = seed_canary("api", phase="Initialized", canaryWeight=0, failedChecks=0)
    engine, cluster, world, clock = make_engine(tmp_path, [other])
    await engine.start()
    try:
        await settle(engine, clock)
        keys = [(r.key, r.driven_by) for r in engine.state.rollouts]
        assert ("microservices/api", "flagger") in keys
        assert CANARY not in [k for k, _ in keys], "its deployment is the Canary's targetRef: Flagger drives it"
        assert ("microservices/frontend", "shiftroom") in keys  # blue-green of the same deployment prefix: ours
        preview = await engine.preview(RolloutCommand(Verb.PAUSE, CANARY))
        assert not preview.possible and "driven by a Flagger Canary" in preview.lines[0]
        result = await engine.execute(RolloutCommand(Verb.PROMOTE, CANARY))
        assert not result.ok and "does not drive it" in result.message
        assert ("microservices", "shiftroom-microservices-canary") not in world.leases
    finally:
        await engine.stop()


async def test_a_read_only_room_previews_no_foreign_write(tmp_path: Path) -> None:
    engine, cluster, _, clock = make_engine(tmp_path, argo_objects(), read_only=True)
    await engine.start()
    try:
        await settle(engine, clock)
        preview = await engine.preview(RolloutCommand(Verb.PAUSE, ARGO))
        assert not preview.possible and "read-only" in preview.lines[0]
        result = await engine.execute(RolloutCommand(Verb.PAUSE, ARGO))
        assert not result.ok and cluster.patches == []
    finally:
        await engine.stop()


async def test_flagger_suspend_from_the_room(tmp_path: Path) -> None:
    engine, cluster, _, clock = make_engine(tmp_path, [seed_canary(phase="Progressing", canaryWeight=10)])
    await engine.start()
    try:
        await settle(engine, clock)
        result = await engine.execute(RolloutCommand(Verb.PAUSE, CANARY))
        assert result.ok, result.message
        assert cluster.patches == [
            (
                "flagger.app/v1beta1",
                "Canary",
                "microservices",
                "microservices-canary",
                b'{"spec":{"suspend":true}}',
                "merge",
                "",
            )
        ]
        await settle(engine, clock)
        assert row(engine, CANARY).paused and row(engine, CANARY).driven_by == "flagger"
        cells = dict(
            zip([c.key for c in WIDE_COLUMNS], rollout_cells(row(engine, CANARY), Palette(), WIDE_COLUMNS), strict=True)
        )
        assert cells["control"].plain == "flagger ‖"  # the table's ctl/by column: Flagger drives it, suspended
        gates = await engine.preview(RolloutCommand(Verb.PROMOTE, CANARY))
        assert not gates.possible  # the seed's Canary has no load tester gates: the sentence says so
    finally:
        await engine.stop()
