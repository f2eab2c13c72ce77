"""The room's first frame before its engine exists (app/screens/opening.py), and the room that replaces it.

`shiftroom demo` paints the scenario's targets by name from backends/sim/roster.py, then builds the
engine. What the opening says must be what the room says a moment later: the same targets in the
same order, the same header, the same layout.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.clock import EPOCH, VirtualClock
from app.factory import RoomOptions, make_demo
from app.model import Mode
from app.room import ShiftroomApp
from app.screens.main import MainScreen
from app.screens.opening import Opening, OpeningScreen
from backends.sim.build import build_world
from backends.sim.defaults import DEFAULT_TARGETS
from backends.sim.roster import DEFAULT_ROSTER, roster
from backends.sim.scenario import list_scenarios, load_scenario
from widgets.header import RoomHeader
from widgets.rollouts_table import RolloutsTable

WIDE = (160, 45)
NARROW = (80, 24)
WALL = EPOCH + 3600.0


@pytest.mark.parametrize("name", [n for n, _ in list_scenarios()])
def test_the_roster_of_every_builtin_scenario_is_the_world_s_targets_in_order(name: str) -> None:
    found = roster(name)
    assert found is not None
    scenario = load_scenario(name)
    world = build_world(scenario, VirtualClock())
    expected = [(t.namespace, t.name, t.strategy, t.production) for t in world.targets]
    assert [(r.namespace, r.name, r.strategy, r.production) for r in found.rows] == expected
    engine = make_demo(RoomOptions(scenario=name, virtual=True)).engine
    assert (found.scenario, found.namespace) == (engine.state.scenario, engine.state.namespace)


def test_the_default_roster_is_the_default_targets() -> None:
    assert [(r.namespace, r.name, r.strategy, r.production) for r in DEFAULT_ROSTER] == [
        (t.namespace, t.name, t.strategy, t.production) for t in DEFAULT_TARGETS
    ]


def test_a_name_that_is_no_builtin_scenario_has_no_roster(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("targets: [{namespace: shop}]\n", encoding="utf-8")  # no name: the validating load says so
    assert roster("no-such-scenario") is None
    assert roster(str(broken)) is None  # a path is validated first, whatever it holds
    assert roster("../scenarios/release-day") is None


def _args(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["demo", *argv])


@pytest.fixture
def no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory and environment with no shiftroom.yaml and no settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("SHIFTROOM_CONFIG", "SHIFTROOM_PROMETHEUS_URL", "SHIFTROOM_REDIS_URL", "SHIFTROOM_THEME"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_demo_with_nothing_to_validate_opens_with_its_roster(no_config: Path) -> None:
    opening = cli._opening(_args("--scenario", "fleet", "--read-only"))
    assert opening is not None
    assert len(opening.rows) == 50 and opening.scenario == "fleet"
    assert opening.mode is Mode.READ_ONLY and opening.read_only


@pytest.mark.parametrize(
    "argv",
    [
        ("--headless",),
        ("--redis", "redis://127.0.0.1:1"),
        ("--prometheus", "http://127.0.0.1:1"),
        ("--metrics-port", "9999"),
        ("--scenario", "no-such-scenario"),
        ("--config", "elsewhere.yaml"),
    ],
)
def test_anything_to_validate_first_takes_the_validating_path(no_config: Path, argv: tuple[str, ...]) -> None:
    assert cli._opening(_args(*argv)) is None


def test_a_config_file_or_a_backend_from_the_environment_is_read_first(
    no_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_config / "shiftroom.yaml").write_text("theme: light\n", encoding="utf-8")
    assert cli._opening(_args()) is None
    (no_config / "shiftroom.yaml").unlink()
    monkeypatch.setenv("SHIFTROOM_REDIS_URL", "redis://127.0.0.1:1")
    assert cli._opening(_args()) is None
    monkeypatch.delenv("SHIFTROOM_REDIS_URL")
    monkeypatch.setenv("SHIFTROOM_THEME", "light")  # only the theme: known without reading anything
    assert cli._opening(_args()) is not None


def opening_app(scenario: str = "release-day", build: Any = None) -> tuple[ShiftroomApp, list[Any]]:
    found = roster(scenario)
    assert found is not None
    opening = Opening(rows=found.rows, namespace=found.namespace, scenario=found.scenario, t=WALL)
    built: list[Any] = []

    def make_engine() -> Any:
        engine = make_demo(RoomOptions(scenario=scenario, virtual=True)).engine
        built.append(engine)
        return engine

    app = ShiftroomApp.opening(opening, build or make_engine, wall_clock=lambda: WALL)
    app.animation_level = "none"
    return app, built


def _texts(header: RoomHeader) -> list[str]:
    return [str(header.query_one(f".{part}").content) for part in ("context", "mode", "scenario")]  # type: ignore[attr-defined]


async def test_the_opening_shows_the_targets_then_the_room_takes_its_place() -> None:
    app, built = opening_app()
    async with app.run_test(size=WIDE) as pilot:
        opening = app.screen_stack[0]
        assert isinstance(opening, OpeningScreen)
        first_rows = opening.query_one(RolloutsTable).shown_keys
        first_header = _texts(opening.query_one(RoomHeader))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert built and app.engine is built[0]
        assert isinstance(app.screen, MainScreen) and app.main_screen is app.screen
        table = app.screen.query_one(RolloutsTable)
        assert first_rows == ["microservices/frontend", "microservices/microservices-canary"]
        assert table.shown_keys == first_rows  # the same targets, in the same order
        assert _texts(app.screen.query_one(RoomHeader)) == first_header
        assert table.has_focus
        assert all("…" not in str(cells) for cells in table.get_row_at(0))  # the phases came in


async def test_the_opening_at_80_columns_is_laid_out_as_the_room() -> None:
    app, _ = opening_app("fleet")
    async with app.run_test(size=NARROW) as pilot:
        opening = app.screen_stack[0]
        region = opening.query_one(RolloutsTable).region
        assert len(opening.query_one(RolloutsTable).shown_keys) == 50  # the compact columns kept the roster
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one(RolloutsTable).region == region


async def test_a_build_that_fails_ends_the_app_with_its_error() -> None:
    def broken() -> Any:
        raise RuntimeError("the world would not build")

    app, _ = opening_app(build=broken)
    with pytest.raises(RuntimeError, match="would not build"):
        async with app.run_test(size=WIDE) as pilot:
            await pilot.pause()
    assert isinstance(app._exception, RuntimeError)  # run_app turns it into one sentence and exit 70


def test_an_app_takes_an_engine_or_an_opening_and_a_build() -> None:
    found = roster("release-day")
    assert found is not None
    with pytest.raises(TypeError):
        ShiftroomApp()
    with pytest.raises(TypeError):
        ShiftroomApp(opening=Opening(rows=found.rows))  # no build


def test_only_quitting_works_until_the_room_s_screen_is_up() -> None:
    """A palette opened during the opening would end up under the room's screen, so it does not open."""
    app, _ = opening_app()
    assert app.check_action("command_palette", ()) is False
    assert app.check_action("quit", ()) is True
    room = ShiftroomApp(make_demo(RoomOptions(virtual=True)).engine)
    room.get_default_screen()
    assert room.check_action("command_palette", ()) is True


@pytest.mark.parametrize(
    "argv",
    [
        ["demo"],
        ["demo", "--scenario", "fleet", "--speed", "2", "--read-only", "--theme", "wall"],
        ["demo", "--headless", "--until-settled", "--json", "--seed", "7"],
        ["demo", "--redis", "redis://127.0.0.1:1/0", "--prometheus", "http://127.0.0.1:1", "--config", "x.yaml"],
    ],
)
def test_the_demo_only_parser_reads_a_demo_line_as_the_whole_parser_does(argv: list[str]) -> None:
    from app.cli import build_parser

    assert build_parser(only_demo=True).parse_args(argv) == build_parser().parse_args(argv)


async def test_a_hang_up_while_the_room_s_screen_mounts_closes_the_room_without_a_crash() -> None:
    """The hang-up watchdog calls `app.exit` from its thread; landing while the room's screen was still
    mounting, it took the header apart under its own on_mount (exit 70). It now waits for the screen."""
    import threading

    app: ShiftroomApp | None = None

    def build() -> Any:
        assert app is not None
        exiting = app
        # The watchdog's call: it runs on the loop as soon as the build gives the loop back.
        threading.Thread(target=lambda: exiting.call_from_thread(exiting.exit), daemon=True).start()
        time.sleep(0.2)  # the thread is waiting on the loop when the build returns
        return make_demo(RoomOptions(scenario="release-day", virtual=True)).engine

    app, _ = opening_app(build=build)
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(40):
            if not app.is_running:
                break
            await pilot.pause(0.05)
    assert app._exception is None and app.return_code == 0
    assert not app.is_running and app.main_screen is not None  # the room's screen had come up whole first
