"""May this identity take each action the room offers? Asked before the key is offered, not after a 403.

A cluster that is `AccessReview` (Kubernetes: SelfSubjectAccessReviews, the doctor's questions) is asked
about the writes each row's actions make (`access_needs`): when the room starts, for rows it has not
asked about yet, every `EVERY` clock seconds, and again when the cluster watch comes back after a break
(a new connection may be another identity's). Never on every pass, and never inside one: the review runs
as a task the pass starts. The answers become `Rollout.denied` (verb → the sentence a 403 would get) in
every snapshot, and a preview of a denied action says that sentence instead of offering it. A failed
review keeps the last answers, marks the cluster's health with its sentence, and is tried again after
`RETRY` seconds. A backend that cannot say (the simulator) allows everything; so does a read-only room,
whose backends refuse every write anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence

from app.clock import Clock
from app.control.access_needs import row_needs
from app.control.health import HealthBoard
from app.model import Rollout
from backends.base import AccessAnswer, AccessCheck, AccessReview, BackendError, Cluster, Kind

EVERY = 300.0  # clock seconds between two full reviews
RETRY = 30.0  # after a review that failed

#: key, driven_by, strategy, parts a bootstrap would create, a Canary's load tester Services
Signature = tuple[str, str, str, tuple[Kind, ...], tuple[tuple[str, str], ...]]


def _signature(row: Rollout, missing: tuple[Kind, ...]) -> Signature:
    return (row.key, row.driven_by, row.strategy.value, missing, tuple(sorted(row.gate_services.items())))


class AccessDesk:
    def __init__(
        self,
        cluster: Cluster,
        clock: Clock,
        health: HealthBoard,
        *,
        read_only: bool,
        on_change: Callable[[], None],
    ) -> None:
        self.review: AccessReview | None = (
            cluster if isinstance(cluster, AccessReview) and not read_only else None
        )  # capability, checked once
        self.clock = clock
        self.health = health
        self.on_change = on_change
        self._answers: dict[AccessCheck, AccessAnswer] = {}
        self._asked: set[AccessCheck] = set()
        self._needs: dict[Signature, dict[str, tuple[AccessCheck, ...]]] = {}
        self._denied: dict[Signature, dict[str, str]] = {}  # per answers: cleared when they change
        self._next = 0.0
        self._was_up = True
        self._task: asyncio.Task[None] | None = None
        self.reviews = 0  # reviews answered (tests, the bench)

    # ------------------------------------------------------------ what each row needs
    def needs(self, row: Rollout, missing: tuple[Kind, ...] = ()) -> dict[str, tuple[AccessCheck, ...]]:
        sig = _signature(row, missing)
        found = self._needs.get(sig)
        if found is None:
            found = self._needs[sig] = row_needs(row, missing)
        return found

    def _wanted(self, rows: Iterable[Rollout], missing: Mapping[str, tuple[Kind, ...]]) -> list[AccessCheck]:
        checks = (c for row in rows for cs in self.needs(row, missing.get(row.key, ())).values() for c in cs)
        return list(dict.fromkeys(checks))

    # ------------------------------------------------------------ asking (started by the pass, run beside it)
    def follow(
        self, now: float, cluster_up: bool, rows: Sequence[Rollout], missing: Mapping[str, tuple[Kind, ...]]
    ) -> None:
        """Start a review when one is due: a full one at start, every `EVERY` s and after a reconnect;
        otherwise one of the checks of rows not asked about yet."""
        if self.review is None or (self._task is not None and not self._task.done()):
            return
        back, self._was_up = cluster_up and not self._was_up, cluster_up
        wanted = self._wanted(rows, missing)
        if back or now >= self._next:
            self._start(wanted, full=True)
        elif unknown := [c for c in wanted if c not in self._asked]:
            self._start(unknown, full=False)

    def _start(self, checks: list[AccessCheck], *, full: bool) -> None:
        self._task = asyncio.create_task(self._ask(checks, full))

    async def _ask(self, checks: list[AccessCheck], full: bool) -> None:
        assert self.review is not None
        now = self.clock.now()
        try:
            answers = await self.review.review_access(checks) if checks else {}
        except BackendError as err:
            self.health.mark("cluster", err)
            self._next = now + RETRY
            return
        self._answers = dict(answers) if full else {**self._answers, **answers}
        self._asked = set(checks) if full else self._asked | set(checks)
        if full:
            self._next = now + EVERY
        self._denied.clear()
        self.reviews += 1
        self.on_change()

    async def settle(self, row: Rollout | None, missing: tuple[Kind, ...] = ()) -> None:
        """Before a preview: the review in flight, and the row's own checks if they were never asked."""
        if self.review is None:
            return
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        unknown = [c for cs in self.needs(row, missing).values() for c in cs if c not in self._asked] if row else []
        if unknown:
            await self._ask(unknown, full=False)

    async def refusal(self, row: Rollout | None, verb: str, missing: tuple[Kind, ...] = ()) -> str:
        """Why this identity may not take `verb` on `row` ("" when it may, or when nobody can tell)."""
        await self.settle(row, missing)
        return self.denied(row, missing).get(verb, "") if row is not None else ""

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # ------------------------------------------------------------ answers
    @property
    def answers(self) -> dict[AccessCheck, AccessAnswer]:
        """What the cluster said, check by check (the doctor's rows for the same questions)."""
        return dict(self._answers)

    def denied(self, row: Rollout, missing: tuple[Kind, ...] = ()) -> dict[str, str]:
        """verb → why not (the first write it makes that is refused), for the verbs this row offers."""
        if not self._answers:
            return {}
        sig = _signature(row, missing)
        found = self._denied.get(sig)
        if found is None:
            found = self._denied[sig] = {
                verb: why for verb, checks in self.needs(row, missing).items() if (why := self._why(checks))
            }
        return found

    def _why(self, checks: Iterable[AccessCheck]) -> str:
        for check in checks:
            answer = self._answers.get(check)
            if answer is not None and not answer.allowed:
                return answer.sentence
        return ""

    def mark(self, rows: Iterable[Rollout], missing: Mapping[str, tuple[Kind, ...]]) -> list[Rollout]:
        """The rows with `denied` filled in."""
        out = []
        for row in rows:
            denied = self.denied(row, missing.get(row.key, ()))
            out.append(row.model_copy(update={"denied": denied}) if denied else row)
        return out
