"""Which cluster writes each room action makes on a row: what the engine asks the cluster it may do.

Pure. Shiftroom's own targets (app/control/canary*.py, bluegreen*.py): every command also saves the
controller's state annotation, a canary's on its Deployment, a blue-green pair's on its Service. Replicas
go through the `scale` subresource, weights through the target's router object (the cluster knows which
resource that is). Another controller's rollouts: the objects its own tool patches (app/foreign/verbs.py):
Argo's promote, abort and retry patch the Rollout's `status` subresource first, the other verbs its spec;
Flagger's suspend and skip-analysis patch the Canary, and its gates (promote and step open the promotion
gate, abort the rollback gate, g / G close them) are POSTs through the API server's proxy to the load
tester's Service: `create` on `services/proxy` in the load tester's namespace (app/foreign/gates.py).
The Lease and the Events every driven target needs are not here: without them the room opens read-only
(app/live.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from app.control.commands import BOOTSTRAP, Verb
from app.model import Rollout, Strategy
from backends.base import AccessCheck, Kind

MODES = (Verb.PAUSE, Verb.RESUME, Verb.AUTO, Verb.MANUAL)
#: The verbs each kind of row offers, in the order the room lists them.
OWN_VERBS: dict[Strategy, tuple[str, ...]] = {
    Strategy.CANARY: tuple(v.value for v in (Verb.STEP, Verb.PROMOTE, Verb.ABORT, Verb.UNDO, *MODES)),
    Strategy.BLUE_GREEN: tuple(v.value for v in (Verb.SWITCH, Verb.ABORT, Verb.UNDO, *MODES)),
}
ARGO_STATUS = (Verb.PROMOTE, Verb.STEP, Verb.PROMOTE_FULL, Verb.ABORT, Verb.RETRY)
ARGO_SPEC = (Verb.PROMOTE_FULL, Verb.PAUSE, Verb.RESUME, Verb.UNDO, Verb.RESTART)
FLAGGER_SPEC = (Verb.PAUSE, Verb.RESUME, Verb.SKIP_ANALYSIS)
#: Flagger verbs that call the load tester: the gates each may open or close.
FLAGGER_GATES: dict[str, tuple[str, ...]] = {
    Verb.PROMOTE.value: ("promotion",),
    Verb.STEP.value: ("promotion",),
    Verb.ABORT.value: ("rollback",),
    Verb.OPEN_GATE.value: ("promotion", "rollback"),
    Verb.CLOSE_GATE.value: ("promotion", "rollback"),
}
FOREIGN_VERBS: dict[str, tuple[str, ...]] = {
    "argo": tuple(dict.fromkeys(v.value for v in (*ARGO_STATUS, *ARGO_SPEC))),
    "flagger": (*(v.value for v in FLAGGER_SPEC), *FLAGGER_GATES),
}
ARGO_ROLLOUT = ("argoproj.io/v1alpha1", "Rollout")
FLAGGER_CANARY = ("flagger.app/v1beta1", "Canary")


def _patch(kind: str, namespace: str, sub: str = "", target: str = "") -> AccessCheck:
    return AccessCheck(verb="patch", kind=kind, namespace=namespace, sub=sub, target=target)


def _list_replicasets(namespace: str) -> AccessCheck:
    """Undo (`kubectl rollout undo`, `kubectl argo rollouts undo`) reads the revisions it goes back to."""
    return AccessCheck(verb="list", kind="ReplicaSet", namespace=namespace)


def own_needs(rollout: Rollout, verb: str) -> tuple[AccessCheck, ...]:
    """The writes `verb` makes on one of Shiftroom's own targets (none: the verb does not apply)."""
    ns = rollout.namespace
    dep, scale = _patch("Deployment", ns), _patch("Deployment", ns, "scale")
    if rollout.strategy is Strategy.CANARY:
        route = _patch("Route", ns, target=rollout.name)
        table: dict[str, tuple[AccessCheck, ...]] = {
            Verb.STEP.value: (route, dep),
            Verb.PROMOTE.value: (dep, route, scale),
            Verb.ABORT.value: (route, scale, dep),
            Verb.UNDO.value: (dep, _list_replicasets(ns)),
        }
        state = dep
    else:
        svc = _patch("Service", ns)
        table = {
            Verb.SWITCH.value: (svc, scale),
            Verb.ABORT.value: (scale, svc),
            Verb.UNDO.value: (dep, svc, _list_replicasets(ns)),
        }
        state = svc
    table.update({v.value: (state,) for v in MODES})
    return table.get(verb, ())


def bootstrap_needs(rollout: Rollout, missing: Iterable[Kind]) -> tuple[AccessCheck, ...]:
    """Creating the missing parts of a canary's layout, then scaling its deployment to 0."""
    ns = rollout.namespace
    creates = [
        AccessCheck(verb="create", kind=kind, namespace=ns, target=rollout.name if kind == "Route" else "")
        for kind in dict.fromkeys(missing)
    ]
    return (*creates, _patch("Deployment", ns, "scale"))


def foreign_needs(rollout: Rollout, verb: str) -> tuple[AccessCheck, ...]:
    """The patches an Argo Rollout's or a Flagger Canary's own tool sends for `verb`, and the proxy requests
    to the load tester's Service a Canary's gate verbs make (none when no webhook names that gate)."""
    ns = rollout.namespace
    if rollout.driven_by == "argo":
        api, kind = ARGO_ROLLOUT
        out = []
        if verb in {v.value for v in ARGO_STATUS}:
            out.append(AccessCheck(verb="patch", kind=kind, namespace=ns, sub="status", api_version=api))
        if verb in {v.value for v in ARGO_SPEC}:
            out.append(AccessCheck(verb="patch", kind=kind, namespace=ns, api_version=api))
        if verb == Verb.UNDO.value:
            out.append(_list_replicasets(ns))
        return tuple(out)
    if rollout.driven_by == "flagger" and verb in {v.value for v in FLAGGER_SPEC}:
        api, kind = FLAGGER_CANARY
        return (AccessCheck(verb="patch", kind=kind, namespace=ns, api_version=api),)
    if rollout.driven_by == "flagger" and (gates := FLAGGER_GATES.get(verb)):
        services = dict.fromkeys(rollout.gate_services[g] for g in gates if g in rollout.gate_services)
        return tuple(_proxy(service) for service in services)
    return ()


def _proxy(service: str) -> AccessCheck:
    """A request to `<namespace>/<service>` through the API server (POST: the `create` verb)."""
    return AccessCheck(verb="create", kind="Service", namespace=service.split("/", 1)[0], sub="proxy")


def row_needs(rollout: Rollout, missing: Iterable[Kind] = ()) -> dict[str, tuple[AccessCheck, ...]]:
    """verb → the writes it makes, for every verb the row offers (`missing`: the parts a bootstrap creates)."""
    if rollout.driven_by != "shiftroom":
        return {v: foreign_needs(rollout, v) for v in FOREIGN_VERBS.get(rollout.driven_by, ())}
    out = {v: own_needs(rollout, v) for v in OWN_VERBS[rollout.strategy]}
    missing = tuple(missing)
    if missing:
        out[BOOTSTRAP] = bootstrap_needs(rollout, missing)
    return out
