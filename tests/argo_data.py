"""The Argo Rollout test data as the test API server is given it: the ReplicaSets a Rollout owns (from
tests/foreign_data/replicasets.yaml, owned by the Rollout's uid as the controller writes it) and a Deployment's
ReplicaSet in the same namespace, which the room must never be handed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "foreign_data"


def owned_replica_sets(uid: str) -> list[dict[str, Any]]:
    sets: list[dict[str, Any]] = yaml.safe_load((DATA / "replicasets.yaml").read_text())
    for rs in sets:
        for ref in rs["metadata"]["ownerReferences"]:
            ref["uid"] = uid
        rs["spec"]["selector"] = {"matchLabels": dict(rs["metadata"]["labels"])}
    return sets


def deployment_replica_set(namespace: str) -> dict[str, Any]:
    labels = {"app": "web", "pod-template-hash": "7f9c"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-7f9c",
            "namespace": namespace,
            "labels": dict(labels),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-1"}],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }
