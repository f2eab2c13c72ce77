"""`shiftroom flags`, `shiftroom experiments`, `flags kill/restore` and `audit --verify`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.redis import RedisServer
from tests.test_cli import ROOT, one_sentence


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SHIFTROOM_CONFIG": "", **(env or {})}
    full.pop("SHIFTROOM_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env=full,
    )


def test_flags_and_experiments_list_the_simulators_store() -> None:
    out = run("flags", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["name"] for r in rows} == {"new-product-design", "ai-recommendations"} and all(r["valid"] for r in rows)
    out = run("experiments")
    assert out.returncode == 0, out.stderr
    assert "checkout-flow-redesign" in out.stdout and "valid" in out.stdout


@pytest.mark.integration
def test_every_stored_object_is_listed_with_its_reason_and_kill_restore_round_trip(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    raw = redis_server.client()
    raw.set("feature:good", b'{"enabled":true,"percentage":20}')
    raw.set("feature:with:colon", b'{"enabled":true, "owner":"\x1b]0;pwned\x07"}')
    raw.set("feature:deep", b"[" * 2000 + b"]" * 2000)
    raw.hset("feature:a-hash", mapping={"x": "1"})
    raw.set("experiment:broken", b"{")
    out = run("flags", "--json", "--redis", redis_server.url)
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert set(rows) == {"good", "with:colon", "deep", "a-hash"}
    assert rows["good"]["valid"] and not rows["deep"]["valid"] and "hash" in rows["a-hash"]["error"]
    lines = run("flags", "--redis", redis_server.url).stdout
    assert "INVALID" in lines and "\x1b" not in lines
    out = run("experiments", "--json", "--redis", redis_server.url)
    assert [(r["name"], r["valid"]) for r in json.loads(out.stdout)] == [("broken", False)]

    refused = run("flags", "kill", "with:colon", "--reason", "incident", "--redis", redis_server.url)
    assert refused.returncode == 2 and "--yes" in one_sentence(refused.stderr)
    killed = run("flags", "kill", "with:colon", "--reason", "incident", "--yes", "--redis", redis_server.url)
    assert killed.returncode == 0, killed.stderr
    assert "with:colon is off" in killed.stdout
    after = raw.get("feature:with:colon")
    assert b'"owner":"\x1b]0;pwned\x07"' in after and b'"killed":' in after
    entry = raw.xrevrange("shiftroom:audit", count=1)[0][1]
    assert entry[b"action"] == b"flag-kill" and b"@" in entry[b"actor"]
    restored = run("flags", "restore", "with:colon", "--yes", "--redis", redis_server.url)
    assert restored.returncode == 0, restored.stderr
    assert raw.get("feature:with:colon") == b'{"enabled":true, "owner":"\x1b]0;pwned\x07"}'
    missing = run("flags", "kill", "nope", "--reason", "x", "--yes", "--redis", redis_server.url)
    assert missing.returncode == 2 and "nope does not exist" in one_sentence(missing.stderr)
    raw.close()


@pytest.mark.integration
def test_audit_verify_marks_unsigned_entries_and_exits_1(redis_server: RedisServer, tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    key.write_text("a-long-enough-random-secret-0123456789\n")
    config = tmp_path / "shiftroom.yaml"
    config.write_text(f"audit:\n  key_file: {key}\n")
    env = {"SHIFTROOM_CONFIG": str(config)}
    raw = redis_server.client()
    raw.set("feature:f", b'{"enabled":true}')
    assert run("flags", "kill", "f", "--reason", "drill", "--yes", "--redis", redis_server.url, env=env).returncode == 0
    ok = run("audit", "--verify", "--redis", redis_server.url, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok ") and "flag-kill" in ok.stdout
    raw.xadd("shiftroom:audit", {"actor": "someone", "action": "flag-kill", "target": "flag/f"})
    bad = run("audit", "--verify", "--json", "--redis", redis_server.url, env=env)
    assert bad.returncode == 1
    assert [e["problem"] for e in json.loads(bad.stdout)] == ["", "unsigned"]
    nokey = run("audit", "--verify", "--redis", redis_server.url)
    assert nokey.returncode == 2 and "audit.key_file" in one_sentence(nokey.stderr)
    assert run("audit", "--limit", "-5", "--redis", redis_server.url).returncode == 2
    raw.close()
