"""What a room command means on a rollout another controller drives: the upstream tool's request.

Pure. `intent(command, index, now)` maps a `RolloutCommand` to an `Intent`: the exact patch
(`app.foreign.verbs`) or the load tester gate call (`app.foreign.gates`), the preview's
lines and field changes, or one sentence saying why the command does not apply.

Argo:    STEP / PROMOTE → `promote`, PROMOTE_FULL → `promote --full`, ABORT → `abort`,
         RETRY → `retry`, PAUSE → `pause`, RESUME → unpause, UNDO → `undo [--to-revision]`,
         RESTART → `restart`.
Flagger: PAUSE / RESUME → spec.suspend, SKIP_ANALYSIS → spec.skipAnalysis,
         PROMOTE / STEP → open the promotion gate, ABORT → open the rollback gate,
         OPEN_GATE / CLOSE_GATE → the named gate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from app.control.commands import DESTRUCTIVE, Change, RolloutCommand, Verb
from app.control.foreign_index import ForeignIndex
from app.foreign import verbs
from app.foreign.fields import Fields
from app.foreign.gates import Gate, gate_body
from app.foreign.verbs import Plan


@dataclass(frozen=True)
class GateCall:
    gate: Gate
    action: str  # "open" or "close"
    body: bytes


@dataclass(frozen=True)
class Intent:
    target: str
    api_version: str = ""
    kind: str = ""
    tool: str = ""  # the upstream command it reproduces: "kubectl argo rollouts promote"
    plan: Plan | None = None
    gate: GateCall | None = None
    impossible: str = ""
    destructive: bool = False
    lines: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    version: str = ""


def _leaves(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{prefix}.{k}" if prefix else k)]
    return [(prefix, node)]


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value, separators=(",", ":"))[:80]


def plan_changes(plan: Plan, body: dict[str, Any]) -> tuple[Change, ...]:
    """Each field the plan writes, with its value now and after (a JSON patch shows its path)."""
    f = Fields(body, "object")
    out: list[Change] = []
    for request in plan.requests():
        patch = json.loads(request.body)
        if request.patch_type == "json":
            for op in patch:
                path = str(op.get("path", "")).strip("/").replace("/", ".")
                out.append(Change(path, _images(f.raw(path)), _images(op.get("value"))))
            continue
        for path, value in _leaves(patch):
            out.append(Change(path, _show(f.raw(path)), _show(value)))
    return tuple(out)


def _images(template: Any) -> str:
    f = Fields(template, "template")
    images = [str(c.get("image", "")) for c in f.items("spec.containers")]
    return ", ".join(images) if images else _show(template)


def _argo_plan(command: RolloutCommand, body: dict[str, Any], index: ForeignIndex, now: float) -> Plan | str:
    view = index.rollouts[command.target]
    v = command.verb
    if v in (Verb.PROMOTE, Verb.STEP):
        if not view.spec_paused and view.stable_rs == view.current_hash and view.stable_rs:
            return f"Rollout {command.target} is fully promoted: there is nothing to promote."
        return verbs.argo_promote(body)
    if v is Verb.PROMOTE_FULL:
        return verbs.argo_promote(body, full=True)
    if v is Verb.ABORT:
        return f"Rollout {command.target} is already aborted." if view.aborted else verbs.argo_abort()
    if v is Verb.RETRY:
        return verbs.argo_retry() if view.aborted else f"Rollout {command.target} is not aborted: nothing to retry."
    if v is Verb.PAUSE:
        return f"Rollout {command.target} is already paused (spec.paused)." if view.spec_paused else verbs.argo_pause()
    if v is Verb.RESUME:
        if view.spec_paused:
            return verbs.argo_resume()
        if view.pause_conditions:
            return f"Rollout {command.target} is paused at a step, not by hand: promote it to go on."
        return f"Rollout {command.target} is not paused."
    if v is Verb.UNDO:
        return verbs.argo_undo(body, list(index.replica_sets.get(command.target, ())), command.revision or 0)
    if v is Verb.RESTART:
        return verbs.argo_restart(now)
    return (
        f"Argo Rollouts has no '{v.value}' for Rollout {command.target}; its verbs are promote, abort, "
        "retry, pause, resume, undo and restart."
    )


def _flagger_intent(command: RolloutCommand, index: ForeignIndex) -> Plan | GateCall | str:
    view = index.canaries[command.target]
    v = command.verb
    if v is Verb.PAUSE:
        return f"Canary {command.target} is already suspended." if view.suspended else verbs.flagger_suspend(True)
    if v is Verb.RESUME:
        return verbs.flagger_suspend(False) if view.suspended else f"Canary {command.target} is not suspended."
    if v is Verb.SKIP_ANALYSIS:
        if view.skip_analysis:
            return f"Canary {command.target} already skips its analysis."
        return verbs.flagger_skip_analysis()
    wanted = {
        Verb.PROMOTE: ("promotion", "open"),
        Verb.STEP: ("promotion", "open"),
        Verb.ABORT: ("rollback", "open"),
        Verb.OPEN_GATE: (command.gate, "open"),
        Verb.CLOSE_GATE: (command.gate, "close"),
    }.get(v)
    plan = index.gates[command.target]
    if wanted is None:
        return f"Flagger has no '{v.value}': {plan.summary}"
    kind, action = wanted
    gate = next((g for g in plan.gates if g.kind == kind), None)
    if gate is None:
        return plan.summary
    name, namespace = command.target.split("/", 1)[1], command.target.split("/", 1)[0]
    return GateCall(gate, action, gate_body(name, namespace))


def intent(command: RolloutCommand, index: ForeignIndex, now: float) -> Intent:
    obj = index.bodies.get(command.target)
    if obj is None:
        return Intent(command.target, impossible=f"{command.target} is not a Flagger Canary or an Argo Rollout.")
    base = Intent(
        command.target, obj.api_version, obj.kind, version=f"{obj.kind}/{command.target}@{obj.resource_version}"
    )
    if obj.kind == "Rollout":
        found: Plan | GateCall | str = _argo_plan(command, obj.body, index, now)
    else:
        found = _flagger_intent(command, index)
    if isinstance(found, str):
        return _replace(base, impossible=found)
    if isinstance(found, GateCall):
        return _gate_intent(base, found, command)
    if found.skip:
        return _replace(base, impossible=f"Rollout {command.target}: {found.skip}.")
    if obj.kind == "Rollout":
        tool = f"kubectl argo rollouts {found.verb}"
        first = f"{tool} {obj.name} -n {obj.namespace}"
    else:
        tool = f"{found.verb} (kubectl patch canary --type=merge)"
        body = b"".join(r.body for r in found.requests()).decode()
        first = f"kubectl patch canary {obj.name} -n {obj.namespace} --type=merge -p '{body}'"
    lines = [first, *_request_lines(found)]
    if command.verb is Verb.SKIP_ANALYSIS:
        lines.append("Flagger then promotes the canary without running any check.")
    return _replace(
        base,
        tool=tool,
        plan=found,
        destructive=command.verb in DESTRUCTIVE,
        lines=tuple(lines),
        changes=plan_changes(found, obj.body),
    )


def _request_lines(plan: Plan) -> list[str]:
    out = []
    for r in plan.requests():
        where = f"{r.kind.lower()}/status" if r.subresource else r.kind.lower() + (f" {r.name}" if r.name else "")
        out.append(f"PATCH {where} ({r.patch_type}): {r.body.decode()[:160]}")
    if plan.status is not None and plan.unified is not None:
        out.append("(without a status subresource: one patch of the object, as the CLI does)")
    return out


def _gate_intent(base: Intent, call: GateCall, command: RolloutCommand) -> Intent:
    g = call.gate
    path = g.path(call.action)
    lines = (
        f"POST services/{g.service}:{g.port}/proxy{path} in {g.namespace} (through the API server)",
        f"asked by: {', '.join(g.hooks)}",
        "the gate stays as set until it is opened or closed again"
        if g.kind == "promotion"
        else "Flagger rolls the canary back at its next check of the rollback gate",
    )
    destructive = call.action == "open"
    return _replace(
        base,
        tool=f"load tester {path}",
        gate=call,
        destructive=destructive,
        lines=lines,
        changes=(Change(f"{g.kind} gate", "", "open" if call.action == "open" else "closed"),),
    )


def _replace(base: Intent, **changes: Any) -> Intent:
    return replace(base, **changes)
