"""On rows another controller drives (an Argo Rollout, a Flagger Canary), Shiftroom's own `m` (auto/manual)
and `b` (blue-green switch) are shown disabled in the footer (and marked in help and the palette) with one
sentence saying what drives the row and what to use instead; pressing them says it at once and sends
nothing. On Shiftroom's own rows they work as before."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._footer import FooterKey

from app.screens.binding_list import room_bindings
from app.screens.confirm import ConfirmScreen
from tests import test_foreign_keys as fk
from tests.test_engine_foreign import ARGO, argo_objects

ARGO_M = (
    f"Rollout {ARGO} is driven by Argo Rollouts, which has no auto/manual mode: pause (space), promote (p) or "
    "abort (a) it."
)
ARGO_B = (
    f"Rollout {ARGO} is driven by Argo Rollouts, which switches by its own steps: promote (p) to go on, abort "
    "(a) to go back."
)
FLAGGER_M = (
    f"Canary {fk.CANARY} is driven by Flagger, which has no auto/manual mode: suspend it (space) or open its "
    "gates (p, a)."
)
FLAGGER_B = (
    f"Canary {fk.CANARY} is driven by Flagger, which promotes by itself after its analysis: open its "
    "promotion gate (p) or roll back (a)."
)


async def test_m_and_b_are_disabled_with_a_reason_on_rows_another_controller_drives(tmp_path: Path) -> None:
    app, engine, cluster, clock = fk.room(tmp_path, [fk.gated_canary(), *argo_objects()])
    async with app.run_test(size=fk.SIZE) as pilot:
        for key, m_reason, b_reason in ((ARGO, ARGO_M, ARGO_B), (fk.CANARY, FLAGGER_M, FLAGGER_B)):
            screen = await fk.select(app, engine, clock, key)
            await pilot.pause()
            active = screen.active_bindings
            for letter, reason in (("m", m_reason), ("b", b_reason)):
                assert not active[letter].enabled and active[letter].tooltip == f"not here: {reason}", letter
                footer = next(k for k in screen.query(FooterKey) if k.key == letter)
                assert footer.has_class("-disabled")
            # Help and the palette mark them too, with the same sentence.
            said = {e.keys_text: e.denied for e in room_bindings(app)}
            assert (said.get("m"), said.get("b")) == (m_reason, b_reason)
            app._notifications.clear()
            for letter in ("m", "b"):
                await pilot.press(letter)
                await pilot.pause()
                assert not isinstance(app.screen, ConfirmScreen) and not screen.busy  # no dialog, no command
            assert [n.message for n in app._notifications] == [m_reason, b_reason]
            assert all(n.title.endswith(": not here") for n in app._notifications)
        await fk.settled(app, engine, clock)
        assert cluster.patches == [] and cluster.calls == []  # nothing was sent

        own = next(r for r in engine.state.rollouts if r.driven_by == "shiftroom")
        screen = await fk.select(app, engine, clock, own.key)
        await pilot.pause()
        assert screen.active_bindings["m"].enabled  # Shiftroom's own row: its mode key as before
        assert not screen.active_bindings["m"].tooltip.startswith("not here")
        assert {e.keys_text: e.denied for e in room_bindings(app)}.get("m") == ""
