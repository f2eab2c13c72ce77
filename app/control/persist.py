"""Controller state kept as JSON in the `shiftroom.io/state` annotation of the managed object.

A restarted room reads it back and resumes at the same step; a room that does
not drive a target reads it to show what the driving room decided.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from app.control.context import STATE_ANNOTATION, Context
from backends.base import Kind


class PersistedState:
    """Loads and saves a controller's state; also the keys every controller shares."""

    state_model: ClassVar[type[BaseModel]]
    ctx: Context
    state: Any
    _saved: str

    @property
    def state_ref(self) -> tuple[Kind, str, str]:
        """(kind, namespace, name) of the object that carries the state."""
        raise NotImplementedError

    async def load(self) -> None:
        kind, ns, name = self.state_ref
        raw = (await self.ctx.cluster.get_annotations(kind, ns, name)).get(STATE_ANNOTATION)
        if not raw:
            return
        try:
            self.state = self.state_model.model_validate_json(raw)
            self._saved = raw
        except ValueError:
            self.state = self.state_model(message=f"ignored an unreadable {STATE_ANNOTATION} annotation")

    async def save(self) -> None:
        raw = self.state.model_dump_json()
        if raw != self._saved:
            kind, ns, name = self.state_ref
            await self.ctx.cluster.patch_annotations(kind, ns, name, {STATE_ANNOTATION: raw})
            self._saved = raw


    async def toggle(self, field: str, actor: str) -> None:
        """`paused` (space) or `auto` (m): flip it, say so, record who did it."""
        s = self.state
        setattr(s, field, not getattr(s, field))
        if field == "paused":
            action = "pause" if s.paused else "resume"
            s.message = f"{'paused' if s.paused else 'resumed'} by {actor}"
        else:
            action = "auto" if s.auto else "manual"
            s.message = f"{'automatic' if s.auto else 'manual'} mode set by {actor}"
        await self.ctx.decide(self.target.key, action, s.message, actor=actor)  # type: ignore[attr-defined]
