"""Command palette (ctrl+p) provider: the room's own actions, from its bindings."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from app.sanitize import clean
from app.screens.binding_list import BoundKey, room_bindings

SKIP = {"command_palette", "clear_filter", "row_down", "row_up", "app.focus_next", "app.focus_previous"}


class RoomCommands(Provider):
    """Every bound room action (the write ones only when they are bound)."""

    def _entries(self) -> list[BoundKey]:
        return [e for e in room_bindings(self.app) if e.action not in SKIP]

    @staticmethod
    def _title(entry: BoundKey) -> str:
        return f"{entry.description} ({entry.keys_text})" + (" — not allowed" if entry.denied else "")

    @staticmethod
    def _help(entry: BoundKey) -> str | None:
        return clean(entry.denied) if entry.denied else entry.tooltip or None

    def _run(self, entry: BoundKey) -> None:
        if entry.denied:  # says why, sends nothing
            self.app.notify(entry.denied, title=f"{entry.description}: not allowed", severity="warning", timeout=8)
            return
        self.app.call_later(entry.node.run_action, entry.action)

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(self._title(entry), partial(self._run, entry), help=self._help(entry))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            title = self._title(entry)
            score = matcher.match(f"{title} {entry.tooltip}")
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, entry), text=title, help=self._help(entry)
                )
