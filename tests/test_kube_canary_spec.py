# ruff: noqa: W293  (the seed's YAML is kept verbatim, trailing blanks included)
"""The seed's canary.yaml (Flagger `Canary`), unchanged, as a Shiftroom target."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.canary_spec import CanarySpecError, canary_to_target, duration
from app.model import HookType, Strategy

SEED = Path("/work/shared/seed/phase4-advanced-deployment.md")
#: Verbatim from the seed's phase 4 document (section 2.2).
CANARY_YAML = """\
# infrastructure/kubernetes/canary/canary.yaml
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: microservices-canary
  namespace: microservices
spec:
  # Target deployment
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: microservices
  
  # Service configuration
  service:
    port: 80
    targetPort: 80
    gateways:
    - microservices-gateway
    hosts:
    - microservices.example.com
  
  # Canary analysis
  analysis:
    # Schedule interval
    interval: 30s
    
    # Max number of failed metric checks
    threshold: 5
    
    # Max traffic percentage routed to canary
    maxWeight: 50
    
    # Canary increment step
    stepWeight: 10
    
    # Prometheus metrics
    metrics:
    - name: request-success-rate
      thresholdRange:
        min: 99
      interval: 30s
    - name: request-duration
      thresholdRange:
        max: 0.5
      interval: 30s
    - name: error-rate
      thresholdRange:
        max: 1
      interval: 30s
    
    # Load testing webhook
    webhooks:
    - name: load-test
      url: http://load-tester.test/
      timeout: 5s
      metadata:
        cmd: "hey -z 1m -q 10 -c 2 http://microservices.example.com/"
"""


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
