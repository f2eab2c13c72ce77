"""The verbs as a pipeline runs them: a subprocess, its exit code and its output, with and without a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.test_cli import ROOT, shiftroom


def test_the_pipeline_step_waits_on_bad_canary_and_fails() -> None:
    done = shiftroom("wait", "microservices-canary", "--until", "Succeeded", "--demo", "bad-canary")
    assert done.returncode == 1, done.stderr
    assert done.stdout.count("\n") == 1  # nothing but the result without a terminal
    assert done.stdout.startswith("microservices/microservices-canary ended Failed while waiting for Succeeded")
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    assert done.stderr == ""


def test_every_exit_code_from_a_subprocess(tmp_path: Path) -> None:
    down = tmp_path / "down.yaml"
    down.write_text("name: down\nevents:\n  - at: 0\n    cluster: down\n")
    cases = [
        (0, ["wait", "microservices-canary", "--until", "Failed", "--demo", "bad-canary"]),
        (3, ["wait", "frontend", "--until", "Succeeded", "--timeout", "1m", "--demo", "bad-canary"]),
        (2, ["promote", "microservices-canary", "--reason", "r", "--demo", "bad-canary", "--at", "60"]),
        (0, ["promote", "microservices-canary", "--reason", "r", "--yes", "--demo", "bad-canary", "--at", "60"]),
        (1, ["step", "frontend", "--reason", "r", "--demo", "bad-canary"]),
        (2, ["status", "nope", "--demo", "bad-canary"]),
        (4, ["status", "--demo", str(down)]),
    ]
    for code, argv in cases:
        done = shiftroom(*argv)
        assert done.returncode == code, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr


def test_json_is_one_object_per_line() -> None:
    done = shiftroom("status", "--demo", "release-day", "--json")
    assert done.returncode == 0
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(objects) == 2 and all(o["kind"] == "status" for o in objects)


def test_wait_on_a_terminal_shows_progress_then_the_result() -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "wait",
            "microservices-canary",
            "--until",
            "Succeeded",
            "--demo",
            "bad-canary",
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 1
    os.close(leader)
    text = b"".join(chunks).decode()
    assert "\r\x1b[K" in text  # redrawn in place
    assert "weight 20%" in text and "step 2/6" in text and "failed checks 3/5" in text and " left" in text
    assert (
        text.rstrip()
        .splitlines()[-1]
        .split("\x1b[K")[-1]
        .startswith("microservices/microservices-canary ended Failed while waiting for Succeeded")
    )
