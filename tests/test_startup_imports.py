"""What `shiftroom demo` imports before its first frame: nothing the first frame does not show.

Every import is paid before the room paints (see bench/first_frame.py). With nothing to validate
first, `shiftroom demo` paints its opening (app/screens/opening.py: the header, the tabs and the
scenario's targets by name) before the engine, the simulator, the config's models and pydantic are
imported; with a config file or backend flags it reads and checks them first, and still leaves out
the room's other backends, the browser server, the charts and the editors. Both are checked here in
a fresh interpreter, exactly as `shiftroom demo` runs up to `App.run`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from app import yamlfile

ROOT = Path(__file__).resolve().parent.parent

#: Modules the demo's first frame has no use for.
NOT_BEFORE_FIRST_FRAME = (
    "numpy",
    "scipy",
    "kubernetes_asyncio",
    "textual_plotext",
    "plotext",
    "textual_serve",
    "redis",
    "httpx",
    "prometheus_client",
    "aiohttp",
    "hypothesis",
    "backends.kubernetes",
    "backends.redis",
    "backends.promql",
    "app.live",
    "app.wall",
    "app.screens.flag_editor",
    "app.screens.charts",
    "widgets.uplift_plot",  # the experiments tab's plots: drawn when an experiment is first shown
)

#: The demo's path up to the first frame: parse the command line, load the scenario and build
#: the app (`app.cli._demo` without `run_app`, on the default config: no file is read).
DEMO_PATH = """
import json, sys
from app import cli
args = cli.build_parser().parse_args(["demo"])
import app.config, themes
from backends.sim.scenario import load_scenario
load_scenario("release-day")
from app.factory import RoomOptions, make_app
make_app(RoomOptions())
print(json.dumps(sorted(sys.modules)))
"""


#: The opening's path: parse, read the roster, build the app that paints the opening (no engine yet).
OPENING_PATH = """
import json, os, sys
os.environ["SHIFTROOM_CONFIG"] = ""  # no file, whatever the machine has
from app import cli
args = cli.build_parser(only_demo=True).parse_args(["demo"])  # as cli._main parses `shiftroom demo …`
opening = cli._opening(args)
assert opening is not None and opening.rows
from app.room import ShiftroomApp
ShiftroomApp.opening(opening, lambda: None)
print(json.dumps(sorted(sys.modules)))
"""

#: Modules the opening has no use for: what builds and drives the room, after its first frame.
NOT_BEFORE_THE_OPENING = (
    *NOT_BEFORE_FIRST_FRAME,
    "pydantic",
    "app.model",
    "app.config",
    "app.control.engine",
    "app.factory",
    "backends.sim.build",
    "backends.sim.scenario",
    "app.screens.main",
    "app.cli_verbs",  # the pipeline verbs' parsers: not built for `shiftroom demo`
    "app.cli_store",
    "widgets.detail",
    "widgets.event_log",
)


def demo_modules(path: str = DEMO_PATH) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", path],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


def test_the_demo_builds_its_app_without_what_the_first_frame_does_not_show() -> None:
    modules = demo_modules()
    assert "app.room" in modules and "app.control.engine" in modules  # the path was really taken
    loaded = [name for name in NOT_BEFORE_FIRST_FRAME if name in modules]
    assert loaded == [], f"imported before the first frame: {', '.join(loaded)}"


def test_the_opening_is_painted_before_the_engine_and_its_models_are_imported() -> None:
    modules = demo_modules(OPENING_PATH)
    assert "app.screens.opening" in modules and "backends.sim.roster" in modules  # the path was really taken
    loaded = [name for name in NOT_BEFORE_THE_OPENING if name in modules]
    assert loaded == [], f"imported before the opening: {', '.join(loaded)}"


def test_yaml_files_are_read_with_libyaml_when_pyyaml_has_it() -> None:
    """A scenario is read before the first frame; the pure-Python loader is about thirty times slower."""
    if yaml.__with_libyaml__:
        assert yamlfile._LOADER is yaml.CSafeLoader
    else:
        assert yamlfile._LOADER is yaml.SafeLoader
