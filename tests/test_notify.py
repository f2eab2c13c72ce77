"""Rollbacks reach the notification webhooks (real HTTP on loopback); a broken one never stops them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import VirtualClock
from app.config import NotifyConfig
from app.factory import RoomOptions, make_demo
from app.model import HealthStatus, Phase
from tests.control_world import CANARY, rollout, run_until, scenario_file
from tests.hook_server import HookServer
from tests.test_control_canary import BAD


@pytest.fixture
def server(hook_server: HookServer) -> HookServer:
    return hook_server


def bad_demo(tmp_path: Path, notify: NotifyConfig):
    options = RoomOptions(scenario=scenario_file(tmp_path, BAD), virtual=True, actor="t@h", notify=notify)
    return make_demo(options, VirtualClock())


async def test_a_rollback_is_sent_to_slack_and_to_the_json_webhook(tmp_path: Path, server: HookServer) -> None:
    d = bad_demo(tmp_path, NotifyConfig(slack_webhook_url=server.url("slack"), webhook_url=server.url("json")))
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED)
        await d.engine.idle()
        await d.engine.outbox.drain()  # notifications go out off the pass
        await d.engine.run_pass()
        slack = server.bodies("slack")
        assert len(slack) == 1 and "*rollback* on `microservices/microservices-canary`" in slack[0]["text"]
        assert "failed checks 5/5" in slack[0]["text"]
        assert [b["action"] for b in server.bodies("json")] == ["rollback"], "warnings are not paged"
        body = server.bodies("json")[0]
        assert body["after"]["weights"] == "100/0" and body["actor"] == d.engine.identity
    finally:
        await d.engine.stop()


async def test_a_failing_notifier_is_shown_and_the_rollback_happens_anyway(tmp_path: Path, server: HookServer) -> None:
    server.status["slack"] = 500
    d = bad_demo(tmp_path, NotifyConfig(slack_webhook_url=server.url("slack")))
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED)
        await d.engine.idle()
        await d.engine.outbox.drain()  # notifications go out off the pass
        await d.engine.run_pass()
        notify = next(h for h in d.engine.state.health if h.name == "notify")
        assert notify.status is HealthStatus.DOWN and "HTTP 500" in notify.reason
        assert rollout(d, CANARY).actual.canary == 0
    finally:
        await d.engine.stop()
