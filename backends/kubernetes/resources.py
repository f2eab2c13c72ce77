"""The API resources Shiftroom reads and writes, and their URL paths."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Res:
    group: str  # "" = the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def crd(self) -> str:
        """The CustomResourceDefinition name (`<plural>.<group>`)."""
        return f"{self.plural}.{self.group}"

    @property
    def base(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        p = self.base
        if self.namespaced and namespace:
            p += f"/namespaces/{namespace}"
        p += f"/{self.plural}"
        if name:
            p += f"/{name}"
        if sub:
            p += f"/{sub}"
        return p


DEPLOYMENTS = Res("apps", "v1", "deployments", "Deployment")
REPLICASETS = Res("apps", "v1", "replicasets", "ReplicaSet")
SERVICES = Res("", "v1", "services", "Service")
PODS = Res("", "v1", "pods", "Pod")
LEASES = Res("coordination.k8s.io", "v1", "leases", "Lease")
EVENTS = Res("events.k8s.io", "v1", "events", "Event")
INGRESSES = Res("networking.k8s.io", "v1", "ingresses", "Ingress")
VIRTUALSERVICES = Res("networking.istio.io", "v1beta1", "virtualservices", "VirtualService")
HTTPROUTES = Res("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")
TRAFFICSPLITS = Res("split.smi-spec.io", "v1alpha4", "trafficsplits", "TrafficSplit")
CANARIES = Res("flagger.app", "v1beta1", "canaries", "Canary")
METRICTEMPLATES = Res("flagger.app", "v1beta1", "metrictemplates", "MetricTemplate")
ROLLOUTS = Res("argoproj.io", "v1alpha1", "rollouts", "Rollout")
ANALYSISRUNS = Res("argoproj.io", "v1alpha1", "analysisruns", "AnalysisRun")
EXPERIMENTS = Res("argoproj.io", "v1alpha1", "experiments", "Experiment")

#: Flagger and Argo Rollouts objects, watched as `ForeignObject`s when their CRDs are installed.
FOREIGN = (CANARIES, METRICTEMPLATES, ROLLOUTS, ANALYSISRUNS, EXPERIMENTS)
KNOWN = (
    DEPLOYMENTS,
    REPLICASETS,
    SERVICES,
    PODS,
    LEASES,
    EVENTS,
    INGRESSES,
    VIRTUALSERVICES,
    HTTPROUTES,
    TRAFFICSPLITS,
    *FOREIGN,
)


def resource_for(api_version: str, kind: str) -> Res:
    """The resource of `kind` in `api_version`; unknown kinds get the usual lower-case plural."""
    group, _, version = api_version.rpartition("/")
    for res in KNOWN:
        if res.kind == kind and res.group == group:
            return Res(group, version, res.plural, kind, res.namespaced)
    plural = kind.lower() + ("es" if kind.lower().endswith(("s", "x", "ch")) else "s")
    return Res(group, version, plural, kind)
