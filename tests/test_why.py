"""The why pane: a failing canary explains itself, a rollback keeps its reason, the driver is told apart."""

from __future__ import annotations

from textual.widgets import Button, Input, Static

from app.clock import VirtualClock
from app.factory import RoomOptions, make_app
from app.model import Check, Phase, Rollout, Weights
from app.room import ShiftroomApp
from app.screens.confirm import ConfirmScreen
from tests.ui_states import OTHER_ROOM, ROOM, STATE, StaticEngine
from widgets.detail import RolloutDetail
from widgets.formatting import driver_text, history_strip, number
from widgets.why import CheckView, MetricRow, WhyPane, status_content

WIDE = (160, 45)
CANARY = "microservices/microservices-canary"


def live_room() -> tuple[ShiftroomApp, VirtualClock]:
    clock = VirtualClock()
    app = make_app(RoomOptions(scenario="bad-canary", seed=23, virtual=True, actor="oncall@room"), clock=clock)
    app.animation_level = "none"
    return app, clock


async def run_to(app: ShiftroomApp, clock: VirtualClock, pilot, seconds: float) -> None:  # type: ignore[no-untyped-def]
    await app.workers.wait_for_complete()
    await pilot.pause()
    await clock.run_for(seconds)
    await pilot.pause()


async def select(pilot, detail: RolloutDetail, key: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(10):
        if detail.rollout is not None and detail.rollout.key == key:
            return
        await pilot.press("j")
    raise AssertionError(f"{key} is not in the table")


async def test_failing_canary_shows_its_failures_values_and_ranges() -> None:
    app, clock = live_room()
    async with app.run_test(size=WIDE) as pilot:
        await run_to(app, clock, pilot, 215)
        detail = app.query_one(RolloutDetail)
        await select(pilot, detail, CANARY)
        rollout = app.engine.state.rollout(CANARY)
        assert rollout is not None and rollout.phase is Phase.PROGRESSING
        assert rollout.failed_checks == 3 and rollout.threshold == 5  # the scenario at 215 s

        why = detail.why
        assert "failed checks 3/5" in why.status_text
        assert history_strip(rollout.history) in why.status_text
        assert why.status_text.count("✕") == rollout.history.count(False) == 3
        # the next tick and the earliest rollback, from the state's clock
        assert f"next check in {int(rollout.next_tick - app.state.t)}s" in why.status_text
        assert "earliest automatic rollback in 45s" in why.status_text  # 2 more failures, 30 s apart
        assert "driven by this room" in why.status_text and app.engine.identity not in why.status_text

        failing = [c for c in rollout.checks if not c.passed]
        assert {c.name for c in failing} == {"request-success-rate", "error-rate"}
        views = {v.row.name: v for v in detail.query(CheckView)}
        for check in failing:
            view = views[check.name]
            label = view.label_text
            assert label.startswith(f"✕ {check.name} ")
            assert number(check.value, "%") in label and f"({check.range})" in label and "BREACH" in label
            assert view.has_class("-failing")
            source = view.query_one(".check-source", Static)
            assert source.tooltip == check.query and check.query.startswith("sum(rate(istio_requests_total")
        assert "91.4% (≥ 99)" in views["request-success-rate"].label_text
        assert "8.57% (≤ 1)" in views["error-rate"].label_text
        passing = views["request-duration"]
        assert passing.label_text.startswith("● request-duration") and not passing.has_class("-failing")
        assert "(≤ 500) ok" in passing.label_text


async def test_after_the_automatic_rollback_the_why_pane_keeps_the_reason() -> None:
    app, clock = live_room()
    async with app.run_test(size=WIDE) as pilot:
        await run_to(app, clock, pilot, 275)
        detail = app.query_one(RolloutDetail)
        await select(pilot, detail, CANARY)
        assert detail.rollout.phase is Phase.FAILED
        headline = detail.why.headline_text
        assert headline.startswith("rolled back: failed checks 5/5: request-success-rate = ")
        assert "error-rate = " in headline and "outside ≤ 1" in headline
        status = detail.why.status_text
        assert "failed checks 5/5" in status and "router desired 100/0 = actual 100/0" in status
        assert "next check" not in status and "earliest automatic rollback" not in status  # nothing pending


async def test_after_an_abort_the_why_pane_names_who_rolled_back() -> None:
    app, clock = live_room()
    async with app.run_test(size=WIDE) as pilot:
        await run_to(app, clock, pilot, 215)
        detail = app.query_one(RolloutDetail)
        await select(pilot, detail, CANARY)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"microservices-canary")  # the seed's targets are production: the name is typed
        await pilot.click("#confirm")
        await app.workers.wait_for_complete()
        await clock.run_for(2)
        await pilot.pause()
        assert detail.rollout.phase is Phase.FAILED
        assert detail.why.headline_text == "rolled back: aborted by oncall@room"


async def test_production_abort_needs_the_typed_name() -> None:
    state = STATE
    app = ShiftroomApp(StaticEngine(state=state))
    app.animation_level = "none"
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")  # shop/checkout is production
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        confirm = app.screen.query_one("#confirm", Button)
        assert confirm.disabled
        app.screen.query_one("#confirm-name", Input).value = "checkout"
        await pilot.pause()
        assert not confirm.disabled


async def test_hand_built_rows_no_data_router_and_other_drivers() -> None:
    app = ShiftroomApp(StaticEngine(state=STATE))
    app.animation_level = "none"
    async with app.run_test(size=WIDE) as pilot:
        detail = app.query_one(RolloutDetail)
        # checkout: the router is still moving to the desired split
        assert "router desired 60/40 ≠ actual 70/30" in detail.why.status_text
        assert "driven by this room" in detail.why.status_text and ROOM not in detail.why.status_text
        await select(pilot, detail, "web/search")
        status = detail.why.status_text
        assert f"driven by {OTHER_ROOM} — this room is hands-off" in status
        assert "paused: no checks and no steps until resumed" in status and "next check" not in status
        view = next(v for v in detail.query(CheckView) if v.row.name == "request-duration-p99")
        assert "no data" in view.label_text and "NO DATA" in view.label_text
        error = view.query_one(".check-error", Static)
        assert error.display and "Prometheus did not answer within 5s" in str(error.render())


async def test_narrow_terminal_packs_the_status_into_two_lines() -> None:
    app = ShiftroomApp(StaticEngine(state=STATE))
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        why = app.query_one(WhyPane)
        assert why.compact
        lines = why.status_text.splitlines()
        assert len(lines) == 2 and lines[0].startswith("failed checks 1/5") and "driven by this room" in lines[1]


def test_status_texts() -> None:
    r = Rollout(
        name="api",
        phase=Phase.PROGRESSING,
        failed_checks=4,
        threshold=5,
        history=(True, False),
        next_tick=112.0,
        earliest_rollback=112.0,
        desired=Weights.of_canary(20),
        actual=Weights.of_canary(20),
        driver="x#1",
    )
    text = status_content(r, 100.0, "x#1").plain
    assert text.splitlines() == [
        "failed checks 4/5  ●✕",
        "next check in 12s",
        "earliest automatic rollback in 12s",
        "router desired 80/20 = actual 80/20",
        "driven by this room",
    ]
    assert driver_text("", "me") == "no room holds its lease"
    assert driver_text("", None) == "no room drives it"
    assert driver_text("b#2", None) == "driven by b#2"
    overdue = status_content(r.model_copy(update={"next_tick": 99.0, "earliest_rollback": None}), 100.0, None).plain
    assert "next check now" in overdue


def test_metric_row_without_a_number_says_why() -> None:
    row = MetricRow(
        "error-rate",
        Check(
            name="error-rate",
            value=None,
            passed=False,
            status="error",
            error="metrics backend down: connection refused",
            range="≤ 1",
        ),
    )
    assert (row.value_text, row.verdict, row.error) == (
        "no data",
        "NO DATA",
        "metrics backend down: connection refused",
    )
    hook = MetricRow(
        "webhook load", Check(name="webhook load", value=None, passed=False, error="HTTP 500", range="2xx")
    )
    assert (hook.value_text, hook.verdict, hook.error) == ("failed", "FAILED", "HTTP 500")
