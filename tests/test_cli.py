"""The command line as a user meets it: real processes, exit codes, one sentence on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shiftroom(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def one_sentence(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    assert "Traceback" not in text
    return lines[0]


def test_version() -> None:
    out = shiftroom("--version")
    assert out.returncode == 0 and out.stdout.startswith("shiftroom ")


def test_scenarios_lists_every_builtin() -> None:
    out = shiftroom("scenarios")
    assert out.returncode == 0
    names = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert {
        "healthy-canary",
        "bad-canary",
        "latency-regression",
        "blue-green",
        "metrics-outage",
        "release-day",
    } <= names


def test_unknown_scenario_is_one_sentence_and_exit_2() -> None:
    out = shiftroom("demo", "--scenario", "no-such-thing", "--headless")
    assert out.returncode == 2
    line = one_sentence(out.stderr)
    assert "no-such-thing" in line and "bad-canary" in line, "names the known scenarios"


def test_malformed_scenario_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nevents:\n  - at: soon\n    note: hi\n")
    out = shiftroom("demo", "--scenario", str(bad), "--headless")
    assert out.returncode == 2
    line = one_sentence(out.stderr)
    assert "mine.yaml:3" in line and "events[0].at" in line


def test_yaml_syntax_error_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n")
    out = shiftroom("demo", "--scenario", str(bad))
    assert out.returncode == 2
    assert "broken.yaml" in one_sentence(out.stderr)


def test_bad_arguments_are_one_sentence_and_exit_2() -> None:
    for args in (
        ("demo", "--speed", "fast"),
        ("demo", "--speed", "-1"),
        ("demo", "--theme", "neon"),
        ("frobnicate",),
        ("demo", "--bogus"),
    ):
        out = shiftroom(*args)
        assert out.returncode == 2, args
        one_sentence(out.stderr)


def test_headless_bad_canary_ends_failed_with_the_rollback_at_the_threshold_tick() -> None:
    out = shiftroom("demo", "--scenario", "bad-canary", "--headless", "--until-settled", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["targets"]["microservices/microservices-canary"]["phase"] == "Failed"
    timeline = [e for e in result["timeline"] if e["target"] == "microservices/microservices-canary"]
    fails = [e["t"] for e in timeline if e["action"] == "check-failed"]
    rollback = [e for e in timeline if e["action"] == "rollback"]
    assert len(rollback) == 1 and rollback[0]["weights"] == "100/0"
    assert len(fails) == 4, "threshold 5: four failures, the fifth tick rolls back"
    assert rollback[0]["t"] - fails[-1] == 30.0
    assert set(timeline[0]) >= {"t", "target", "action", "weights", "reason"}
