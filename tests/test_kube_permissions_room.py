"""Permissions in the room, end to end on the test API server: an identity that may drive canaries
(get/list/watch everything, patch Deployments and the route, take Leases, record Events) but may not
write Services gets a live room in which `b` (switch) on the blue-green row is shown disabled with the
sentence a 403 would get, pressing it sends no request, the engine's preview says why, and the doctor's
rows for the same questions say the same. The Argo keys go through the same denials (an identity that
may not patch rollouts/status: retry disabled with its reason, restart still sent)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.widgets._footer import FooterKey

from app.clock import VirtualClock
from app.config import load_config
from app.control.commands import RolloutCommand, Verb
from app.live import LiveOptions, build, preflight
from app.model import Mode
from app.room import ShiftroomApp
from app.screens.binding_list import room_bindings
from app.screens.commands import RoomCommands
from app.screens.confirm import ConfirmScreen
from app.screens.control import ControlScreen
from app.screens.help import HelpScreen
from backends.kubernetes import doctor
from tests.kube_helpers import deployment, make_cluster, service

NS = "default"
WEB, API = f"{NS}/web", f"{NS}/api"
RBAC = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"
SENTENCE = "dev may not patch services in namespace default; grant it (deploy/rbac.yaml) or open the room --read-only."


def _role() -> dict[str, Any]:
    """shiftroom-viewer's reads, and every write driving needs except those on Services."""
    viewer = next(d for d in yaml.safe_load_all(RBAC.read_text()) if d and d["metadata"]["name"] == "shiftroom-viewer")
    rules = [
        *viewer["rules"],
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "update"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
        {"apiGroups": ["networking.istio.io"], "resources": ["virtualservices"], "verbs": ["create", "patch"]},
    ]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "drive-but-not-services"},
        "rules": rules,
    }


def _in_ns(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "namespace": NS}}


def _objects(server: Any) -> None:
    """The seed's blue-green layout (web-blue live, web-green idle) and a canary in Flagger's layout."""
    server.install_crds("istio")
    for color, replicas in (("blue", 2), ("green", 0)):
        labels = {"app": "web", "version": color}
        server.apply(_in_ns(deployment(f"web-{color}", "web:1", replicas=replicas, labels=labels)))
    server.apply(_in_ns(service("web", {"app": "web", "version": "blue"})))
    for name in ("api", "api-primary"):
        server.apply(_in_ns(deployment(name, "api:1", replicas=2)))
    for name, app in (("api-primary", "api-primary"), ("api-canary", "api")):
        server.apply(_in_ns(service(name, {"app": app})))
    route = [{"destination": {"host": h}, "weight": w} for h, w in (("api-primary", 100), ("api-canary", 0))]
    server.apply(
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": "api", "namespace": NS},
            "spec": {"hosts": ["api"], "http": [{"route": route}]},
        }
    )


def _config(tmp_path: Path) -> Any:
    targets = [
        {"name": "api", "namespace": NS, "strategy": "canary", "deployment": "api", "service": "api"},
        {
            "name": "web",
            "namespace": NS,
            "strategy": "blue-green",
            "deployment": "web",
            "service": "web",
            "container": "app",
        },
    ]
    path = tmp_path / "shiftroom.yaml"
    path.write_text(yaml.safe_dump({"targets": targets}))
    return load_config(str(path))


@pytest.fixture
def room(kube_api: Any, tmp_path: Path) -> tuple[Any, Any, Any]:
    """(server, preflight, options) for the identity `dev` on the test API server."""
    _objects(kube_api)
    kube_api.apply(_role())
    kube_api.grant("dev", "drive-but-not-services")
    kc = kube_api.write_kubeconfig(tmp_path / "kc", contexts={"dev": ("dev", NS)})
    config = _config(tmp_path)
    options = LiveOptions(kubeconfig=str(kc), context="dev")
    pre = asyncio.run(preflight(options, config))
    return kube_api, pre, (options, config)


async def _until(engine: Any, found: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await engine.run_pass()
        if found():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {[(r.key, r.denied, r.message) for r in engine.state.rollouts]}")


def _denied_switch(engine: Any) -> bool:
    row = engine.state.rollout(WEB)
    return row is not None and "switch" in row.denied


def _service_writes(server: Any) -> list[Any]:
    return [r for r in server.requests if r.method in ("PATCH", "PUT", "POST") and "/services" in r.path]


async def test_denied_actions_are_named_in_the_snapshot_and_refused_by_the_engine(room: Any) -> None:
    server, pre, (options, config) = room
    assert pre.identity == "dev" and pre.read_only_reason == ""  # it may drive: a live room, not a read-only one
    engine = build(pre, options, config, clock=VirtualClock())
    try:
        assert engine.state.mode is Mode.LIVE and not engine.read_only
        await _until(engine, lambda: _denied_switch(engine))
        web, api = engine.state.rollout(WEB), engine.state.rollout(API)
        assert web is not None and api is not None
        assert web.denied["switch"] == SENTENCE  # the sentence a 403 of that PATCH gets
        assert {"pause", "resume", "abort", "undo", "auto", "manual"} <= set(web.denied)  # its state is on the Service
        assert api.denied == {}  # the canary's writes are all allowed
        await engine.idle()  # the pass that found the denials may still be writing its own state (a slow machine)
        server.clear_requests()
        command = RolloutCommand(Verb.SWITCH, WEB)
        preview = await engine.preview(command)
        assert not preview.possible and preview.lines == (SENTENCE,)
        result = await engine.execute(command, confirmed=preview)
        assert not result.ok and result.message == SENTENCE
        assert _service_writes(server) == []  # refused before any request
        undo = await engine.preview(RolloutCommand(Verb.UNDO, API))  # the canary's: previewed as usual
        assert undo.possible and not any("may not" in line for line in undo.lines), undo
        # The doctor asks the same questions the same way: its rows say what the room says.
        cluster = await make_cluster(options.kubeconfig, context="dev")
        try:
            report = await doctor.run(cluster.api, [NS])
        finally:
            await cluster.close()
        rows = {(r.verb, r.resource, r.namespace): r.allowed for r in report.rows}
        answers = engine.access.answers
        assert answers
        for check, answer in answers.items():
            assert rows[(check.verb, answer.resource, check.namespace)] == answer.allowed, (check, answer)
        assert rows[("patch", "services", NS)] is False
        assert rows[("patch", "virtualservices.networking.istio.io", NS)] is True
        assert {(c.verb, a.resource) for c, a in answers.items() if not a.allowed} == {("patch", "services")}
        assert ("list", "replicasets.apps") in {(c.verb, a.resource) for c, a in answers.items()}  # undo
    finally:
        await engine.stop()
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_the_room_shows_switch_disabled_with_the_reason_and_sends_nothing(room: Any) -> None:
    server, pre, (options, config) = room
    engine = build(pre, options, config, clock=VirtualClock())
    app = ShiftroomApp(engine)
    app.animation_level = "none"
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await _until(engine, lambda: _denied_switch(engine))
            await pilot.pause()
            table_keys = [r.key for r in engine.state.rollouts]
            await pilot.press(*["j"] * table_keys.index(WEB))
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ControlScreen) and screen.selected_key == WEB
            active = screen.active_bindings
            assert not active["b"].enabled and active["b"].tooltip == f"not allowed: {SENTENCE}"
            switch = next(k for k in screen.query(FooterKey) if k.key == "b")
            assert switch.has_class("-disabled")
            server.clear_requests()
            await pilot.press("b")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen) and not screen.busy  # no dialog, no command flow
            assert any(n.message == SENTENCE for n in app._notifications)  # said at once
            assert _service_writes(server) == []
            entries = {e.id: e for e in room_bindings(app)}
            assert entries["switch"].denied == SENTENCE and entries["step"].denied == ""
            assert RoomCommands._title(entries["switch"]).endswith("— not allowed")
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            assert f"Switch — not allowed here: {SENTENCE}" in app.screen.text
            await pilot.press("escape")
            await pilot.press("k")  # the canary row: its keys are all allowed
            await pilot.pause()
            assert screen.selected_key == API and screen.active_bindings["s"].enabled
    finally:
        await engine.cluster.close()  # type: ignore[attr-defined]


async def test_on_the_simulator_everything_is_allowed() -> None:
    from app.factory import RoomOptions, make_demo

    demo = make_demo(RoomOptions(virtual=True, seed=7))
    engine = demo.engine
    assert engine.access.review is None and engine.bootstrap.boot is None  # the simulator has neither capability
    for _ in range(3):
        await engine.run_pass()
        await demo.clock.advance(5)  # type: ignore[attr-defined]
    assert engine.state.rollouts
    assert all(r.denied == {} and r.needs_bootstrap == () for r in engine.state.rollouts)
    await engine.stop()


class CountingReview:
    """An `AccessReview` that denies patching Services and counts how often it is asked."""

    name, read_only = "fake", False

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def review_access(self, checks: Any) -> dict[Any, Any]:
        from backends.base import AccessAnswer

        self.asked.append(len(checks))
        return {c: AccessAnswer(allowed=c.kind != "Service", sentence=f"no {c.kind}") for c in checks}


async def test_reviews_at_start_every_few_minutes_and_on_reconnect_not_every_pass() -> None:
    from app.control.access import EVERY, AccessDesk
    from app.control.health import HealthBoard
    from app.model import Rollout, Strategy

    clock = VirtualClock()
    review = CountingReview()
    desk = AccessDesk(review, clock, HealthBoard(clock), read_only=False, on_change=lambda: None)  # type: ignore[arg-type]
    rows = [Rollout(name="web", namespace=NS, strategy=Strategy.BLUE_GREEN)]

    async def passes(n: int, up: bool = True) -> None:
        for _ in range(n):
            desk.follow(clock.now(), up, rows, {})
            await asyncio.sleep(0)
            await clock.advance(1.0)

    await passes(20)
    assert len(review.asked) == 1 and desk.denied(rows[0])["switch"] == "no Service"
    rows.append(Rollout(name="api", namespace=NS))  # a new row: only its own questions
    await passes(5)
    assert review.asked == [4, 1]  # Service, Deployment, its scale, ReplicaSets (undo); then only the canary's route
    await clock.advance(EVERY)
    await passes(3)
    assert len(review.asked) == 3  # every few minutes, all of them again
    await passes(3, up=False)  # the watch broke ...
    await passes(3)  # ... and came back: another identity may be behind the new connection
    assert len(review.asked) == 4
    ro = AccessDesk(review, clock, HealthBoard(clock), read_only=True, on_change=lambda: None)  # type: ignore[arg-type]
    assert ro.review is None  # a read-only room asks nothing: its backends refuse every write anyway


async def test_an_argo_key_the_identity_may_not_use_is_disabled_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Argo keys (app/screens/foreign_keys.py) go through the same denials: retry patches the Rollout's
    status subresource first, which this identity may not; restart patches its spec, which it may."""
    from backends.base import AccessAnswer
    from tests import test_foreign_keys as fk
    from tests.test_engine_foreign import ARGO

    no_status = "dev may not patch rollouts.argoproj.io/status in namespace shop; grant it (deploy/rbac.yaml)."

    class NoStatus(fk.GatedCluster):
        async def review_access(self, checks: Any) -> dict[Any, Any]:
            return {c: AccessAnswer(allowed=c.sub != "status", sentence=no_status) for c in checks}

    monkeypatch.setattr(fk, "GatedCluster", NoStatus)  # the same room as the Argo keys' tests, on this cluster
    app, engine, cluster, clock = fk.room(tmp_path, fk.aborted_argo())
    async with app.run_test(size=fk.SIZE) as pilot:
        screen = await fk.select(app, engine, clock, ARGO)
        await pilot.pause()
        row = engine.state.rollout(ARGO)
        assert row is not None and row.denied.get("retry") == no_status and "restart" not in row.denied
        active = screen.active_bindings
        assert not active["t"].enabled and active["t"].tooltip == f"not allowed: {no_status}"
        assert active["R"].enabled
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and not screen.busy
        assert any(n.message == no_status for n in app._notifications)
        await fk.settled(app, engine, clock)
        assert cluster.patches == []  # refused before any write
        await pilot.press("R")  # the spec patch is allowed: it goes out
        await fk.settled(app, engine, clock)
        assert [p[6] for p in cluster.patches] == [""]
