"""Controller state kept as JSON in the `shiftroom.io/state` annotation of the managed object.

A restarted room reads it back (from the cached object: no GET) and resumes at
the same step; a room that does not drive a target reads it to show what the
driving room decided.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from app.control.context import STATE_ANNOTATION, Context
from app.model import Phase
from backends.base import Kind

#: The phases of a release in progress: the room keeps the target's Lease through them.
DRIVING = frozenset({Phase.WAITING, Phase.PROGRESSING, Phase.PROMOTING, Phase.FINALISING})


class PersistedState:
    """Loads and saves a controller's state."""

    state_model: ClassVar[type[BaseModel]]
    ctx: Context
    state: Any
    _saved: str

    @property
    def state_ref(self) -> tuple[Kind, str, str]:
        """(kind, namespace, name) of the object that carries the state."""
        raise NotImplementedError

    def load(self) -> None:
        kind, ns, name = self.state_ref
        raw = self.ctx.cache.annotations(kind, ns, name).get(STATE_ANNOTATION)
        if not raw or raw == self._saved:
            return
        try:
            self.state = self.state_model.model_validate_json(raw)
            self._saved = raw
        except ValueError:
            self.state = self.state_model(message=f"ignored an unreadable {STATE_ANNOTATION} annotation")

    def busy(self, now: float) -> bool:
        """A release in progress or a guard window open: something to decide, so the room holds the Lease."""
        s = self.state
        return s.phase in DRIVING or bool(s.guard.deployment and now < s.guard.until)

    def reload(self) -> None:
        """Forget what was decided in memory and not written (its Lease was refused): the annotation again."""
        self._saved = ""
        self.state = self.state_model()
        self.load()

    async def save(self) -> None:
        raw = self.state.model_dump_json()
        if raw != self._saved:
            kind, ns, name = self.state_ref
            await self.ctx.writes.patch_annotations(kind, ns, name, {STATE_ANNOTATION: raw})
            self._saved = raw
