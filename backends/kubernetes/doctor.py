"""`shiftroom doctor`: may this identity do what Shiftroom needs, and what is installed?

One SelfSubjectAccessReview per (verb, resource, namespace); discovery for the CRDs. The room asks
the same questions the same way (`review`), for the writes its keys would make, so the doctor's
rows and the keys the room disables agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from backends.base import AccessAnswer, AccessCheck
from backends.kubernetes import discovery
from backends.kubernetes import resources as r
from backends.kubernetes.client import Api
from backends.kubernetes.errors import What, from_status
from backends.kubernetes.permissions import DRIVING, OPERATOR
from backends.kubernetes.resources import (
    ANALYSISRUNS,
    CANARIES,
    EXPERIMENTS,
    HTTPROUTES,
    METRICTEMPLATES,
    ROLLOUTS,
    TRAFFICSPLITS,
    VIRTUALSERVICES,
    Res,
)

CRDS: tuple[tuple[str, Res], ...] = (
    ("istio router", VIRTUALSERVICES),
    ("gateway-api router", HTTPROUTES),
    ("smi router", TRAFFICSPLITS),
    ("flagger", CANARIES),
    ("flagger", METRICTEMPLATES),
    ("argo rollouts", ROLLOUTS),
    ("argo rollouts", ANALYSISRUNS),
    ("argo rollouts", EXPERIMENTS),
)


@dataclass(frozen=True)
class Row:
    verb: str
    resource: str  # plural[/sub].group
    namespace: str  # "" = all namespaces
    allowed: bool
    needed: bool  # counts for the exit code (its CRD is installed, and the mode needs it)
    why: str = ""
    reason: str = ""


@dataclass(frozen=True)
class CrdRow:
    what: str
    crd: str
    installed: bool


@dataclass(frozen=True)
class Report:
    identity: str
    rows: tuple[Row, ...]
    crds: tuple[CrdRow, ...]

    @property
    def ok(self) -> bool:
        return all(r.allowed for r in self.rows if r.needed)

    @property
    def missing(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.needed and not r.allowed)

    @property
    def blocking(self) -> tuple[Row, ...]:
        """Missing rows without which no target can be driven at all (its Lease, its Events): a read-only room."""
        driving = {(verb, resource_name(res, sub)) for verb, res, sub in DRIVING}
        return tuple(r for r in self.missing if (r.verb, r.resource) in driving)

    def to_json(self) -> dict[str, object]:
        return {
            "identity": self.identity,
            "ok": self.ok,
            "permissions": [asdict(r) for r in self.rows],
            "crds": [asdict(c) for c in self.crds],
        }


def resource_name(res: Res, sub: str = "") -> str:
    """As the 403 sentence names a resource: deployments.apps/scale, pods/proxy."""
    name = f"{res.plural}.{res.group}" if res.group else res.plural
    return f"{name}/{sub}" if sub else name


@dataclass(frozen=True)
class Ask:
    """One SelfSubjectAccessReview: may this identity `verb` `res`[/`sub`] in `namespace` (None: everywhere)?"""

    verb: str
    res: Res
    namespace: str | None
    sub: str = ""


PARALLEL = 8  # reviews in flight at once: quick on a big list, gentle on the API server


async def ask_all(api: Api, asks: Sequence[Ask]) -> list[tuple[bool, str]]:
    """(allowed, the authorizer's reason) for each ask, in order."""
    gate = asyncio.Semaphore(PARALLEL)

    async def one(a: Ask) -> tuple[bool, str]:
        async with gate:
            return await discovery.can_i(api, a.verb, a.res, a.namespace, a.sub)

    return list(await asyncio.gather(*(one(a) for a in asks)))


async def run(api: Api, namespaces: list[str] | None, read_only: bool = False) -> Report:
    """Raises `Unavailable` when the API server cannot be reached."""
    await discovery.version(api)
    identity = await discovery.whoami(api)
    cache: dict[str, bool] = {}
    crds = tuple([CrdRow(what, res.crd, await discovery.served(api, res, cache)) for what, res in CRDS])
    installed = {c.crd for c in crds if c.installed}
    spaces: list[str | None] = list(namespaces) if namespaces else [None]
    asked = [(ns, need, verb) for ns in spaces for need in OPERATOR for verb in need.verbs]
    answers = await ask_all(api, [Ask(verb, need.res, ns, need.sub) for ns, need, verb in asked])
    rows = [
        Row(
            verb=verb,
            resource=resource_name(need.res, need.sub),
            namespace=ns or "",
            allowed=allowed,
            needed=(not need.crd or need.res.crd in installed) and (not read_only or verb in need.view_verbs),
            why=need.why,
            reason=reason,
        )
        for (ns, need, verb), (allowed, reason) in zip(asked, answers, strict=True)
    ]
    return Report(identity=identity, rows=tuple(rows), crds=crds)


# ---------------------------------------------------------------- the room's questions

RouteRes = Callable[[str, str], Res | None]  # (namespace, target name) → the router resource of that target
PLAIN = {
    "Deployment": r.DEPLOYMENTS,
    "Service": r.SERVICES,
    "Lease": r.LEASES,
    "Event": r.EVENTS,
    "Pod": r.PODS,
    "ReplicaSet": r.REPLICASETS,
}


def resolve(check: AccessCheck, route_res: RouteRes) -> Ask | None:
    """The review a room's check stands for; None when this cluster does not know what it names."""
    if check.kind == "Route":
        res = route_res(check.namespace, check.target)
    elif check.api_version:
        res = r.resource_for(check.api_version, check.kind)
    else:
        res = PLAIN.get(check.kind)
    return Ask(check.verb, res, check.namespace or None, check.sub) if res is not None else None


async def review(
    api: Api, identity: str, checks: Sequence[AccessCheck], route_res: RouteRes
) -> dict[AccessCheck, AccessAnswer]:
    """Each check answered with one SelfSubjectAccessReview per distinct (verb, resource, namespace); a denied
    one carries the sentence a 403 of that request would get."""
    asks = {c: a for c in dict.fromkeys(checks) if (a := resolve(c, route_res)) is not None}
    distinct = list(dict.fromkeys(asks.values()))
    found = dict(zip(distinct, await ask_all(api, distinct), strict=True))
    out: dict[AccessCheck, AccessAnswer] = {}
    for check, ask in asks.items():
        what = What(ask.verb, ask.res, ask.namespace, sub=ask.sub)
        allowed = found[ask][0]
        sentence = "" if allowed else from_status(403, b"", what, identity).sentence
        out[check] = AccessAnswer(allowed=allowed, resource=resource_name(ask.res, ask.sub), sentence=sentence)
    return out
