"""The seed's canary.yaml (Flagger `Canary`), unchanged, as a Shiftroom target."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.canary_spec import CanarySpecError, canary_to_target, duration
from app.model import HookType, Strategy

SEED = Path("/work/shared/seed/phase4-advanced-deployment.md")
#: Verbatim from the seed's phase 4 document (section 2.2).
CANARY_YAML = '# infrastructure/kubernetes/canary/canary.yaml\napiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: microservices-canary\n  namespace: microservices\nspec:\n  # Target deployment\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: microservices\n  \n  # Service configuration\n  service:\n    port: 80\n    targetPort: 80\n    gateways:\n    - microservices-gateway\n    hosts:\n    - microservices.example.com\n  \n  # Canary analysis\n  analysis:\n    # Schedule interval\n    interval: 30s\n    \n    # Max number of failed metric checks\n    threshold: 5\n    \n    # Max traffic percentage routed to canary\n    maxWeight: 50\n    \n    # Canary increment step\n    stepWeight: 10\n    \n    # Prometheus metrics\n    metrics:\n    - name: request-success-rate\n      thresholdRange:\n        min: 99\n      interval: 30s\n    - name: request-duration\n      thresholdRange:\n        max: 0.5\n      interval: 30s\n    - name: error-rate\n      thresholdRange:\n        max: 1\n      interval: 30s\n    \n    # Load testing webhook\n    webhooks:\n    - name: load-test\n      url: http://load-tester.test/\n      timeout: 5s\n      metadata:\n        cmd: "hey -z 1m -q 10 -c 2 http://microservices.example.com/"\n'


def test_copy_is_the_seed_verbatim() -> None:
    if not SEED.is_file():
        pytest.skip("the seed document is not on this machine")
    text = SEED.read_text(encoding="utf-8")
    assert CANARY_YAML in text


def test_seed_canary_becomes_a_target() -> None:
    spec = canary_to_target(yaml.safe_load(CANARY_YAML), "canary.yaml")
    t = spec.target
    assert (t.name, t.namespace, t.deployment, t.service, t.strategy) == (
        "microservices",
        "microservices",
        "microservices",
        "microservices",
        Strategy.CANARY,
    )
    assert spec.port == 80 and spec.name == "microservices-canary"
    a = t.analysis
    assert (a.interval, a.threshold, a.max_weight, a.step_weight) == (30.0, 5, 50, 10)
    assert a.steps == (10, 20, 30, 40, 50)
    assert [(m.name, m.min, m.max, m.interval) for m in a.metrics] == [
        ("request-success-rate", 99, None, "30s"),
        ("request-duration", None, 0.5, "30s"),
        ("error-rate", None, 1, "30s"),
    ]
    (hook,) = a.webhooks
    assert (hook.name, hook.type, hook.url, hook.timeout) == (
        "load-test",
        HookType.ROLLOUT,
        "http://load-tester.test/",
        5.0,
    )
    assert hook.metadata == {"cmd": "hey -z 1m -q 10 -c 2 http://microservices.example.com/"}
    assert t.router == ""  # no provider: the backend's default (Istio, as Flagger)


def test_step_weights_provider_template_and_deadline() -> None:
    doc = yaml.safe_load(CANARY_YAML)
    doc["spec"]["provider"] = "gatewayapi:v1"
    doc["spec"]["progressDeadlineSeconds"] = 120
    doc["spec"]["analysis"]["stepWeights"] = [5, 25, 60]
    doc["spec"]["analysis"]["metrics"][0]["templateRef"] = {"name": "success"}
    doc["spec"]["analysis"]["webhooks"][0]["type"] = "confirm-promotion"
    t = canary_to_target(doc, "c.yaml", namespace="shop", production=True).target
    assert t.router == "gateway-api" and t.namespace == "shop" and t.production
    assert t.analysis.steps == (5, 25)  # maxWeight 50 caps the list
    assert t.analysis.metrics[0].template == "success"
    assert t.analysis.webhooks[0].type is HookType.CONFIRM_PROMOTION
    assert t.blue_green.progress_deadline == 120


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m", 60), ("1m30s", 90), ("500ms", 0.5), (45, 45)])
def test_durations(text: object, seconds: float) -> None:
    assert duration(text, "f", "s") == seconds


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("spec", "analysis", "interval"), "soon", "spec.analysis.interval"),
        (("spec", "targetRef", "name"), "", "spec.targetRef.name"),
        (("spec", "provider"), "appmesh", "spec.provider"),
        (("spec", "analysis", "webhooks"), [{"name": "x", "url": "u", "type": "later"}], "webhooks[0].type"),
        (("spec", "analysis", "maxWeight"), 500, "spec.analysis.maxWeight"),
    ],
)
def test_bad_fields_are_one_sentence(path: tuple[str, ...], value: object, words: str) -> None:
    doc = yaml.safe_load(CANARY_YAML)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(CanarySpecError) as err:
        canary_to_target(doc, "canary.yaml")
    msg = str(err.value)
    assert msg.startswith("canary.yaml: ") and words in msg and "\n" not in msg
