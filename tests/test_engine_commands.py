"""The command path: set operations, one preview per key press, stale confirmations refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.control.commands import RolloutCommand, Verb
from app.model import Phase
from tests.control_world import CANARY, FRONTEND, demo, rollout, run_until

HEALTHY = """
    name: t-healthy
    duration: 900
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""

BAD = """
    name: t-bad
    duration: 900
    behaviour:
      "microservices/api:1.5.0": {success_rate: 80}
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""


@pytest.fixture
async def healthy(tmp_path: Path):
    d = demo(tmp_path, HEALTHY)
    await d.engine.start()
    yield d
    await d.engine.stop()


async def test_resume_on_a_running_canary_does_not_pause_it(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10)
    assert not rollout(d, CANARY).paused
    preview = await d.engine.preview(RolloutCommand(Verb.RESUME, CANARY))
    assert preview.possible and "already running" in preview.lines[0]
    result = await d.engine.execute(RolloutCommand(Verb.RESUME, CANARY), confirmed=preview)
    assert result.ok and result.message == "microservices-canary is already running"
    assert not rollout(d, CANARY).paused, "resume never toggles"
    assert [e for e in d.engine.state.events if e.action in ("pause", "resume")] == []
    # pausing twice pauses once
    assert (await d.engine.execute(RolloutCommand(Verb.PAUSE, CANARY))).ok
    again = await d.engine.execute(RolloutCommand(Verb.PAUSE, CANARY))
    assert again.ok and "already paused" in again.message and rollout(d, CANARY).paused
    assert [e.action for e in d.engine.state.events if e.action in ("pause", "resume")] == ["pause"]


async def test_manual_and_auto_are_set_operations(healthy) -> None:
    d = healthy
    assert (await d.engine.execute(RolloutCommand(Verb.AUTO, CANARY))).message.endswith("automatic mode")
    assert rollout(d, CANARY).auto
    assert (await d.engine.execute(RolloutCommand(Verb.MANUAL, CANARY))).ok and not rollout(d, CANARY).auto
    assert not rollout(d, CANARY).auto
    assert "already in manual mode" in (await d.engine.execute(RolloutCommand(Verb.MANUAL, CANARY))).message


async def test_pause_on_a_failed_canary_says_why_it_does_not_apply(tmp_path: Path) -> None:
    d = demo(tmp_path, BAD)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED)
        preview = await d.engine.preview(RolloutCommand(Verb.PAUSE, CANARY))
        assert not preview.possible and preview.lines == (
            "microservices-canary is Failed: there is no analysis to pause",
        )
        result = await d.engine.execute(RolloutCommand(Verb.PAUSE, CANARY))
        assert not result.ok and "microservices-canary" in result.message and "no analysis to pause" in result.message
    finally:
        await d.engine.stop()


async def test_a_stale_confirmation_is_refused_and_returns_the_fresh_preview(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10)
    seen = await d.engine.preview(RolloutCommand(Verb.ABORT, CANARY))
    assert seen.destructive and seen.version
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 20, limit=60)  # the dialog stayed open
    result = await d.engine.execute(RolloutCommand(Verb.ABORT, CANARY), confirmed=seen)
    assert not result.ok and result.stale
    assert result.message.startswith("microservices/microservices-canary changed since the preview: ")
    assert "weight 10 → 20" in result.message and result.message.endswith("check the new preview")
    assert result.preview is not None and result.preview.version != seen.version
    assert "weights 80/20 → 100/0" in result.preview.lines
    assert rollout(d, CANARY).phase is Phase.PROGRESSING, "nothing was aborted"
    fresh = await d.engine.execute(RolloutCommand(Verb.ABORT, CANARY), confirmed=result.preview)
    assert fresh.ok and rollout(d, CANARY).phase is Phase.FAILED


async def test_a_preview_is_computed_once_per_key_press(healthy, monkeypatch) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10)
    ctl = d.engine.controllers[CANARY]
    calls = []
    original = ctl.commands.preview
    monkeypatch.setattr(ctl.commands, "preview", lambda cmd: calls.append(cmd) or original(cmd))
    preview = await d.engine.preview(RolloutCommand(Verb.STEP, CANARY))
    assert len(calls) == 1
    await d.engine.execute(RolloutCommand(Verb.STEP, CANARY), confirmed=preview)
    assert len(calls) == 2, "execute recomputes it once, to compare versions"


async def test_every_answer_names_its_target(healthy) -> None:
    d = healthy
    for verb in Verb:
        for key in (CANARY, FRONTEND):
            result = await d.engine.execute(RolloutCommand(verb, key))
            name = key.split("/")[1]
            assert name in result.message, (verb, key, result.message)
    unknown = await d.engine.execute(RolloutCommand(Verb.PAUSE, "nowhere/ghost"))
    assert not unknown.ok and "nowhere/ghost" in unknown.message


async def test_the_decision_stays_in_the_why_pane_when_the_mode_changes(healthy) -> None:
    d = healthy
    await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 20)
    decided = rollout(d, CANARY).decision
    assert decided == "all checks passed: canary weight 10% → 20%"
    await d.engine.execute(RolloutCommand(Verb.PAUSE, CANARY))
    await d.engine.execute(RolloutCommand(Verb.MANUAL, CANARY))
    r = rollout(d, CANARY)
    assert r.message == "manual mode set by alice@desk" and r.decision == decided


async def test_a_rollback_decision_carries_its_numbers(tmp_path: Path) -> None:
    d = demo(tmp_path, BAD)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.FAILED)
        assert rollout(d, CANARY).decision.startswith("rolled back: failed checks 5/5: ")
    finally:
        await d.engine.stop()
