"""Rollouts another controller drives, for the engine: rows, previews, and writes with their own tools.

The engine owns one `ForeignRollouts`. It hands over the foreign objects of its cache
(Flagger `Canary` / `MetricTemplate`, Argo `Rollout` / `AnalysisRun`, and the
`ReplicaSet`s Rollouts own) and gets back `Rollout` rows (`driven_by` "flagger" /
"argo"), views for the why pane, previews and results. It writes only what the
controllers' own tools write (`app.foreign.verbs`, `app.foreign.gates`), records a
Kubernetes Event when the cluster can, and returns the `AuditEvent` for the engine to
append (`Result.details["audit"]`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from app.control.commands import Preview, Result, RolloutCommand
from app.control.foreign_index import ForeignIndex, build_index
from app.control.foreign_plan import GateCall, Intent, intent
from app.control.foreign_writes import EventWrites, ObjectWrites
from app.foreign.flagger import CanaryView
from app.foreign.flagger_checks import FlaggerCheck
from app.foreign.gates import Gate, GatePlan, gate_body
from app.foreign.verbs import Plan
from app.model import AuditEvent, Level, Rollout
from app.sanitize import clean
from backends.base import BackendError, ForeignObject, NotFound


class ForeignRollouts:
    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now

    # ---------------------------------------------------------------- reading

    def index(self, objects: Iterable[ForeignObject]) -> ForeignIndex:
        return build_index(objects, self.now())

    def rollouts(
        self,
        objects: Iterable[ForeignObject],
        images: Mapping[tuple[str, str], str] | None = None,
        gates: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[Rollout]:
        """One row per Canary and per Rollout, sorted by key (the same table as Shiftroom's targets).

        `images` ((namespace, deployment) → image, from the engine's Deployment cache) fills a Canary's
        canary image (its targetRef) and stable image (`<target>-primary`, Flagger's layout); `gates`
        (from `gate_states`) is added to the Canary's message."""
        idx = self.index(objects)
        rows = [
            _with_extras(v, images or {}, (gates or {}).get(k, {}), idx.gates.get(k)) for k, v in idx.canaries.items()
        ]
        rows += [v.rollout for v in idx.rollouts.values()]
        return sorted(rows, key=lambda r: r.key)

    def metric_checks(self, objects: Iterable[ForeignObject]) -> list[tuple[str, tuple[str, str], FlaggerCheck]]:
        """(canary key, (namespace, workload), check) for every metric of every Canary, in the Canary's order.

        Run `c.check` when `c.runnable` (built-ins by name, templates by `check.template`, their PromQL from
        `queries`). A `skipped` one (neither built in nor a templateRef, like the seed's `error-rate`) is not
        judged by Flagger: the why pane may show the room's own template of that name beside `c.note`."""
        out: list[tuple[str, tuple[str, str], FlaggerCheck]] = []
        for key, view in self.index(objects).canaries.items():
            workload = (view.rollout.namespace, view.target_ref or view.rollout.name)
            out += [(key, workload, c) for c in view.checks]
        return out

    def queries(self, objects: Iterable[ForeignObject]) -> dict[str, str]:
        """`MetricCheck.template` → PromQL with Flagger's placeholders, for the metrics backend's templates."""
        return {
            c.check.template: c.query
            for v in self.index(objects).canaries.values()
            for c in v.checks
            if c.check.template and c.query
        }

    def owns(self, target: str, objects: Iterable[ForeignObject]) -> bool:
        return self.index(objects).owns(target)

    async def gate_states(self, cluster: ObjectWrites, objects: Iterable[ForeignObject]) -> dict[str, dict[str, str]]:
        """Each Canary's gates as the load tester answers `/gate/check` and `/rollback/check`:
        "open", "closed" or a sentence. Ask once per analysis interval, not per render."""
        out: dict[str, dict[str, str]] = {}
        for key, plan in self.index(objects).gates.items():
            namespace, name = key.split("/", 1)
            for gate in plan.gates:
                out.setdefault(key, {})[gate.kind] = await self._gate_state(cluster, gate, name, namespace)
        return out

    async def _gate_state(self, cluster: ObjectWrites, gate: Gate, name: str, namespace: str) -> str:
        try:
            status, text = await cluster.proxy(
                gate.namespace,
                "services",
                gate.service,
                gate.port,
                gate.path("check"),
                "POST",
                gate_body(name, namespace),
            )
        except BackendError as err:
            return f"unknown: {err.sentence}"
        if status == 200:
            return "open"
        if status == 403:
            return "closed"
        return f"unknown: the load tester answered {status} {clean(text.strip(), 80)}"

    # ---------------------------------------------------------------- commands

    async def preview(
        self, command: RolloutCommand, objects: Iterable[ForeignObject], production: bool = False
    ) -> Preview:
        return _preview(command, intent(command, self.index(objects), self.now()), production)

    async def execute(
        self,
        command: RolloutCommand,
        cluster: ObjectWrites,
        actor: str,
        objects: Iterable[ForeignObject],
        confirmed: Preview | None = None,
        production: bool = False,
    ) -> Result:
        """Send the tool's request(s). A `confirmed` preview of another object version is refused as stale."""
        found = intent(command, self.index(objects), self.now())
        fresh = _preview(command, found, production)
        if confirmed is not None and confirmed.version != fresh.version:
            return Result(
                False,
                f"{command.target} changed since the preview; review it again.",
                command.target,
                stale=True,
                preview=fresh,
            )
        if found.impossible:
            return Result(False, found.impossible, command.target, preview=fresh)
        try:
            if found.plan is not None:
                await _send_plan(cluster, found, found.plan)
            elif found.gate is not None:
                await _call_gate(cluster, found.gate)
        except BackendError as err:
            return Result(
                False,
                f"{found.tool} on {command.target} failed: {err.sentence}",
                command.target,
                details={"audit": self._audit(command, found, actor, err.sentence)},
            )
        message = f"{found.tool} sent to {found.kind} {command.target}."
        event_problem = await _record_event(cluster, found, command, actor)
        if event_problem:
            message += f" {event_problem}"
        return Result(True, message, command.target, details={"audit": self._audit(command, found, actor, "")})

    def _audit(self, command: RolloutCommand, found: Intent, actor: str, error: str) -> AuditEvent:
        driver = "argo" if found.kind == "Rollout" else "flagger"
        return AuditEvent(
            t=self.now(),
            actor=actor,
            target=command.target,
            action=f"{driver} {command.verb.value}",
            reason=command.reason or found.tool,
            before={c.what: c.before for c in found.changes},
            after={c.what: c.after for c in found.changes} | ({"error": error} if error else {}),
            level=Level.ERROR if error else Level.INFO,
        )


def _with_extras(
    view: CanaryView, images: Mapping[tuple[str, str], str], gates: Mapping[str, str], plan: GatePlan | None
) -> Rollout:
    r = view.rollout
    target = view.target_ref or r.name
    extra: dict[str, object] = {}
    if plan is not None and plan.gates:
        extra["gates"] = tuple(sorted({g.kind for g in plan.gates}))
        extra["gate_services"] = {g.kind: f"{g.namespace}/{g.service}" for g in plan.gates}
    if (r.namespace, target) in images:
        extra["canary_image"] = images[(r.namespace, target)]
    if (r.namespace, f"{target}-primary") in images:
        extra["stable_image"] = images[(r.namespace, f"{target}-primary")]
    if gates:
        said = "; ".join(f"{kind} gate {state}" for kind, state in sorted(gates.items()))
        extra["message"] = f"{r.message} ({said})" if r.message else said.capitalize()
    return r.model_copy(update=extra) if extra else r


def _preview(command: RolloutCommand, found: Intent, production: bool) -> Preview:
    title = f"{command.verb.value} {found.kind or 'object'} {command.target}"
    if found.impossible:
        return Preview(command, title, (found.impossible,), found.version, possible=False)
    return Preview(
        command,
        title,
        found.lines,
        found.version,
        destructive=found.destructive,
        confirm_name=command.target if production and found.destructive else None,
        changes=found.changes,
    )


async def _send_plan(cluster: ObjectWrites, found: Intent, plan: Plan) -> None:
    """As the Argo CLI does: the status patch first; NotFound there means no status subresource
    (Rollouts v0.9), so the unified patch goes to the object instead of the spec patch."""
    namespace, name = found.target.split("/", 1)
    spec = plan.spec
    if plan.status is not None:
        try:
            await cluster.patch_object(
                plan.status.api_version,
                plan.status.kind,
                namespace,
                name,
                plan.status.body,
                plan.status.patch_type,
                subresource="status",
            )
        except NotFound:
            spec = plan.unified
    if spec is not None:
        target = spec.name or name  # undo of a Rollout whose template is another object's (spec.workloadRef)
        await cluster.patch_object(spec.api_version, spec.kind, namespace, target, spec.body, spec.patch_type)


async def _call_gate(cluster: ObjectWrites, call: GateCall) -> None:
    g = call.gate
    status, text = await cluster.proxy(
        g.namespace, "services", g.service, g.port, g.path(call.action), "POST", call.body
    )
    if status not in (200, 202):
        raise BackendError(
            "load tester",
            f"{g.service}.{g.namespace} answered {status} {clean(text.strip(), 80)} to "
            f"{g.path(call.action)}; check the load tester and its namespace filter",
        )


async def _record_event(cluster: ObjectWrites, found: Intent, command: RolloutCommand, actor: str) -> str:
    """Record the action as a Kubernetes Event on the object; a sentence when that is not possible."""
    if not isinstance(cluster, EventWrites):
        return "(No Kubernetes Event: this cluster backend cannot record one.)"
    namespace, name = found.target.split("/", 1)
    note = f"{actor} ran {found.tool} from Shiftroom" + (f": {command.reason}" if command.reason else "")
    try:
        await cluster.record_object_event(found.api_version, found.kind, namespace, name, command.verb.value, note)
    except BackendError as err:
        return f"(The Kubernetes Event was not recorded: {err.sentence})"
    return ""
