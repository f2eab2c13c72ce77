"""Flagger's load tester manual gates, driven through the API server's service proxy.

The load tester (fluxcd/flagger `pkg/loadtester/server.go`) keeps one gate per Canary,
keyed `<name>.<namespace>`, and one rollback gate keyed `rollback.<name>.<namespace>`:

    /gate/check      200 "Approved" when open, 403 "Forbidden" when closed (webhook URL)
    /gate/open       opens it (202)     /gate/close     closes it (202)
    /rollback/check  the same for the rollback gate, with /rollback/open and /rollback/close
    /gate/approve    always 200, /gate/halt always 403 (fixed: nothing to drive)

Every POST carries the Canary's name and namespace, the body Flagger's docs send with
curl (`docs/gitbook/usage/webhooks.md`, "Manual Gating"). confirm-rollout,
confirm-traffic-increase and confirm-promotion webhooks pointing at `/gate/check` share
the one gate: opening it lets all of them pass.

The webhook URL names the load tester's Service as Flagger's pod resolves it:
`http://<service>.<namespace>[.svc[.cluster.local]][:port]/gate/check`. A bare
`<service>` resolves in Flagger's own namespace, which the room cannot know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.model import HookType, Webhook

CHECK_PATHS = {"/gate/check": "promotion", "/rollback/check": "rollback"}
FIXED_PATHS = {"/gate/approve": "always open", "/gate/halt": "always closed"}
GATED_HOOKS = (
    HookType.CONFIRM_ROLLOUT,
    HookType.CONFIRM_TRAFFIC_INCREASE,
    HookType.CONFIRM_PROMOTION,
    HookType.ROLLBACK,
)


@dataclass(frozen=True)
class Gate:
    """One load tester gate a Canary's webhook asks, and where to reach it through the proxy."""

    kind: str  # "promotion" (the /gate/* gate) or "rollback"
    hooks: tuple[str, ...]  # the webhooks that ask it: "confirm-promotion 'approve'"
    service: str
    namespace: str
    port: str  # as the proxy path names it: "80", "http", "https:443"...
    prefix: str  # "" or the path before /gate (a load tester behind a path prefix)

    def path(self, action: str) -> str:
        """`check`, `open` or `close` of this gate."""
        root = "/gate" if self.kind == "promotion" else "/rollback"
        return f"{self.prefix}{root}/{action}"


@dataclass(frozen=True)
class GatePlan:
    gates: tuple[Gate, ...]
    fixed: tuple[str, ...]  # sentences about /gate/approve and /gate/halt hooks
    problems: tuple[str, ...]  # webhooks that point at a gate the room cannot reach
    summary: str  # what can and cannot be done from the room, one sentence


def gate_body(name: str, namespace: str) -> bytes:
    """The body the load tester reads (a CanaryWebhookPayload), as Flagger's docs send it with curl."""
    return f'{{"name": {json.dumps(name)},"namespace":{json.dumps(namespace)}}}'.encode()


def _target(url: str) -> tuple[str, str, str, str, str] | str:
    """(kind or fixed, service, namespace, port, prefix) of a gate URL, or a sentence why not."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    ends = next((p for p in (*CHECK_PATHS, *FIXED_PATHS) if path.endswith(p)), None)
    if ends is None or parts.hostname is None:
        return ""
    host = parts.hostname.split(".")
    if len(host) < 2 or (len(host) > 2 and host[2] != "svc"):
        return (
            f"{url} names no namespace (Flagger resolves it from its own): write it as "
            "http://<service>.<namespace>/... so the room can reach the gate"
        )
    try:
        port = str(parts.port or (443 if parts.scheme == "https" else 80))
    except ValueError:
        return f"{url} has a port that is not a number"
    if parts.scheme == "https":
        port = f"https:{port}"
    kind = CHECK_PATHS.get(ends) or FIXED_PATHS[ends]
    return kind, host[0], host[1], port, path[: -len(ends)]


def gate_plan(name: str, namespace: str, hooks: tuple[Webhook, ...]) -> GatePlan:
    found: dict[tuple[str, str, str, str, str], list[str]] = {}
    fixed: list[str] = []
    problems: list[str] = []
    for hook in hooks:
        if hook.type not in GATED_HOOKS:
            continue
        target = _target(hook.url)
        if target == "":
            continue
        if isinstance(target, str):
            problems.append(f"{hook.type.value} webhook '{hook.name}': {target}.")
            continue
        kind = target[0]
        if kind in FIXED_PATHS.values():
            fixed.append(
                f"{hook.type.value} webhook '{hook.name}' is {kind} ({hook.url}): edit the Canary to change it."
            )
            continue
        found.setdefault(target, []).append(f"{hook.type.value} '{hook.name}'")
    gates = tuple(
        Gate(kind=k, hooks=tuple(v), service=s, namespace=ns, port=p, prefix=pre)
        for (k, s, ns, p, pre), v in found.items()
    )
    return GatePlan(gates, tuple(fixed), tuple(problems), _summary(name, namespace, gates, fixed, problems))


def _summary(name: str, namespace: str, gates: tuple[Gate, ...], fixed: list[str], problems: list[str]) -> str:
    kinds = {g.kind for g in gates}
    can = ["suspend and resume it (spec.suspend)", "skip its analysis (spec.skipAnalysis)"]
    if "promotion" in kinds:
        can.append("open and close its promotion gate")
    if "rollback" in kinds:
        can.append("open and close its rollback gate")
    cannot = []
    if "promotion" not in kinds:
        cannot.append("approve a step or the promotion (no confirm webhook at the load tester's /gate/check)")
    if "rollback" not in kinds:
        cannot.append("roll it back by hand (no rollback webhook at /rollback/check)")
    text = f"Canary {namespace}/{name}: from the room you can " + ", ".join(can)
    if cannot:
        text += "; you cannot " + " or ".join(cannot)
    if problems:
        text += f"; {len(problems)} gate webhook(s) cannot be reached"
    return text + "."
