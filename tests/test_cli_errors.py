"""Bad input: one sentence on stderr, exit 2. A crash: one sentence, a saved traceback, exit 70. No traceback shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], tmp_path: Path, *, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIFTROOM_CONFIG": "", "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)}
    for name in ("SHIFTROOM_PROMETHEUS_URL", "SHIFTROOM_REDIS_URL", "SHIFTROOM_THEME"):
        env.pop(name, None)
    script = code or "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )


def assert_one_sentence(proc: subprocess.CompletedProcess[str], *fragments: str, code: int = 2) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["demo", "--redis", "garbage"], ["--redis", "must start with redis://", "'garbage'"]),
        (["demo", "--redis", "redis://127.0.0.1:abc"], ["--redis", "port is not a number"]),
        (["demo", "--redis", "redis://127.0.0.1:6379/notadb"], ["database 'notadb', which is not a number"]),
        (["demo", "--redis", "redis://:6379/0"], ["has no host"]),
        (["demo", "--metrics-port", "99999"], ["--metrics-port", "from 1 to 65535"]),
        (["demo", "--metrics-port", "http"], ["--metrics-port", "not a port number"]),
        (["demo", "--prometheus", "http://[::1"], ["--prometheus", "is not a valid URL"]),
        (["demo", "--prometheus", "http://"], ["--prometheus", "has no host"]),
        (["demo", "--prometheus", "prom:9090"], ["--prometheus", "must start with http:// or https://"]),
        (["audit", "--limit", "-5"], ["--limit must be 1 or more, not -5"]),
        (["audit", "--limit", "0", "--redis", "redis://127.0.0.1:1/0"], ["--limit must be 1 or more"]),
        (["audit", "--redis", "redis://h:1/x"], ["database 'x'"]),
        (["demo", "--scenario", "no-such-scenario"], ["no scenario named 'no-such-scenario'"]),
        (["demo", "--redis", "garbage\x1b]0;pwned\x07"], ["\\x1b]0;pwned\\x07"]),  # the echo is sanitized too
    ],
)
def test_bad_command_line_values(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    proc = run_cli(args, tmp_path)
    assert_one_sentence(proc, *fragments)
    assert "\x1b" not in proc.stderr


def test_cli_and_config_use_the_same_url_check(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("redis:\n  url: redis://127.0.0.1:6379/notadb\n")
    from_file = run_cli(["demo", "--config", str(tmp_path / "c.yaml")], tmp_path)
    from_flag = run_cli(["demo", "--redis", "redis://127.0.0.1:6379/notadb"], tmp_path)
    assert_one_sentence(from_file, "c.yaml:2", "field 'redis.url'")
    assert_one_sentence(from_flag, "--redis")
    reason = "names database 'notadb', which is not a number"
    assert reason in from_file.stderr and reason in from_flag.stderr


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"read_only: false\ntheme: neon\n", ["c.yaml:2", "no theme 'neon'", "dark"]),
        (b"keymap:\n  no-such-binding: x\n", ["c.yaml:2", "no key binding with id 'no-such-binding'"]),
        (b"keymap:\n  editor-save: ctrl+\n", ["c.yaml:2", "'ctrl+' is not a key"]),
        (b"keymap:\n  editor-save: hyper+space+s\n", ["c.yaml:2", "unknown modifier 'space'"]),
        (b"\x00\x01\x02binary\xff", ["c.yaml", "binary"]),
        (b"theme: dark\nnotify:\n  webhook_url: caf\xe9\n", ["c.yaml:3", "not UTF-8 at byte"]),
        (b"\xff\xfetheme: dark\n", ["c.yaml", "byte-order mark"]),
        (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", ["c.yaml:1", "nested deeper than 64 levels"]),
        (b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 1200)), ["c.yaml", "nested deeper than 64"]),
        (b"theme: [unclosed\n", ["c.yaml:", "does not parse"]),
    ],
    ids=[
        "theme",
        "keymap-id",
        "key-empty",
        "key-modifier",
        "binary",
        "latin1",
        "utf16",
        "deep-flow",
        "deep-block",
        "unparsable",
    ],
)
def test_bad_config_files(content: bytes, fragments: list[str], tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_bytes(content)
    proc = run_cli(["demo", "--headless", "--duration", "1", "--config", str(tmp_path / "c.yaml")], tmp_path)
    assert_one_sentence(proc, *fragments)


def test_a_valid_keymap_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text('keymap:\n  editor-save: "ctrl+s,f5,question_mark"\n')
    proc = run_cli(["demo", "--headless", "--duration", "1", "--config", str(tmp_path / "c.yaml")], tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"name: x\nrps:\n  frontend: -10\n", ["s.yaml:3", "rps.frontend", "greater than or equal to 0"]),
        (b"name: x\nrps: {frontend: .nan}\n", ["s.yaml:2", "rps.frontend", "finite number"]),
        (b"name: x\nduration: .inf\n", ["s.yaml:2", "duration", "finite number"]),
        (b"\x00\x00\x00", ["s.yaml", "binary"]),
        (b"name: caf\xe9\n", ["s.yaml:1", "not UTF-8 at byte 9"]),
        (b"events: " + b"[" * 3000 + b"]" * 3000 + b"\n", ["s.yaml:1", "nested deeper than 64 levels"]),
    ],
    ids=["rps-negative", "rps-nan", "duration-inf", "binary", "latin1", "deep"],
)
def test_bad_scenario_files(content: bytes, fragments: list[str], tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_bytes(content)
    proc = run_cli(["demo", "--headless", "--scenario", str(tmp_path / "s.yaml")], tmp_path)
    assert_one_sentence(proc, *fragments)


CRASH_IN_CLI = """
import sys
import app.cli
def boom(*args):
    raise KeyError("boom outside the app")
app.cli._demo = app.cli._open_demo = boom  # with a config to read first, or straight to the opening
sys.exit(app.cli.main(["demo"]))
"""

CRASH_IN_BUILD = """
import sys
from textual.app import App
import app.factory, app.room
run = App.run
app.room.ShiftroomApp.run = lambda self, **kw: run(self, headless=True, **kw)
def boom(*args, **kwargs):
    raise RuntimeError("boom building the world")
app.factory.make_demo = boom  # built after the opening's frame, inside the app
sys.exit(__import__("app.cli").cli.main(["demo"]))
"""

CRASH_IN_APP = """
import sys
from textual.app import App
import app.room
run = App.run
app.room.ShiftroomApp.run = lambda self, **kw: run(self, headless=True, **kw)
def boom(self, message):
    raise RuntimeError("boom inside the app")
app.room.ShiftroomApp.on_state_updated = boom
sys.exit(__import__("app.cli").cli.main(["demo", "--speed", "50"]))
"""


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        (CRASH_IN_CLI, "boom outside the app"),
        (CRASH_IN_APP, "boom inside the app"),
        (CRASH_IN_BUILD, "boom building the world"),
    ],
)
def test_a_crash_exits_non_zero_with_a_sentence_and_a_saved_traceback(code: str, detail: str, tmp_path: Path) -> None:
    proc = run_cli([], tmp_path, code=code)
    assert_one_sentence(proc, "internal error", detail, "the traceback is in", code=70)
    path = Path(proc.stderr.split("the traceback is in ", 1)[1].split(". Please", 1)[0])
    assert path.is_file() and path.is_relative_to(tmp_path / "state" / "shiftroom")
    saved = path.read_text()
    assert "Traceback (most recent call last)" in saved and detail in saved
