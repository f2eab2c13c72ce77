"""A spool replay killed between the Redis write and the local mark delivers nothing twice afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.clock import EPOCH, VirtualClock
from app.control.audit_spool import Spool
from app.control.audit_trail import AuditTrail
from app.model import AuditEvent
from backends.redis import RedisAudit
from backends.redis import audit as redis_audit
from backends.redis.audit import read_audit
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
KEY = b"0123456789abcdef-test-key"

# A replay in its own process, SIGKILLed right after the Nth entry's write returned (argv[4]): the spool file
# is never marked, exactly as when a room dies at that instant.
KILLED_REPLAY = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from app.control.audit_spool import Spool
    from app.control.audit_trail import AuditTrail
    from app.clock import VirtualClock
    from backends.redis import RedisAudit

    async def main() -> None:
        audit = RedisAudit(sys.argv[1], key=sys.argv[3].encode() or None)
        trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=Path(sys.argv[2]))
        delivered = 0

        async def deliver_then_die(event, uid):
            nonlocal delivered
            await trail._deliver_once(event, uid)
            delivered += 1
            if delivered == int(sys.argv[4]):
                os.kill(os.getpid(), signal.SIGKILL)

        await trail.spool.replay(deliver_then_die)

    asyncio.run(main())
    """
)


def event(i: int) -> AuditEvent:
    return AuditEvent(t=EPOCH + i, actor="shiftroom@host#1", target="prod/checkout", action="step", reason=f"d{i}")


@pytest.mark.parametrize("written", [2, 5], ids=["killed-after-two-writes", "killed-after-every-write"])
@pytest.mark.parametrize("key", [b"", KEY], ids=["unsigned", "signed"])
async def test_a_replay_killed_after_a_write_delivers_each_entry_exactly_once(
    redis_server: RedisServer, tmp_path: Path, key: bytes, written: int
) -> None:
    Spool(RedisAudit(redis_server.url).destination, tmp_path).append([event(i) for i in range(5)])
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_REPLAY, redis_server.url, str(tmp_path), key.decode(), str(written)],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-500:]
    audit = RedisAudit(redis_server.url, key=key or None)
    try:
        assert [e.reason for e in await audit.recent()] == [f"d{i}" for i in range(written)], "written, then killed"
        trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
        assert trail.spool.pending() == 5, "the spool was never marked: all five still on disk"
        await trail.flush()
        stored = await audit.recent()
        assert [e.reason for e in stored] == [f"d{i}" for i in range(5)], "each once, in order"
        assert [e.t for e in stored] == [EPOCH + i for i in range(5)], "with their original times"
        assert trail.spool.pending() == 0
        await trail.flush()
        assert len(await audit.recent()) == 5
    finally:
        await audit.aclose()
    if key:
        checked = await read_audit(redis_server.url, key=key)
        assert [c.problem for c in checked] == [""] * 5, "the chain still verifies"
        key_file = tmp_path / "audit.key"
        key_file.write_bytes(key + b"\n")
        config = tmp_path / "shiftroom.yaml"
        config.write_text(f"audit:\n  key_file: {key_file}\n")
        verified = shiftroom("audit", "--verify", "--redis", redis_server.url, config=config)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        lines = verified.stdout.splitlines()
        assert len(lines) == 5 and all(line.startswith("ok ") for line in lines), lines


def shiftroom(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with `config` as its shiftroom.yaml."""
    env = {**os.environ, "SHIFTROOM_CONFIG": str(config)}
    env.pop("SHIFTROOM_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env=env,
    )


async def test_delivered_ids_are_kept_for_the_retention_then_trimmed(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_audit, "DELIVERED_KEEP", 0.5)
    audit = RedisAudit(redis_server.url)
    raw = redis_server.client()
    try:
        assert await audit.append_once(event(0), "id-a") is True
        assert await audit.append_once(event(0), "id-a") is False, "within the retention: written once"
        time.sleep(0.7)
        assert await audit.append_once(event(1), "id-b") is True
        assert raw.zrange("shiftroom:audit:delivered", 0, -1) == [b"id-b"], "older ids trimmed: the set is bounded"
        assert [e.reason for e in await audit.recent()] == ["d0", "d1"]
    finally:
        await audit.aclose()
        raw.close()


async def test_spooled_lines_without_a_delivery_id_are_still_delivered_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A spool left by an earlier version (no `_uid`): the line's hash is its id."""
    spool = Spool(RedisAudit(redis_server.url).destination, tmp_path)
    spool.path.parent.mkdir(parents=True, exist_ok=True)
    spool.path.write_text('{"t": "1700000000.0", "actor": "a@h", "target": "x/y", "action": "step"}\n')
    audit = RedisAudit(redis_server.url)
    try:
        trail = AuditTrail(audit, clock=VirtualClock(), spool_dir=tmp_path)
        trail.spool.pending()
        await trail.flush()
        spool.path.write_text('{"t": "1700000000.0", "actor": "a@h", "target": "x/y", "action": "step"}\n')
        trail.spool.pending()
        await trail.flush()
        assert [e.action for e in await audit.recent()] == ["step"]
    finally:
        await audit.aclose()
