"""Every verb Shiftroom needs, per resource: the one list `shiftroom doctor` checks and
`deploy/rbac.yaml` grants (a test keeps them equal)."""

from __future__ import annotations

from dataclasses import dataclass

from backends.kubernetes import resources as r
from backends.kubernetes.resources import Res

READ = ("get", "list", "watch")


@dataclass(frozen=True)
class Need:
    res: Res
    verbs: tuple[str, ...]  # what driving needs (operator)
    sub: str = ""
    why: str = ""
    crd: bool = False  # only needed when the CRD is installed

    @property
    def resource(self) -> str:
        return f"{self.res.plural}/{self.sub}" if self.sub else self.res.plural

    @property
    def view_verbs(self) -> tuple[str, ...]:
        """What a read-only room needs of it (the viewer role)."""
        return tuple(v for v in self.verbs if v in READ) if not self.sub else ()


OPERATOR: tuple[Need, ...] = (
    Need(r.DEPLOYMENTS, (*READ, "create", "patch"), why="images, state annotation, bootstrap of <d>-primary"),
    Need(r.DEPLOYMENTS, ("get", "patch"), sub="scale", why="replicas through the scale subresource"),
    Need(r.REPLICASETS, READ, why="revisions for rollout undo"),
    Need(r.SERVICES, (*READ, "create", "patch"), why="blue-green selector, state annotation, bootstrap"),
    Need(r.SERVICES, ("get", "create"), sub="proxy", why="requests to services through the API server, gates"),
    Need(r.PODS, READ, why="pods of a deployment for health checks"),
    Need(r.PODS, ("get",), sub="proxy", why="health checks through the pod proxy"),
    Need(r.LEASES, (*READ, "create", "update"), why="one driver per target"),
    Need(r.EVENTS, (*READ, "create"), why="decisions as Events on the objects; the targets' Events the room shows"),
    Need(r.INGRESSES, (*READ, "create", "patch"), why="NGINX canary weights"),
    Need(r.VIRTUALSERVICES, (*READ, "create", "patch"), why="Istio weights", crd=True),
    Need(r.HTTPROUTES, (*READ, "create", "patch"), why="Gateway API weights", crd=True),
    Need(r.TRAFFICSPLITS, (*READ, "create", "patch"), why="SMI weights", crd=True),
    Need(r.CANARIES, (*READ, "patch"), why="Flagger canaries", crd=True),
    Need(r.METRICTEMPLATES, READ, why="Flagger metric templates", crd=True),
    Need(r.ROLLOUTS, (*READ, "patch"), why="Argo rollouts", crd=True),
    Need(r.ROLLOUTS, ("patch",), sub="status", why="Argo promote, abort and retry (status first)", crd=True),
    Need(r.ANALYSISRUNS, READ, why="Argo analysis runs", crd=True),
    Need(r.EXPERIMENTS, (*READ, "patch"), why="Argo experiments", crd=True),
)


#: What every driven target needs whatever the key: its Lease (one driver per target) and the Events its
#: decisions become. Without them the room opens read-only; without another write only its keys are disabled.
DRIVING: frozenset[tuple[str, Res, str]] = frozenset(
    {("create", r.LEASES, ""), ("update", r.LEASES, ""), ("create", r.EVENTS, "")}
)


def grants(read_only: bool = False) -> set[tuple[str, str, str]]:
    """{(api group, resource[/sub], verb)} a role must grant."""
    out: set[tuple[str, str, str]] = set()
    for need in OPERATOR:
        for verb in need.view_verbs if read_only else need.verbs:
            out.add((need.res.group, need.resource, verb))
    return out
