"""`kubectl argo rollouts undo` byte for byte (argoproj/argo-rollouts pkg/kubectl-argo-rollouts/cmd/undo/undo.go).

The CLI decodes the ReplicaSet into Go's typed `corev1.PodTemplateSpec` and `json.Marshal`s it back, so
the expected bodies below are written out by hand from the Go struct declarations of k8s.io/api v0.34.5
(`core/v1/types.go`, the version the CLI is built with): fields in declaration order, `omitempty`
fields left out when empty, structs never left out, maps with sorted keys, unknown fields dropped,
`<`, `>`, `&` escaped. Nothing here is computed by the module under test.
"""

from __future__ import annotations

import copy
from typing import Any

from app.foreign import verbs
from app.foreign.argo_template import derives

UID = "0d5a1f4e-rollout"


def rollout(template: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "checkout", "namespace": "shop", "uid": UID},
        "spec": {
            "selector": {"matchLabels": {"app": "checkout"}},
            "template": template
            or {"metadata": {"labels": {"app": "checkout"}}, "spec": {"containers": [{"name": "c", "image": "v3"}]}},
        },
    }


def replica_set(name: str, revision: str | None, template: dict[str, Any], uid: str = UID) -> dict[str, Any]:
    annotations = {"rollout.argoproj.io/revision": revision} if revision is not None else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"app": "checkout", "rollouts-pod-template-hash": name.rsplit("-", 1)[1]},
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": "checkout",
                    "uid": uid,
                    "controller": True,
                }
            ],
        },
        "spec": {"template": template},
    }


def simple(image: str, hash_: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "checkout", "rollouts-pod-template-hash": hash_}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


# The keys in a scrambled order, an annotation with Go's HTML escapes, a field the Go types lack.
RICH = {
    "spec": {
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "terminationGracePeriodSeconds": 30,
        "containers": [
            {
                "terminationMessagePath": "/dev/termination-log",
                "imagePullPolicy": "IfNotPresent",
                "readinessProbe": {"periodSeconds": 5, "httpGet": {"port": 8080, "path": "/health"}},
                "resources": {"requests": {"memory": "64Mi", "cpu": "100m"}, "limits": {"cpu": "500m"}},
                "env": [{"value": "1", "name": "MODE"}],
                "ports": [{"protocol": "TCP", "containerPort": 8080, "name": "http"}],
                "name": "checkout",
                "image": "registry.example.com/checkout:1.9.3",
                "futureField": "dropped by the typed client",
            }
        ],
        "volumes": [{"configMap": {"name": "checkout-cfg"}, "name": "cfg"}],
    },
    "metadata": {
        "annotations": {"note": "a<b & c>d", "a": "1"},
        "labels": {"zeta": "1", "app": "checkout", "rollouts-pod-template-hash": "6d4f8c7b9"},
        "creationTimestamp": None,
    },
}
RICH_VALUE = (
    b'{"metadata":{"creationTimestamp":null,"labels":{"app":"checkout","zeta":"1"},'
    b'"annotations":{"a":"1","note":"a\\u003cb \\u0026 c\\u003ed"}},'
    b'"spec":{"volumes":[{"name":"cfg","configMap":{"name":"checkout-cfg"}}],'
    b'"containers":[{"name":"checkout","image":"registry.example.com/checkout:1.9.3",'
    b'"ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],"env":[{"name":"MODE","value":"1"}],'
    b'"resources":{"limits":{"cpu":"500m"},"requests":{"cpu":"100m","memory":"64Mi"}},'
    b'"readinessProbe":{"httpGet":{"path":"/health","port":8080},"periodSeconds":5},'
    b'"terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}],'
    b'"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst",'
    b'"securityContext":{},"schedulerName":"default-scheduler"}}'
)


def body_of(plan: verbs.Plan) -> bytes:
    (request,) = plan.requests()
    assert (request.kind, request.patch_type, request.subresource) == ("Rollout", "json", "")
    return request.body


def test_the_patch_is_the_typed_template_in_go_field_order() -> None:
    sets = [replica_set("checkout-6d4f8c7b9", "1", RICH), replica_set("checkout-85b9f6d5c", "2", simple("v2", "85b"))]
    assert body_of(verbs.argo_undo(rollout(), sets)) == (
        b'[{"op":"replace","path":"/spec/template","value":' + RICH_VALUE + b"}]"
    )


def test_a_bare_template_gets_the_go_zero_values_that_are_never_left_out() -> None:
    bare = {"metadata": {"labels": {"rollouts-pod-template-hash": "6d4"}}, "spec": {"containers": [{"image": "v1"}]}}
    sets = [replica_set("checkout-6d4", "1", bare), replica_set("checkout-85b", "2", simple("v2", "85b"))]
    # name (no omitempty) is written empty, resources (a struct) as {}, the label map emptied is left out
    assert body_of(verbs.argo_undo(rollout(), sets)) == (
        b'[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null},'
        b'"spec":{"containers":[{"name":"","image":"v1","resources":{}}]}}}]'
    )


def test_revisions_are_picked_as_rollout_revision_does() -> None:
    sets = [
        replica_set("checkout-aaa", "3", simple("v3", "aaa")),
        replica_set("checkout-bbb", "1", simple("v1", "bbb")),
        replica_set("checkout-ccc", "2", simple("v2", "ccc")),
        replica_set("checkout-ddd", "x", simple("vx", "ddd")),  # not a number: passed over
        replica_set("checkout-eee", "5", simple("v5", "eee"), uid="another-rollout"),  # not controlled by it
    ]
    assert b'"image":"v2"' in body_of(verbs.argo_undo(rollout(), sets))
    assert b'"image":"v1"' in body_of(verbs.argo_undo(rollout(), sets, to_revision=1))
    assert verbs.argo_undo(rollout(), sets, to_revision=5).skip == "unable to find specified revision 5 in history"
    unannotated = [
        replica_set("checkout-aaa", "3", simple("v3", "aaa")),
        replica_set("checkout-fff", None, simple("v0", "fff")),
    ]
    assert b'"image":"v0"' in body_of(verbs.argo_undo(rollout(), unannotated))  # no annotation: revision 0
    outside = replica_set("checkout-ggg", "2", simple("v2", "ggg"))
    outside["metadata"]["labels"]["app"] = "other"  # outside spec.selector
    assert verbs.argo_undo(rollout(), [sets[0], outside]).skip == 'no revision found for rollout "checkout"'


def test_a_template_the_api_server_defaulted_still_matches_the_rollouts_own() -> None:
    defaulted = copy.deepcopy(RICH)
    written: dict[str, Any] = {
        "metadata": {"labels": {"app": "checkout", "zeta": "1"}, "annotations": {"a": "1", "note": "a<b & c>d"}},
        "spec": {"containers": [{"name": "checkout", "image": "registry.example.com/checkout:1.9.3"}]},
    }
    sets = [
        replica_set("checkout-6d4f8c7b9", "1", defaulted),
        replica_set("checkout-85b9f6d5c", "2", simple("v2", "85b")),
    ]
    assert verbs.argo_undo(rollout(written), sets, to_revision=1).skip == (
        "skipped rollback (current template already matches revision 1)"
    )
    written["spec"]["containers"][0]["args"] = ["--fast"]  # a field the revision has not got
    assert verbs.argo_undo(rollout(written), sets, to_revision=1).skip == ""


def test_deep_derivative_ignores_only_what_is_unset_in_the_first_value() -> None:
    assert derives({"a": None, "b": "", "c": [], "d": {}}, {"a": 1, "b": "x", "c": [1], "d": {"e": 1}})
    assert derives({"l": [1]}, {"l": [1, 2]})  # a shorter list is compared item by item
    assert not derives({"l": [1, 2]}, {"l": [1]})
    assert not derives({"a": ""}, {})  # a key the second value lacks
    assert not derives({"a": 1}, {"a": 1.0})  # int64 against float64
    assert not derives({"a": False}, {"a": None})
    assert derives(None, {"anything": True})
