"""The wall (`shiftroom watch`): snapshots at 80×24 and 160×50, no action keys, pages, the CLI's refusals."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.clock import EPOCH, VirtualClock
from app.factory import RoomOptions, make_demo
from app.screens.watch import WatchScreen, grid_shape
from app.wall import WatchApp
from widgets.wall_tile import WallTile

#: The wall clock a snapshot sees: 09:42 local time (the tests run in UTC), never the real one.
WALL_TIME = EPOCH + 9 * 3600 + 42 * 60


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def wall(scenario: str, cycle: float = 0.0) -> tuple[WatchApp, VirtualClock]:
    clock = VirtualClock()
    demo = make_demo(RoomOptions(scenario=scenario, virtual=True, read_only=True), clock)
    app = WatchApp(demo.engine, cycle=cycle, now=lambda: WALL_TIME, simulated=True)
    app.animation_level = "none"
    return app, clock


def advance(clock: VirtualClock, seconds: int) -> Callable[[Any], Awaitable[None]]:
    async def run_before(pilot: Any) -> None:
        for _ in range(seconds):  # one simulated second at a time, each snapshot handled before the next
            await clock.advance(1.0)
            await pilot.pause()
        for _ in range(3):  # entries the world's controller appended reach the wall's log (no clock time passes)
            await pilot.pause()

    return run_before


def test_wall_80x24_loop(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = wall("loop")
    assert snap_compare(app, terminal_size=(80, 24), run_before=advance(clock, 110))


def test_wall_160x50_fleet(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app, clock = wall("fleet")
    assert snap_compare(app, terminal_size=(160, 50), run_before=advance(clock, 45))


def test_grid_adapts_from_80x24_to_250x70() -> None:
    assert grid_shape(80, 24) == (2, 3)
    assert grid_shape(160, 50) == (4, 7)
    assert grid_shape(250, 70) == (6, 11)
    assert grid_shape(160, 50, count=2) == (2, 7), "two rollouts: two wide tiles, not four narrow ones"
    assert grid_shape(160, 50, count=20) == (4, 7)


async def test_no_key_acts_and_the_room_is_read_only() -> None:
    app, clock = wall("loop")
    async with app.run_test(size=(120, 40)) as pilot:
        await clock.advance(60)
        await pilot.pause()
        actions = {b.binding.action for b in app.active_bindings.values()}
        textual_own = {"app.focus_next", "app.focus_previous", "screen.copy_text"}  # Textual's own
        assert actions - textual_own <= {"quit"}, actions
        assert app.engine.read_only
        before = app.engine.state.rollout("microservices-canary")
        for key in ("space", "p", "P", "a", "s", "enter", "u", "m", "b", "colon", "slash"):
            await pilot.press(key)
        after = app.engine.state.rollout("microservices-canary")
        assert before is not None and after is not None and after.paused == before.paused
        assert isinstance(app.screen, WatchScreen)


async def test_cycle_rotates_pages_of_rollouts_then_flags_then_experiments() -> None:
    app, clock = wall("fleet", cycle=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await clock.advance(2)
        await pilot.pause()
        screen = app.wall
        pages = screen.pages()
        names = [name for name, _ in pages]
        assert names[:9] == ["rollouts"] * 9 and names[9:] == ["flags", "experiments"]
        seen = []
        for _ in range(len(pages)):
            seen.append(str(screen.query_one("#wall-page").render()).split()[0])  # "rollouts 6/50 · page 1/9 · …"
            screen.next_page()
            await pilot.pause()
        assert seen == names
        assert [t.card.title for t in screen.query(WallTile) if t.card][:1] == ["shop-api"]  # back to page 1


def test_watch_needs_a_backend_and_known_theme(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from app.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))  # without --demo the wall opens the kubeconfig's context: none here
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["watch"]) == 2
    assert "No kubeconfig found" in capsys.readouterr().err
    assert main(["watch", "--demo", "--theme", "pink"]) == 2
    assert "unknown theme 'pink'" in capsys.readouterr().err
    assert main(["watch", "--demo", "nope"]) == 2
    assert "no scenario named 'nope'" in capsys.readouterr().err


def test_refresh_has_a_floor() -> None:
    import argparse

    from app.cli import build_parser
    from app.cli_verbs import watch_app

    args: argparse.Namespace = build_parser().parse_args(["watch", "--demo", "--refresh", "0.01"])
    app: Any = watch_app(args)
    assert app.engine.publish_every >= 10.0  # 10 simulated seconds per real second: at most one snapshot a second


async def test_250x70_shows_the_whole_fleet_on_one_page() -> None:
    app, clock = wall("fleet")
    async with app.run_test(size=(250, 70)) as pilot:
        await clock.advance(2)
        await pilot.pause()
        shown = [t.card.title for t in app.wall.query(WallTile) if t.card is not None and t.display]
        assert len(shown) == 50 and shown[0] == "shop-api" and shown[-1] == "media-edge"
        assert str(app.wall.query_one("#wall-page").render()).startswith("rollouts · 50 of 50")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "just now"),
        (9.9, "just now"),
        (10, "10s ago"),
        (59, "50s ago"),
        (60, "1m ago"),
        (3599, "59m ago"),
        (3600, "1h 00m ago"),
        (7530, "2h 05m ago"),
        (-3, "just now"),
    ],
)
def test_a_tile_age_changes_at_most_every_ten_seconds(seconds: float, text: str) -> None:
    from widgets.formatting import coarse_age

    assert coarse_age(seconds) == text


async def test_80_columns_pager_and_title_fit_whole() -> None:
    app, clock = wall("fleet", cycle=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await clock.advance(2)
        await pilot.pause()
        page = str(app.wall.query_one("#wall-page").render())
        title = str(app.wall.query_one("#wall-title").render())
        assert page == "rollouts 6/50 · page 1/9 · every 30s"  # the compact form, not cut
        assert title.strip() == "READ-ONLY   sim · 5 namespaces · fleet"  # the scenario's name still shows
    app, clock = wall("fleet", cycle=30)
    async with app.run_test(size=(160, 50)) as pilot:
        await clock.advance(2)
        await pilot.pause()
        page = str(app.wall.query_one("#wall-page").render())
        assert page == "rollouts · 28 of 50 · page 1 of 2 · next every 30s"
        assert "accounts,media,payments,search,shop · fleet" in str(app.wall.query_one("#wall-title").render())
