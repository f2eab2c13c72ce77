"""Which ReplicaSet `kubectl argo rollouts undo` goes back to, and the template it writes (pure).

From `pkg/kubectl-argo-rollouts/cmd/undo/undo.go` in argoproj/argo-rollouts:
- `listReplicaSets`: the ReplicaSets that match the Rollout's `spec.selector` and whose
  controller reference is the Rollout (`metav1.IsControlledBy`: same uid), in the API
  server's list order (by name);
- `revision`: the `rollout.argoproj.io/revision` annotation as an int64; a ReplicaSet without
  it counts as revision 0, one whose annotation is not a number is passed over;
- `rolloutRevision`: `--to-revision N` takes that revision; without it the second-newest
  revision in one pass over the list (ties kept as the loop keeps them);
- `equalIgnoreHash`: nothing is sent when the Rollout's template, less the
  `rollouts-pod-template-hash` label, is a `DeepDerivative` of the ReplicaSet's;
- the patch value is the ReplicaSet's template less that label, as the typed client writes it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from app.foreign.argo import HASH_LABEL, REVISION_ANNOTATION
from app.foreign.argo_template import derives, go_template

_INT64 = re.compile(r"[+-]?[0-9]+")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def revision(rs: dict[str, Any]) -> int | None:
    """The ReplicaSet's revision as the CLI parses it: 0 without the annotation, None when it is no number."""
    annotations = _dict(_dict(rs.get("metadata")).get("annotations"))
    if REVISION_ANNOTATION not in annotations:
        return 0
    value = annotations[REVISION_ANNOTATION]
    if not isinstance(value, str) or not _INT64.fullmatch(value) or not -(2**63) <= int(value) < 2**63:
        return None
    return int(value)


def _requirement_matches(req: dict[str, Any], labels: dict[str, Any]) -> bool:
    key, op = req.get("key"), req.get("operator")
    found = req.get("values")
    values: list[Any] = found if isinstance(found, list) else []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False  # an operator the API server would not have accepted


def selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    """`metav1.LabelSelectorAsSelector(spec.selector)` applied to `labels` (an empty selector matches all)."""
    sel = _dict(selector)
    wanted = _dict(sel.get("matchLabels"))
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    found = sel.get("matchExpressions")
    expressions: list[Any] = found if isinstance(found, list) else []
    return all(_requirement_matches(_dict(req), labels) for req in expressions)


def _controlled_by(rs: dict[str, Any], uid: str, name: str) -> bool:
    """IsControlledBy: the controller reference's uid is the Rollout's (a Rollout without a uid, as in a
    manifest that never reached an API server, is matched by kind and name)."""
    refs = _dict(rs.get("metadata")).get("ownerReferences")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and ref.get("controller") is True:
            if uid:
                return bool(ref.get("uid") == uid)
            return bool(ref.get("kind") == "Rollout" and ref.get("name") == name)
    return False


def owned_replica_sets(rollout: dict[str, Any], replica_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    meta = _dict(rollout.get("metadata"))
    uid, name = str(meta.get("uid") or ""), str(meta.get("name") or "")
    selector = _dict(rollout.get("spec")).get("selector")
    listed = sorted(replica_sets, key=lambda rs: str(_dict(rs.get("metadata")).get("name") or ""))
    return [
        rs
        for rs in listed
        if selector_matches(selector, _dict(_dict(rs.get("metadata")).get("labels"))) and _controlled_by(rs, uid, name)
    ]


def pick_revision(
    rollout: dict[str, Any], replica_sets: list[dict[str, Any]], to_revision: int = 0
) -> dict[str, Any] | str:
    """rolloutRevision: the ReplicaSet to go back to, or the CLI's error sentence."""
    latest: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    latest_rev = previous_rev = -1
    for rs in owned_replica_sets(rollout, replica_sets):
        v = revision(rs)
        if v is None:
            continue
        if to_revision == 0:
            if latest_rev < v:
                previous_rev, previous, latest_rev, latest = latest_rev, latest, v, rs
            elif previous_rev < v:
                previous_rev, previous = v, rs
        elif to_revision == v:
            return rs
    if to_revision > 0:
        return f"unable to find specified revision {to_revision} in history"
    if previous is None:
        name = str(_dict(rollout.get("metadata")).get("name") or "")
        return f'no revision found for rollout "{name}"'
    return previous


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    labels = _dict(out.get("metadata")).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return out


def restored_template(rs: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet's pod template less the hash label, in the CLI's field order."""
    return go_template(_without_hash(_dict(_dict(rs.get("spec")).get("template"))))


def template_matches(rollout: dict[str, Any], rs: dict[str, Any]) -> bool | str:
    """equalIgnoreHash; a sentence when the Rollout's spec.template is not an object (the CLI fails there)."""
    found = _dict(rollout.get("spec")).get("template")
    if found is None:
        return False
    if not isinstance(found, dict):
        return "spec.template of the Rollout is not an object"
    rs_template = go_template(_dict(_dict(rs.get("spec")).get("template")), unstructured=True)
    return derives(_without_hash(found), _without_hash(rs_template))
