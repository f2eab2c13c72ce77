"""The schema-only upstream CRDs under `crds/`, by CRD name (`canaries.flagger.app`) or short alias."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CRD_DIR = Path(__file__).parent / "crds"

ALIASES = {
    "flagger": ["canaries.flagger.app", "metrictemplates.flagger.app", "alertproviders.flagger.app"],
    "argo": [
        "rollouts.argoproj.io",
        "analysisruns.argoproj.io",
        "analysistemplates.argoproj.io",
        "clusteranalysistemplates.argoproj.io",
        "experiments.argoproj.io",
    ],
    "istio": ["virtualservices.networking.istio.io", "destinationrules.networking.istio.io"],
    "gateway-api": ["httproutes.gateway.networking.k8s.io"],
    "smi": ["trafficsplits.split.smi-spec.io"],
}


def _strip(node: Any) -> Any:
    """Drop prose (`description` strings) should any be present; schema field names stay."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


@cache
def _read(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = _strip(yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    return doc


def available() -> list[str]:
    return sorted(p.stem for p in CRD_DIR.glob("*/*.yaml"))


def load_crds(names: list[str] | tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """CRD objects ready for `KubeApiServer.apply`: names or aliases (flagger, argo, istio, gateway-api, smi);
    None means all of them."""
    wanted: list[str] = []
    for name in names if names is not None else available():
        for full in ALIASES.get(name, [name]):
            if full not in wanted:
                wanted.append(full)
    out = []
    for full in wanted:
        matches = list(CRD_DIR.glob(f"*/{full}.yaml"))
        if not matches:
            raise KeyError(f"no CRD {full!r} under {CRD_DIR}; known: {', '.join(available())}")
        out.append(_read(matches[0]))
    return [dict(crd) for crd in out]
