"""The room's keys for the verbs of Argo Rollouts and Flagger, driven through the real engine.

Each test presses a key in the room (Textual pilot) on an Argo Rollout or Flagger Canary row and
checks what reached the cluster (the patch or the load tester call), the audit trail and the
footer: a key is offered only on rows where its verb applies, and says why on the others.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any, Literal

from textual.widgets import Button

from app.clock import VirtualClock
from app.control.engine import Engine
from app.foreign.verbs import argo_restart
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from app.screens.control import ControlScreen
from app.screens.help import HelpScreen
from backends.base import ForeignObject
from backends.sim.build import build_world
from backends.sim.scenario import load_scenario
from tests.control_world import scenario_file
from tests.test_engine_foreign import ARGO, QUIET, ForeignCluster, argo_objects, merged, seed_canary
from widgets.rollouts_table import RolloutsTable

CANARY = "microservices/microservices-canary"
SIZE = (160, 45)


class GatedCluster(ForeignCluster):
    """ForeignCluster whose services proxy answers as Flagger's load tester does (202 on open/close,
    200 "Approved" / 403 "Forbidden" on check), keeping each gate's state."""

    def __init__(self, inner: Any, objects: list[ForeignObject]) -> None:
        super().__init__(inner, objects)
        self.calls: list[tuple[str, str, str, str]] = []
        self.open: set[str] = set()

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
        """JSON, not YAML: the CLI's restart patch is indented with tabs."""
        assert isinstance(patch, bytes), "the collaborator sends the tools' bytes as they are"
        self.patches.append((api_version, kind, namespace, name, patch, patch_type, subresource))
        old = self.objects[(kind, namespace, name)]
        body = merged(old.body, json.loads(patch)) if patch_type == "merge" else old.body
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
        gate, action = path.rsplit("/", 1)
        if action == "check":
            return (200, "Approved") if gate in self.open else (403, "Forbidden")
        self.calls.append((namespace, name, path, method))
        (self.open.add if action == "open" else self.open.discard)(gate)
        return 202, ""


def gated_canary() -> ForeignObject:
    canary = seed_canary(phase="WaitingPromotion", canaryWeight=50, failedChecks=0)
    body = copy.deepcopy(canary.body)
    body["spec"]["analysis"]["webhooks"] += [
        {"name": "ask", "type": "confirm-promotion", "url": "http://flagger-loadtester.test/gate/check"},
        {"name": "undo", "type": "rollback", "url": "http://flagger-loadtester.test/rollback/check"},
    ]
    return canary.model_copy(update={"body": body})


def aborted_argo() -> list[ForeignObject]:
    objects = argo_objects()
    body = copy.deepcopy(objects[0].body)
    body["status"].update(abort=True, phase="Degraded", message="RolloutAborted: Rollout aborted update to revision 2")
    return [objects[0].model_copy(update={"body": body}), *objects[1:]]


def room(tmp_path: Path, objects: list[ForeignObject]) -> tuple[ShiftroomApp, Engine, GatedCluster, VirtualClock]:
    clock = VirtualClock()
    world = build_world(load_scenario(scenario_file(tmp_path, QUIET)), clock)
    gated = GatedCluster(world.cluster, objects)
    engine = Engine(
        clock=clock,
        cluster=gated,
        metrics=world.metrics,
        targets=world.targets,
        actor="alice@desk",
        identity="shiftroom@test",
        background=(world.run,),
        namespaces=("shop", "microservices"),
    )
    app = ShiftroomApp(engine, wall_clock=lambda: 0.0)
    app.animation_level = "none"
    return app, engine, gated, clock


async def select(app: ShiftroomApp, engine: Engine, clock: VirtualClock, key: str) -> ControlScreen:
    for _ in range(50):
        await clock.run_for(1)
        await engine.idle()
        screen = app.screen
        if isinstance(screen, ControlScreen) and screen.query_one(RolloutsTable).select_key(key):
            break
    screen = app.screen
    assert isinstance(screen, ControlScreen) and screen.selected_key == key
    return screen


def footer_keys(screen: ControlScreen) -> set[str]:
    return {b.binding.key for b in screen.active_bindings.values() if b.binding.show}


async def confirm(app: ShiftroomApp) -> None:
    """Confirm the open confirmation (typing the target's name when it asks for it)."""
    for _ in range(40):
        if isinstance(app.screen, ConfirmScreen):
            break
        await asyncio.sleep(0.05)
    screen = app.screen
    assert isinstance(screen, ConfirmScreen), type(screen)
    screen.query_one("#confirm", Button).press()


async def settled(app: ShiftroomApp, engine: Engine, clock: VirtualClock) -> None:
    await app.workers.wait_for_complete()
    await clock.run_for(1)
    await engine.idle()


def toasts(app: ShiftroomApp) -> list[str]:
    return [f"{n.title or ''} | {n.message}" for n in app._notifications]


def patches(cluster: ForeignCluster) -> list[tuple[bytes, str]]:
    return [(p[4], p[6]) for p in cluster.patches]


async def test_argo_keys_send_the_clis_patches_and_show_only_on_argo_rows(tmp_path: Path) -> None:
    app, engine, cluster, clock = room(tmp_path, [*aborted_argo(), gated_canary()])
    async with app.run_test(size=SIZE) as pilot:
        screen = await select(app, engine, clock, ARGO)
        await pilot.pause()
        shown = footer_keys(screen)
        assert {"P", "t", "R"} <= shown and not {"S", "g", "G"} & shown

        pressed_at = clock.now()
        await pilot.press("R")  # restart: not destructive, acts at once
        await settled(app, engine, clock)
        ((body, sub),) = patches(cluster)
        assert sub == "" and json.loads(body)["spec"]["restartAt"].endswith("Z")
        assert body == argo_restart(pressed_at).requests()[0].body  # the CLI's bytes, tabs and all
        assert engine.state.events and engine.state.events[-1].action == "argo restart", (
            toasts(app),
            engine.state.events,
        )

        await pilot.press("t")  # retry the aborted rollout: status patch, as the CLI sends it
        await settled(app, engine, clock)
        assert patches(cluster)[1] == (b'{"status":{"abort":false}}', "status")
        assert engine.state.events[-1].action == "argo retry"
        assert cluster.recorded[-1][:3] == ("Rollout", ARGO, "retry")

        await clock.run_for(1)
        await engine.idle()
        await pilot.pause()
        assert not engine.state.rollout(ARGO).aborted  # type: ignore[union-attr]
        assert "t" not in footer_keys(screen)  # nothing to retry any more
        await pilot.press("t")
        await pilot.pause()
        assert any("not aborted: nothing to retry" in t for t in toasts(app))
        assert len(cluster.patches) == 2

        await pilot.press("P")  # promote --full: destructive, through the confirmation
        await confirm(app)
        await settled(app, engine, clock)
        assert engine.state.events[-1].action == "argo promote-full"
        sent = [json.loads(b) for b, _ in patches(cluster)[2:]]
        assert {"status": {"promoteFull": True}} in sent, sent


async def test_flagger_keys_skip_the_analysis_and_open_and_close_the_gates(tmp_path: Path) -> None:
    app, engine, cluster, clock = room(tmp_path, [gated_canary(), *argo_objects()])
    async with app.run_test(size=SIZE) as pilot:
        screen = await select(app, engine, clock, CANARY)
        await pilot.pause()
        shown = footer_keys(screen)
        assert {"S", "g", "G"} <= shown and not {"P", "t", "R"} & shown
        gated = cluster

        await pilot.press("p")  # opens the promotion gate (destructive: confirmed)
        await confirm(app)
        await settled(app, engine, clock)
        assert gated.calls[-1] == ("test", "flagger-loadtester", "/gate/open", "POST")
        await pilot.press("g")  # closes it: not destructive
        await settled(app, engine, clock)
        assert gated.calls[-1] == ("test", "flagger-loadtester", "/gate/close", "POST")
        assert engine.state.events[-1].action == "flagger close-gate"
        assert engine.state.events[-1].after == {"promotion gate": "closed"}

        await pilot.press("a")  # opens the rollback gate
        await confirm(app)
        await settled(app, engine, clock)
        assert gated.calls[-1] == ("test", "flagger-loadtester", "/rollback/open", "POST")
        await pilot.press("G")
        await settled(app, engine, clock)
        assert gated.calls[-1] == ("test", "flagger-loadtester", "/rollback/close", "POST")

        await pilot.press("S")  # skip analysis: destructive, confirmed, the merge patch Flagger reads
        await confirm(app)
        await settled(app, engine, clock)
        assert patches(cluster) == [(b'{"spec":{"skipAnalysis":true}}', "")]
        assert engine.state.events[-1].action == "flagger skip-analysis"

        await pilot.press("R")  # an Argo key on a Flagger row: says why, writes nothing
        await pilot.pause()
        assert any("applies only to an Argo Rollout" in t for t in toasts(app))
        assert len(cluster.patches) == 1


async def test_a_canary_without_gates_offers_no_gate_keys_and_help_lists_them_all(tmp_path: Path) -> None:
    canary = seed_canary(phase="Progressing", canaryWeight=20, failedChecks=0)
    app, engine, cluster, clock = room(tmp_path, [canary])
    async with app.run_test(size=SIZE) as pilot:
        screen = await select(app, engine, clock, CANARY)
        await pilot.pause()
        shown = footer_keys(screen)
        assert "S" in shown and not {"g", "G"} & shown
        await pilot.press("g")
        await pilot.pause()
        assert any("has no promotion gate" in t for t in toasts(app))
        assert cluster.calls == []

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        for line in ("P  ", "Promote full", "Retry", "Restart", "Skip analysis", "Close gate", "Close rollback"):
            assert line in text
