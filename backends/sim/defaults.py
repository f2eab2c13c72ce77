"""The seed's targets and images: the world `shiftroom demo` starts from.

`build.build_world` lays targets out per strategy (the names a real cluster would have):

- blue-green target (`deployment` is a prefix): deployments `<prefix>-blue`
  (running, `replicas` pods) and `<prefix>-green` (0 pods), labelled
  app=<prefix>, version=<colour>; Service `<service>` selecting
  {app: <prefix>, version: blue}.
- canary target, Flagger's layout: the target deployment `<deployment>` (scaled
  to 0 once initialised, as Flagger leaves it; the canary controller scales it
  up when it sees a new image) and the primary `<deployment>-primary`
  (running, `replicas` pods), both on the starting image; a Route named
  after the target with weights {<deployment>-primary: 100, <deployment>: 0}.
"""

from __future__ import annotations

from app.model import Analysis, BlueGreen, MetricCheck, Strategy, Target

NAMESPACE = "microservices"
# The seed runs both with ENVIRONMENT=production: its destructive keys ask for the typed name.
PRODUCTION = True

DEFAULT_TARGETS: tuple[Target, ...] = (
    Target(
        name="frontend",
        namespace=NAMESPACE,
        strategy=Strategy.BLUE_GREEN,
        deployment="microservices",
        service="microservices",
        container="frontend",
        replicas=3,
        production=PRODUCTION,
        blue_green=BlueGreen(health_checks=10, health_interval=5.0, stabilize=30.0),
    ),
    Target(
        name="microservices-canary",
        namespace=NAMESPACE,
        strategy=Strategy.CANARY,
        deployment="microservices",
        service="",
        container="app",
        replicas=3,
        production=PRODUCTION,
        analysis=Analysis(
            interval=30.0,
            threshold=5,
            max_weight=50,
            step_weight=10,
            metrics=(
                MetricCheck(name="request-success-rate", min=99, interval="30s", unit="%"),
                MetricCheck(name="request-duration", max=500, interval="30s", unit="ms"),
                MetricCheck(name="error-rate", max=1, interval="30s", unit="%"),
            ),
        ),
    ),
)

DEFAULT_IMAGES = {"frontend": "microservices/frontend:stable", "microservices-canary": "microservices/api:1.4.0"}
DEFAULT_RPS = 40.0


def primary_of(target: Target) -> str:
    return f"{target.deployment}-primary"


def colours_of(target: Target) -> tuple[str, str]:
    return f"{target.deployment}-blue", f"{target.deployment}-green"


def service_of(target: Target) -> str:
    """A blue-green target's Service (the deployment prefix when `service` is empty)."""
    return target.service or target.deployment
