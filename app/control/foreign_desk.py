"""The engine's desk for rollouts another controller drives (Flagger Canaries, Argo Rollouts).

It reads the foreign objects from the object cache (never the network), turns them into
`Rollout` rows for the snapshot, names the configured targets a cluster Canary already
drives (the engine leaves those alone), samples each Canary's own metric checks once per
analysis interval (so the why pane shows the numbers Flagger is judging), asks the load
tester's gates when the cluster can reach them, and runs room commands on these objects
with their controllers' own tools (`ForeignRollouts`). No lease: the other controller drives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.clock import Clock
from app.control.cache import ObjectCache
from app.control.commands import Preview, Result, RolloutCommand
from app.control.foreign import ForeignRollouts
from app.control.foreign_writes import ObjectWrites
from app.control.sampling import Sampler, Wanted, check_key
from app.foreign.flagger_checks import FlaggerCheck
from app.model import AuditEvent, Check, MetricSample, MetricSeries, Rollout, Strategy, Target
from app.sanitize import clean
from backends.base import Cluster, ForeignObject, Metrics, MetricTemplates

IDLE_EVERY = 30.0  # clock seconds between looks for checks when no Canary is in view


class ForeignDesk:
    def __init__(
        self,
        cache: ObjectCache,
        cluster: Cluster,
        metrics: Metrics,
        sampler: Sampler,
        clock: Clock,
        *,
        record: Callable[[AuditEvent], None],
        read_only: bool,
        production: bool = False,
    ) -> None:
        self.foreign = ForeignRollouts(now=clock.now)
        self.cache = cache
        self.sampler = sampler
        self.clock = clock
        self.record = record
        self.read_only = read_only
        self.production = production
        # Capabilities, checked once.
        self.writes: ObjectWrites | None = cluster if isinstance(cluster, ObjectWrites) else None
        self.templates: MetricTemplates | None = metrics if isinstance(metrics, MetricTemplates) else None
        self._gate_states: dict[str, dict[str, str]] = {}
        self._checks: dict[str, tuple[Check, ...]] = {}
        self._next_checks = 0.0
        self.latest: tuple[MetricSeries, ...] = ()

    # ------------------------------------------------------------ reading
    def objects(self) -> list[ForeignObject]:
        return self.cache.foreign_objects()

    def claimed(self, targets: Iterable[Target]) -> set[str]:
        """Keys of configured targets a cluster Canary drives: the same key, or a canary target whose deployment
        is the Canary's targetRef."""
        canaries = self.foreign.index(self.objects()).canaries
        refs = {(v.rollout.namespace, v.target_ref) for v in canaries.values() if v.target_ref}
        return {
            t.key
            for t in targets
            if t.key in canaries or t.strategy is Strategy.CANARY and (t.namespace, t.deployment or t.name) in refs
        }

    def rows(self) -> list[Rollout]:
        images = {(d.namespace, d.name): d.image for d in self.cache.deployments()}
        rows = self.foreign.rollouts(self.objects(), images=images, gates=self._gate_states)
        return [r.model_copy(update={"checks": self._checks[r.key]}) if r.key in self._checks else r for r in rows]

    def owns(self, target: str) -> bool:
        return self.foreign.owns(target, self.objects())

    # ------------------------------------------------------------ once per analysis interval
    async def refresh(self, now: float) -> bool:
        """Sample every Canary's checks and ask its gates when an analysis interval has passed; True if it did."""
        if now < self._next_checks:
            return False
        objs = self.objects()
        canaries = self.foreign.index(objs).canaries
        if not canaries and not self._checks:
            return False  # nothing to judge yet: look again at the next pass (reading the cache costs nothing)
        self._next_checks = now + min((v.interval for v in canaries.values()), default=IDLE_EVERY)
        if self.templates is not None:
            self.templates.add_queries(self.foreign.queries(objs))
        found = self.foreign.metric_checks(objs)
        # A skipped metric is read with the room's own template of that name, beside its note.
        wanted: list[Wanted] = [(w, (c.check,)) for _, w, c in found if c.runnable or c.source == "skipped"]
        samples = await self.sampler.sample(wanted) if wanted else {}
        checks: dict[str, list[Check]] = {}
        latest: list[MetricSeries] = []  # one point per check, for the charts' whole-life history
        for key, workload, c in found:
            line = _check(c, samples.get(check_key(c.check), {}).get(workload))
            checks.setdefault(key, []).append(line)
            latest.append(
                MetricSeries(
                    target=key,
                    name=c.check.name,
                    unit=c.check.unit,
                    min=c.check.min,
                    max=c.check.max,
                    times=(now,),
                    values=(line.value,),
                )
            )
        self._checks = {k: tuple(v) for k, v in checks.items()}
        self.latest = tuple(latest)
        if self.writes is not None:
            self._gate_states = await self.foreign.gate_states(self.writes, objs)
        return True

    # ------------------------------------------------------------ commands (no lease: the other controller drives)
    async def preview(self, cmd: RolloutCommand) -> Preview:
        refused = self._refusal(cmd)
        if refused:
            return Preview(cmd, cmd.verb.value, (refused,), possible=False)
        return await self.foreign.preview(cmd, self.objects(), production=self.production)

    async def execute(self, cmd: RolloutCommand, confirmed: Preview | None, actor: str) -> Result:
        refused = self._refusal(cmd)
        if refused or self.writes is None:
            why = refused or f"{cmd.target}: this cluster backend cannot patch Flagger or Argo Rollouts objects."
            return Result(False, why, target=cmd.target)
        result = await self.foreign.execute(
            cmd, self.writes, actor, self.objects(), confirmed, production=self.production
        )
        audit = result.details.get("audit")
        if isinstance(audit, AuditEvent):
            self.record(audit)
        return result

    def _refusal(self, cmd: RolloutCommand) -> str:
        if self.read_only:
            return f"{cmd.target}: this room is read-only, the backends refuse every write"
        return ""


def _check(c: FlaggerCheck, sample: MetricSample | None) -> Check:
    """One line of the why pane: the value the room read for the check Flagger runs, or why there is none."""
    if sample is None:  # not run: a template the cluster lacks, or one the room cannot run
        return Check(
            name=c.check.name,
            value=None,
            passed=False,
            status="not run",
            error=clean(c.note, 200),
            range=c.check.range_text,
        )
    value = sample.value if sample.ok else None
    judged = c.source != "skipped"
    return Check(
        name=c.check.name,
        value=value,
        passed=c.check.passes(value),
        status=sample.status.value if judged else "not judged by Flagger",
        error=clean(c.note or sample.error, 200),
        query=clean(sample.query, 300),
        range=c.check.range_text,
    )
