"""Which objects a target is made of, and each row of the snapshot with its recent Events.

- a canary target (Flagger's layout): Deployments `<deployment>` and `<deployment>-primary`,
  Services `<service>`, `-primary` and `-canary`, and its router object (named after the
  target; NGINX's canary Ingress `<target>-canary`);
- a blue-green target: Deployments `<deployment>-blue` / `-green` and its Service;
- a Flagger Canary: the Canary, its targetRef Deployment (and `-primary`), its Services;
- an Argo Rollout: the Rollout, its workloadRef Deployment and the Services its strategy names.
ReplicaSets count for the Deployment or Rollout they belong to (see event_book.anchors).
Where the identity may not list or watch Events, a row carries `events_unseen` (UNSEEN) instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.control.event_book import EventBook, Regarding
from app.model import Rollout, Strategy, Target
from backends.base import ForeignObject

UNSEEN = (
    "this identity may not list Events in {where} (events.k8s.io list or watch denied); "
    "`shiftroom doctor` shows what to bind"
)
ROUTER_KINDS = ("Route", "VirtualService", "HTTPRoute", "TrafficSplit", "Ingress")


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(*values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str) and v]


def target_objects(t: Target) -> frozenset[Regarding]:
    ns = t.namespace
    d = t.deployment or t.name
    if t.strategy is Strategy.BLUE_GREEN:
        colours = {("Deployment", ns, f"{d}-{c}") for c in ("blue", "green")}
        return frozenset(colours | {("Service", ns, t.service or t.name), ("Service", ns, t.service or d)})
    svc = t.service or d
    out = {("Deployment", ns, d), ("Deployment", ns, f"{d}-primary")}
    out |= {("Service", ns, n) for n in (svc, f"{svc}-primary", f"{svc}-canary")}
    out |= {(k, ns, t.name) for k in ROUTER_KINDS} | {("Ingress", ns, f"{t.name}-canary")}
    return frozenset(out)


def foreign_objects(objects: Iterable[ForeignObject]) -> dict[str, frozenset[Regarding]]:
    """Row key → objects, for every Flagger Canary and Argo Rollout."""
    out: dict[str, set[Regarding]] = {}
    for o in objects:
        ns, spec = o.namespace, _d(o.body.get("spec"))
        if o.kind == "Canary" and o.api_version.startswith("flagger.app/"):
            ref = _names(_d(spec.get("targetRef")).get("name"))
            svc = _names(_d(spec.get("service")).get("name")) or ref
            got = {("Canary", ns, o.name)} | {("Deployment", ns, n) for r in ref for n in (r, f"{r}-primary")}
            got |= {("Service", ns, n) for s in svc for n in (s, f"{s}-primary", f"{s}-canary")}
        elif o.kind == "Rollout" and o.api_version.startswith("argoproj.io/"):
            strategy = _d(spec.get("strategy"))
            canary, bg = _d(strategy.get("canary")), _d(strategy.get("blueGreen"))
            services = _names(canary.get("canaryService"), canary.get("stableService"))
            services += _names(bg.get("activeService"), bg.get("previewService"))
            got = {("Rollout", ns, o.name)} | {("Service", ns, s) for s in services}
            got |= {("Deployment", ns, n) for n in _names(_d(spec.get("workloadRef")).get("name"))}
        else:
            continue
        out.setdefault(f"{ns}/{o.name}", set()).update(got)
    return {k: frozenset(v) for k, v in out.items()}


def with_events(
    rows: Iterable[Rollout],
    targets: Mapping[str, Target],
    foreign: Iterable[ForeignObject],
    book: EventBook,
    now: float,
) -> list[Rollout]:
    """Each row with the newest Events about its objects (and the book focused on every row's objects), or
    the sentence saying why they cannot be shown."""
    objects = {key: target_objects(t) for key, t in targets.items()} | foreign_objects(foreign)
    rows = list(rows)
    book.focus((o for r in rows for o in objects.get(r.key, ())), now)
    out = []
    for r in rows:
        events = book.recent(objects.get(r.key, ()), now)
        where = book.unseen(r.namespace)
        unseen = UNSEEN.format(where=where) if where else ""
        if events != r.events or unseen != r.events_unseen:
            r = r.model_copy(update={"events": events, "events_unseen": unseen})
        out.append(r)
    return out
