"""The message every screen above the main one gets with each new snapshot.

The main screen renders each snapshot even under a modal, so nothing jumps when
the modal closes; a modal that shows live data (a confirmation's preview)
handles `Snapshot` to stay current. Newer replaces older in the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from app.model import RoomState


class Snapshot(Message):
    """A new `RoomState` for a screen that is not the main one."""

    def __init__(self, state: RoomState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Snapshot)
