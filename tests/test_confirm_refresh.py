"""An open confirmation refreshes its preview at most once per REFRESH_FLOOR, and the last snapshot's always."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from textual.app import App

from app.model import RoomState
from app.screens import confirm
from app.screens.confirm import ConfirmScreen
from app.screens.snapshot import Snapshot


@dataclass(frozen=True)
class Shown:
    title: str
    lines: tuple[str, ...]
    destructive: bool = False
    confirm_name: str | None = None
    possible: bool = True


async def test_a_burst_of_snapshots_costs_two_refreshes_not_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confirm, "REFRESH_FLOOR", 2.0)  # far longer than the burst takes on a loaded machine
    asked: list[int] = []

    async def refresh() -> Any:
        asked.append(len(asked))
        return Shown("Save flag f?", (f"preview {len(asked)}",))

    app: App[None] = App()
    async with app.run_test() as pilot:
        dialog = ConfirmScreen(Shown("Save flag f?", ("preview 0",)), refresh, action="save")
        await app.push_screen(dialog)
        for _ in range(10):  # each handled before the next (queued ones would coalesce anyway)
            dialog.post_message(Snapshot(RoomState()))
            await pilot.pause()
        assert len(asked) == 1, "the first at once, the rest wait for the floor"
        await asyncio.sleep(2.3)
        await pilot.pause()
        assert len(asked) == 2, "one more, for the latest snapshot"
        assert dialog.refreshes == 2
