"""What the confirmations say: the deployment and its role, and the image an undo goes back to."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.control.commands import RolloutCommand, Verb
from app.control.previous_revision import previous_image
from app.model import Phase
from backends.base import Revision
from tests.control_world import CANARY, FRONTEND, demo, rollout, run_until

HEALTHY = """
    name: t-healthy
    duration: 900
    events:
      - at: 10
        release: {target: microservices-canary, image: "microservices/api:1.5.0"}
"""


async def settled_preview(d, command: RolloutCommand):  # type: ignore[no-untyped-def]
    """The preview once the revision history read it started has answered (as a live confirmation sees it)."""
    await d.engine.preview(command)
    for _ in range(20):
        await asyncio.sleep(0)
    return await d.engine.preview(command)


def test_previous_image_is_the_highest_revision_below_the_current() -> None:
    revs = [Revision(deployment="d", namespace="n", revision=r, image=f"img:{r}") for r in (1, 3, 4)]
    assert previous_image(revs, 4) == "img:3"
    assert previous_image(revs, 3) == "img:1"
    assert previous_image(revs, 1) is None


async def test_abort_names_the_canary_deployment_its_role_and_replicas(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).actual.canary == 10)
        preview = await d.engine.preview(RolloutCommand(Verb.ABORT, CANARY))
        canary = await d.world.cluster.get_deployment("microservices", "microservices")
        assert f"deployment microservices (canary) scaled {canary.replicas} → 0" in preview.lines
        assert canary.replicas > 0
        promote = await d.engine.preview(RolloutCommand(Verb.PROMOTE, CANARY))
        assert f"deployment microservices (canary) scaled {canary.replicas} → 0" in promote.lines
    finally:
        await d.engine.stop()


async def test_undo_shows_the_image_it_reverts_to(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.SUCCEEDED)
        preview = await settled_preview(d, RolloutCommand(Verb.UNDO, CANARY))
        line = preview.lines[0]
        assert line == (
            "deployment microservices-primary (primary) image microservices/api:1.5.0 → microservices/api:1.4.0"
        )
        result = await d.engine.execute(RolloutCommand(Verb.UNDO, CANARY), confirmed=preview)
        assert result.ok, result.message
        primary = await d.world.cluster.get_deployment("microservices", "microservices-primary")
        assert primary.image == "microservices/api:1.4.0", "the preview named what the undo did"
    finally:
        await d.engine.stop()


async def test_first_undo_preview_says_it_is_reading_then_the_image(tmp_path: Path) -> None:
    d = demo(tmp_path, HEALTHY)
    await d.engine.start()
    try:
        await run_until(d, lambda d: rollout(d, CANARY).phase is Phase.SUCCEEDED)
        first = await d.engine.preview(RolloutCommand(Verb.UNDO, CANARY))
        assert "reading the revision history" in first.lines[0]
        assert "now microservices/api:1.5.0" in first.lines[0]
    finally:
        await d.engine.stop()


async def test_blue_green_undo_names_the_live_colour_and_says_when_there_is_no_previous(tmp_path: Path) -> None:
    d = demo(tmp_path, "name: t-idle\nduration: 900\nevents: []\n")
    await d.engine.start()
    try:
        await d.clock.run_for(5)
        await d.engine.idle()
        preview = await settled_preview(d, RolloutCommand(Verb.UNDO, FRONTEND))
        line = preview.lines[0]
        assert line == (
            "deployment microservices-blue (live, blue) image microservices/frontend:stable"
            " → ? (no previous revision: undo is refused)"
        )
    finally:
        await d.engine.stop()


async def test_a_preview_that_does_not_apply_still_names_its_target(tmp_path: Path) -> None:
    d = demo(tmp_path, "name: t-idle\nduration: 900\nevents: []\n")
    await d.engine.start()
    try:
        await d.clock.run_for(5)
        await d.engine.idle()
        for verb, key in ((Verb.ABORT, FRONTEND), (Verb.ABORT, CANARY), (Verb.STEP, CANARY), (Verb.SWITCH, FRONTEND)):
            preview = await d.engine.preview(RolloutCommand(verb, key))
            assert not preview.possible
            assert preview.title.endswith(key.split("/")[1]), preview.title
    finally:
        await d.engine.stop()
