"""`shiftroom serve`: loopback unless read-only, and a real headless Chromium shows the room and the wall."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from app.verbs.serve import Refused, ServeOptions, check, command, loopback
from tests.browser import Chromium
from tests.servers.binaries import free_port, require_binary
from tests.test_cli import ROOT, shiftroom


def test_only_loopback_unless_read_only() -> None:
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost") and loopback("127.0.0.2")
    assert not loopback("0.0.0.0") and not loopback("192.168.1.4") and not loopback("wall.example")
    check(ServeOptions(host="127.0.0.1"))
    check(ServeOptions(host="0.0.0.0", watch=True))
    check(ServeOptions(host="0.0.0.0", read_only=True))
    with pytest.raises(Refused, match="textual-serve has no authentication"):
        check(ServeOptions(host="0.0.0.0"))


def test_refusal_is_one_sentence_and_exit_2() -> None:
    done = shiftroom("serve", "--host", "0.0.0.0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("shiftroom: refusing to serve a room that can act on 0.0.0.0")
    assert done.stderr.count("\n") == 1


def test_each_tab_runs_the_right_command() -> None:
    assert command(ServeOptions(watch=True))[-3:] == ["watch", "--demo", "loop"]
    assert command(ServeOptions(read_only=True, scenario="bad-canary"))[-4:] == [
        "demo",
        "--scenario",
        "bad-canary",
        "--read-only",
    ]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"shiftroom serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"shiftroom serve did not listen on 127.0.0.1:{port}")


@pytest.fixture
def chromium() -> str:
    return require_binary("chromium", "chromium")


def _serve(*argv: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *argv],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SHIFTROOM_CONFIG": ""},
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc)
        yield port
    finally:
        os.killpg(proc.pid, 15)  # the server and the room process each tab started
        proc.wait(timeout=15)


@pytest.fixture
def wall_server() -> Iterator[int]:
    yield from _serve("--watch", "--demo", "healthy-canary")


@pytest.fixture
def room_server() -> Iterator[int]:
    yield from _serve("--demo", "healthy-canary")


async def test_a_browser_shows_the_wall(chromium: str, wall_server: int) -> None:
    async with Chromium(chromium) as browser:
        text = await browser.terminal_text(
            f"http://127.0.0.1:{wall_server}/", re.compile(r"microservices-canary[\s\S]*(PROGRESSING|SUCCEEDED)")
        )
    assert "SHIFTROOM WATCH" in text and "READ-ONLY" in text
    assert "frontend" in text and re.search(r"INITIALIZED|PROGRESSING|SUCCEEDED", text)


async def test_a_browser_shows_the_room(chromium: str, room_server: int) -> None:
    async with Chromium(chromium) as browser:
        text = await browser.terminal_text(
            f"http://127.0.0.1:{room_server}/", re.compile(r"microservices-canary[\s\S]*(Progressing|Succeeded)")
        )
    assert "frontend" in text and ("Initialized" in text or "Succeeded" in text)
