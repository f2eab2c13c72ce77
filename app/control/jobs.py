"""Long jobs the engine runs (counter rebuilds, ...), kept where every screen and verb can see them.

A job is started with a coroutine function that receives a `progress(done,
total, message)` callback and returns its final sentence; the board keeps one
`Job` per job id in `RoomState.jobs`, so a job outlives the screen that
started it. One job per (kind, target) runs at a time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from app.clock import Clock
from app.model import Job
from backends.base import BackendError

Progress = Callable[[int, int | None, str], None]
Work = Callable[[Progress], Awaitable[str]]
KEEP = 20  # finished jobs kept for the screens


class JobBoard:
    def __init__(self, clock: Clock, on_change: Callable[[], None] = lambda: None) -> None:
        self.clock = clock
        self.on_change = on_change
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ids = itertools.count(1)

    def snapshot(self) -> tuple[Job, ...]:
        return tuple(self._jobs.values())

    def running(self, kind: str, target: str) -> Job | None:
        return next(
            (j for j in self._jobs.values() if j.kind == kind and j.target == target and j.status == "running"), None
        )

    def start(self, kind: str, target: str, work: Work) -> Job:
        """Start `work` unless the same job is already running (then return that one)."""
        existing = self.running(kind, target)
        if existing is not None:
            return existing
        job = Job(id=f"{kind}-{next(self._ids)}", kind=kind, target=target, started=self.clock.now())
        self._set(job)
        self._tasks[job.id] = asyncio.create_task(self._run(job.id, work))
        return job

    async def wait(self, job_id: str) -> Job:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)
        return self._jobs[job_id]

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def _run(self, job_id: str, work: Work) -> None:
        def progress(done: int, total: int | None, message: str = "") -> None:
            job = self._jobs[job_id]
            self._set(job.model_copy(update={"done": done, "total": total, "message": message or job.message}))

        try:
            sentence = await work(progress)
        except asyncio.CancelledError:
            self._finish(job_id, "cancelled", "cancelled")
            raise
        except BackendError as err:
            self._finish(job_id, "failed", err.sentence)
        except Exception as err:  # a bug in a job ends the job with its sentence, never the room
            self._finish(job_id, "failed", f"internal error: {type(err).__name__}: {err}")
        else:
            self._finish(job_id, "done", sentence)

    def _finish(self, job_id: str, status: str, sentence: str) -> None:
        job = self._jobs[job_id]
        self._set(job.model_copy(update={"status": status, "message": sentence, "ended": self.clock.now()}))
        self._tasks.pop(job_id, None)
        done = [j for j in self._jobs.values() if j.status != "running"]
        for old in done[:-KEEP]:
            self._jobs.pop(old.id, None)

    def _set(self, job: Job) -> None:
        self._jobs[job.id] = job
        self.on_change()
