"""`shiftroom doctor`: may this identity do what Shiftroom needs, and what is installed?

One SelfSubjectAccessReview per (verb, resource, namespace); discovery for the CRDs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from backends.kubernetes import discovery
from backends.kubernetes.client import Api
from backends.kubernetes.permissions import OPERATOR
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

    def to_json(self) -> dict[str, object]:
        return {
            "identity": self.identity,
            "ok": self.ok,
            "permissions": [asdict(r) for r in self.rows],
            "crds": [asdict(c) for c in self.crds],
        }


async def run(api: Api, namespaces: list[str] | None, read_only: bool = False) -> Report:
    """Raises `Unavailable` when the API server cannot be reached."""
    await discovery.version(api)
    identity = await discovery.whoami(api)
    cache: dict[str, bool] = {}
    crds = tuple([CrdRow(what, res.crd, await discovery.served(api, res, cache)) for what, res in CRDS])
    installed = {c.crd for c in crds if c.installed}
    rows: list[Row] = []
    spaces: list[str | None] = list(namespaces) if namespaces else [None]
    for ns in spaces:
        for need in OPERATOR:
            counts = not need.crd or need.res.crd in installed
            verbs = need.verbs
            for verb in verbs:
                allowed, reason = await discovery.can_i(api, verb, need.res, ns, need.sub)
                # as the 403 sentence names it: deployments.apps/scale, pods/proxy
                name = f"{need.res.plural}.{need.res.group}" if need.res.group else need.res.plural
                name = f"{name}/{need.sub}" if need.sub else name
                needed = counts and (not read_only or verb in need.view_verbs)
                rows.append(
                    Row(
                        verb=verb,
                        resource=name,
                        namespace=ns or "",
                        allowed=allowed,
                        needed=needed,
                        why=need.why,
                        reason=reason,
                    )
                )
    return Report(identity=identity, rows=tuple(rows), crds=crds)
