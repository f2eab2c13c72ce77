"""Rebuilding experiment counters from the seed's own event lists, in the background.

Data written by the seed's `ABTestManager` has `events:<exp>:<user>` lists and
no Shiftroom counters, so the room shows its experiments with zero users.
`RebuildCoordinator` finds such experiments (`check`), and `start` runs the
store's `rebuild_counters` as an asyncio task: SCAN in batches, the event
loop free between them, one experiment at a time and never two at once.
`status` says how far it got (done / total event lists), whether it is
running and, when it failed, why in one sentence; listeners hear every
change. When it finishes the engine re-reads the store and the audit log
gets `counters-rebuilt` on `experiment/<id>`.

Counters are writes: a read-only room refuses with one sentence, and a store
without `rebuild_counters` (the simulator keeps its own counts) has nothing
to rebuild. No Textual here: the room and the headless CLI can both drive it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from app.model import AuditEvent, Level
from backends.base import BackendError

ACTION = "counters-rebuilt"
FAILED = "counters-rebuild-failed"
Checker = Callable[[Any, str], Awaitable[bool]]
Listener = Callable[["RebuildStatus"], None]


@dataclass(frozen=True)
class RebuildStatus:
    """Where the current (or last) rebuild stands; `experiment` is "" before the first one."""

    experiment: str = ""
    done: int = 0  # event lists read so far
    total: int = 0  # event lists found by the first, key-only SCAN
    running: bool = False
    error: str = ""  # one sentence when it failed
    message: str = ""  # one sentence when it succeeded

    @property
    def fraction(self) -> float | None:
        return None if self.total <= 0 else min(1.0, self.done / self.total)


def count_text(n: int) -> str:
    """12000 → "12 000", as the progress line prints counts."""
    return f"{n:,}".replace(",", " ")


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _default_checker(store: Any) -> Checker | None:
    own = getattr(store, "needs_rebuild", None)
    if callable(own):
        return lambda _store, exp_id: own(exp_id)
    if type(store).__module__.startswith("backends.redis"):
        from backends.redis_rebuild import needs_rebuild  # imported only for a Redis store

        return needs_rebuild
    return None


class RebuildCoordinator:
    """Counter rebuilds for one engine: `check`, `start`, `wait`, `status`."""

    def __init__(self, engine: Any, *, batch: int = 500, checker: Checker | None = None) -> None:
        self.engine = engine
        self.batch = batch
        self.status = RebuildStatus()
        self._checker = checker
        self._needs: dict[str, bool] = {}
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------ what is possible

    @property
    def store(self) -> Any:
        return self.engine.store

    @property
    def supported(self) -> bool:
        """The store keeps Shiftroom counters apart from the seed's events (Redis)."""
        return self.store is not None and callable(getattr(self.store, "rebuild_counters", None))

    @property
    def read_only(self) -> bool:
        return bool(self.engine.read_only or getattr(self.store, "read_only", False))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def refusal(self, exp_id: str) -> str | None:
        """Why `start(exp_id)` would do nothing, in one sentence; None when it would run."""
        if not self.supported:
            return f"This store keeps experiment {exp_id}'s counters itself, so there is nothing to rebuild."
        if self.read_only:
            return (f"This room is read-only, so experiment {exp_id}'s counters were not rebuilt; "
                    "a writable room must rebuild them.")
        if self.running:
            return (f"Experiment {self.status.experiment}'s counters are still being rebuilt; "
                    "wait until that finishes.")
        return None

    # ------------------------------------------------------------ detection

    def needs(self, exp_id: str) -> bool | None:
        """The last answer of `check(exp_id)`; None when it was never asked (or is being re-asked)."""
        return self._needs.get(exp_id)

    def forget(self, exp_id: str | None = None) -> None:
        """Ask the store again next time (for one experiment, or all)."""
        if exp_id is None:
            self._needs.clear()
        else:
            self._needs.pop(exp_id, None)

    async def check(self, exp_id: str) -> bool:
        """True when the experiment has the seed's events but no counters; answers are remembered.

        A store that cannot say (the simulator) or cannot be reached answers
        False, and an unreachable one is asked again next time.
        """
        if not self.supported:
            return False
        if exp_id in self._needs:
            return self._needs[exp_id]
        checker = self._checker or _default_checker(self.store)
        if checker is None:
            return False
        try:
            answer = bool(await checker(self.store, exp_id))
        except BackendError:
            return False
        self._needs[exp_id] = answer
        return answer

    # ------------------------------------------------------------ running

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(status)` on every change; returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _set(self, status: RebuildStatus) -> None:
        self.status = status
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:  # a listener (a closing screen) must never stop the rebuild
                pass

    def start(self, exp_id: str) -> str | None:
        """Start rebuilding `exp_id`'s counters in the background; a refusal sentence, or None."""
        refusal = self.refusal(exp_id)
        if refusal:
            return refusal
        self._set(RebuildStatus(experiment=exp_id, running=True))
        self._task = asyncio.create_task(self._run(exp_id), name=f"rebuild-counters-{exp_id}")
        return None

    async def wait(self) -> RebuildStatus:
        """The status once the rebuild in progress (if any) has finished."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)
        return self.status

    async def cancel(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def rebuild(self, exp_id: str) -> RebuildStatus:
        """`start` then `wait`: the final status (its `error` holds any refusal)."""
        refusal = self.start(exp_id)
        if refusal:
            return RebuildStatus(experiment=exp_id, error=refusal)
        return await self.wait()

    async def _run(self, exp_id: str) -> None:
        def progress(done: int, total: int) -> None:
            self._set(replace(self.status, done=done, total=total))

        try:
            report = await self.store.rebuild_counters(exp_id, progress, batch=self.batch)
        except asyncio.CancelledError:
            self._set(replace(self.status, running=False,
                              error=f"The rebuild of experiment {exp_id}'s counters was cancelled; nothing was replaced."))
            raise
        except BackendError as err:
            await self._failed(exp_id, err.sentence)
            return
        except Exception as err:  # a bug must end as a sentence, never as a dead task
            await self._failed(exp_id, f"Rebuilding experiment {exp_id}'s counters failed: {type(err).__name__}: {err}")
            return
        self._needs[exp_id] = False
        lists, events = count_text(report.keys), count_text(report.events)
        ignored = report.malformed + report.skipped
        extra = f", {count_text(ignored)} ignored (not JSON or without a variant)" if ignored else ""
        message = f"Experiment {exp_id}: counters rebuilt from {lists} event lists ({events} events{extra})."
        await self._audit(exp_id, ACTION, message, Level.INFO,
                          after={"event_lists": report.keys, "events": report.events,
                                 "malformed": report.malformed, "skipped": report.skipped,
                                 "variants": {v: {"users": r.users, "conversions": r.conversions}
                                              for v, r in report.results.items()}})
        await self._refresh()
        self._set(RebuildStatus(experiment=exp_id, done=report.keys, total=report.keys, message=message))

    async def _failed(self, exp_id: str, sentence: str) -> None:
        sentence = _sentence(sentence)
        await self._audit(exp_id, FAILED, sentence, Level.WARN)
        await self._refresh()  # publishes the event, and the store's health if Redis went away
        self._set(replace(self.status, running=False, error=sentence))

    async def _refresh(self) -> None:
        try:
            await self.engine.refresh_store()
        except Exception:  # the engine's next pass shows it anyway
            pass

    async def _audit(self, exp_id: str, action: str, reason: str, level: Level,
                     after: dict[str, Any] | None = None) -> None:
        engine = self.engine
        try:
            await engine.record(AuditEvent(t=engine.clock.now(), actor=engine.actor, target=f"experiment/{exp_id}",
                                           action=action, reason=reason, after=after or {}, level=level))
        except Exception:  # the audit backend marks itself down; the rebuild's outcome stands
            pass
