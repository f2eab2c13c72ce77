"""Counter rebuilds as jobs on the engine's `JobBoard`, and the "needs a rebuild" check.

Data written by the seed's own `ABTestManager` has `events:<exp>:<user>`
lists and no Shiftroom counters, so such an experiment shows zero users. On
each refresh an experiment with no users is asked about once (`mark`: the
store's `needs_rebuild`, one EXISTS and a SCAN that stops at the first list)
and carries `needs_rebuild` in the snapshot. `start` runs the store's
`rebuild_counters` as a job: progress in `RoomState.jobs`, the outcome one
sentence, an audit entry either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.clock import Clock
from app.control.audit_trail import AuditTrail
from app.control.commands import Preview, RebuildCounters, Result
from app.control.jobs import JobBoard, Progress
from app.model import AuditEvent, Experiment, Level
from backends.base import BackendError, CounterRebuild, Unavailable

KIND = "rebuild"


def count_text(n: int) -> str:
    """12000 → "12 000", as progress lines print counts."""
    return f"{n:,}".replace(",", " ")


class RebuildJobs:
    def __init__(
        self,
        store: CounterRebuild | None,
        jobs: JobBoard,
        trail: AuditTrail,
        clock: Clock,
        instance: str,
        on_failure: Callable[[str], None],
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.trail = trail
        self.clock = clock
        self.instance = instance
        self.on_failure = on_failure
        self._needs: dict[str, bool] = {}

    async def mark(self, experiments: tuple[Experiment, ...]) -> tuple[Experiment, ...]:
        """The experiments, those with seed events but no counters marked `needs_rebuild`."""
        if self.store is None:
            return experiments
        out = []
        for e in experiments:
            if e.error or e.users:
                self._needs.pop(e.id, None)
            elif e.id not in self._needs:
                try:
                    self._needs[e.id] = await self.store.needs_rebuild(e.id)
                except BackendError:
                    pass  # asked again on the next refresh; the listing itself reports the store's health
            out.append(e.model_copy(update={"needs_rebuild": True}) if self._needs.get(e.id) else e)
        return tuple(out)

    async def preview(self, cmd: RebuildCounters, refusal: str | None) -> Preview:
        eid = cmd.experiment
        title = f"Rebuild experiment {eid}'s counters?"
        if self.store is None:
            return Preview(
                cmd,
                title,
                (f"This store keeps experiment {eid}'s counters itself, so there is nothing to rebuild.",),
                possible=False,
            )
        if refusal:
            return Preview(cmd, title, (refusal + " A writable room must rebuild them.",), possible=False)
        running = self.jobs.running(KIND, f"experiment/{eid}")
        if running is not None:
            return Preview(
                cmd,
                title,
                (
                    f"Experiment {eid}'s counters are already being rebuilt "
                    f"({running.done} of {running.total or '?'} event lists).",
                ),
                possible=False,
            )
        needed = self._needs.get(eid)
        note = (
            "the seed's own events are not counted yet"
            if needed
            else "its counters look current; a rebuild recounts them from the event lists anyway"
        )
        return Preview(
            cmd,
            title,
            (
                f"experiment {eid}: {note}",
                "SCAN every events:<exp>:* list in the background, then replace the counters in one transaction",
            ),
            version=str(len(self.jobs.snapshot())),
        )

    def start(self, cmd: RebuildCounters, actor: str) -> Result:
        eid = cmd.experiment
        target = f"experiment/{eid}"
        job = self.jobs.start(KIND, target, lambda progress: self._run(eid, actor, progress))
        return Result(
            True,
            f"Rebuilding experiment {eid}'s counters in the background; progress shows in the jobs.",
            target,
            details={"job": job.id},
        )

    async def _run(self, eid: str, actor: str, progress: Progress) -> str:
        assert self.store is not None
        target = f"experiment/{eid}"

        def moved(done: int, total: int) -> None:
            progress(done, total, f"{count_text(done)} of {count_text(total)} event lists")

        try:
            report: Any = await self.store.rebuild_counters(eid, moved)
        except BackendError as err:
            self.trail.record(
                AuditEvent(
                    t=self.clock.now(),
                    actor=actor,
                    target=target,
                    action="counters-rebuild-failed",
                    reason=err.sentence,
                    level=Level.WARN,
                )
            )
            if isinstance(err, Unavailable):
                self.on_failure(err.sentence)
            raise
        self._needs[eid] = False
        ignored = report.malformed + report.skipped
        extra = f", {count_text(ignored)} ignored (not JSON or without a variant)" if ignored else ""
        message = (
            f"Experiment {eid}: counters rebuilt from {count_text(report.keys)} event lists "
            f"({count_text(report.events)} events{extra})."
        )
        self.trail.record(
            AuditEvent(
                t=self.clock.now(),
                actor=actor,
                target=target,
                action="counters-rebuilt",
                reason=message,
                after={
                    "event_lists": report.keys,
                    "events": report.events,
                    "malformed": report.malformed,
                    "skipped": report.skipped,
                    "variants": {
                        v: {"users": r.users, "conversions": r.conversions} for v, r in report.results.items()
                    },
                },
            )
        )
        return message
