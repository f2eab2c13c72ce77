"""`shiftroom audit` and `shiftroom experiments import` against a real redis-server."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

from app.model import AuditEvent
from backends.redis import RedisAudit, RedisStore
from tests.test_cli import one_sentence, shiftroom

CONFIGMAP = textwrap.dedent("""
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: ab-test-config, namespace: microservices}
    data:
      experiments.json: |
        {"checkout-flow-redesign": {"name": "Checkout Flow Redesign", "status": "active",
          "traffic_split": {"control": 50, "variant_a": 50},
          "metrics": {"primary": "conversion_rate"}, "duration_days": 14, "min_sample_size": 1000}}
""")


def test_audit_prints_the_stream_as_json_and_as_lines(redis_server) -> None:
    async def write() -> None:
        audit = RedisAudit(redis_server.url)
        for i in range(3):
            await audit.append(
                AuditEvent(
                    t=1767225600.0 + i,
                    actor="alice@desk",
                    target="microservices/api",
                    action="step",
                    reason=f"step {i}",
                    after={"weights": f"{90 - i}/{10 + i}"},
                )
            )
        await audit.aclose()

    asyncio.run(write())
    out = shiftroom("audit", "--redis", redis_server.url, "--json")
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)
    assert [e["reason"] for e in events] == ["step 0", "step 1", "step 2"]
    assert events[0]["actor"] == "alice@desk" and events[2]["after"] == {"weights": "88/12"}
    lines = shiftroom("audit", "--redis", redis_server.url, "--limit", "2").stdout.splitlines()
    assert len(lines) == 2 and "step 2" in lines[-1]


def test_experiments_import_writes_the_seed_layout(redis_server, tmp_path: Path) -> None:
    f = tmp_path / "ab-test-config.yaml"
    f.write_text(CONFIGMAP)
    out = shiftroom("experiments", "import", str(f), "--redis", redis_server.url)
    assert out.returncode == 0, out.stderr
    assert "checkout-flow-redesign: created" in out.stdout

    async def read() -> dict:
        store = RedisStore(redis_server.url)
        raw, _ = await store.get_experiment_raw("checkout-flow-redesign")
        await store.aclose()
        return raw

    assert asyncio.run(read())["traffic_split"] == {"control": 50, "variant_a": 50}
    again = shiftroom("experiments", "import", str(f), "--redis", redis_server.url)
    assert "checkout-flow-redesign: unchanged" in again.stdout


def test_redis_down_is_one_sentence(tmp_path: Path) -> None:
    out = shiftroom("audit", "--redis", "redis://127.0.0.1:1/0")
    assert out.returncode == 2
    line = one_sentence(out.stderr)
    assert "Redis" in line and "127.0.0.1:1" in line
