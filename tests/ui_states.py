"""Hand-built RoomState fixtures and a small in-memory engine for the UI tests.

`python -m tests.ui_states [--theme wall] [--read-only]` runs the room on the
static state, for trying it by hand (e.g. in tmux at 160x45 and 80x24).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from app.clock import EPOCH
from app.cluster_event import ClusterEvent
from app.control.commands import Preview, Result, RolloutCommand
from app.model import (
    AuditEvent,
    BackendHealth,
    Check,
    Experiment,
    Flag,
    HealthStatus,
    Level,
    MetricSeries,
    Mode,
    Phase,
    Rollout,
    RoomState,
    Strategy,
    VariantStats,
    Weights,
)

T0 = EPOCH + 9 * 3600 + 41 * 60 + 7  # 09:41:07 UTC, fixed
WALL = EPOCH + 12 * 3600  # the wall clock the tests freeze (12:00:00 UTC): the header's real time
ROOM = "oncall@room#7c9f"  # the StaticEngine's identity: rollouts it drives show "driven by this room"
OTHER_ROOM = "alice@bastion#311"

SUCCESS_Q = (
    'sum(rate(istio_requests_total{{reporter="destination",destination_workload_namespace="{ns}",'
    'destination_workload="{name}",response_code!~"5.*"}}[1m])) / sum(rate(istio_requests_total'
    '{{reporter="destination",destination_workload_namespace="{ns}",'
    'destination_workload="{name}"}}[1m])) * 100'
)
P99_Q = (
    'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{{reporter="destination",'
    'destination_workload_namespace="{ns}",destination_workload="{name}"}}[1m])) by (le))'
)
ERRORS_Q = (
    'sum(rate(istio_requests_total{{reporter="destination",destination_workload_namespace="{ns}",'
    'destination_workload="{name}",response_code=~"5.*"}}[1m])) / sum(rate(istio_requests_total'
    '{{reporter="destination",destination_workload_namespace="{ns}",'
    'destination_workload="{name}"}}[1m])) * 100'
)


def _checks(
    ns: str, name: str, success: float | None, p99: float | None, errors: float | None, error: str = ""
) -> tuple[Check, ...]:
    """The last tick's three checks, as the canary controller records them."""

    def one(metric: str, value: float | None, ok: bool, query: str, rng: str) -> Check:
        return Check(
            name=metric,
            value=value,
            passed=value is not None and ok,
            query=query.format(ns=ns, name=name),
            range=rng,
            status="ok" if value is not None else "no-data",
            error="" if value is not None else error,
        )

    return (
        one("request-success-rate", success, success is not None and success >= 99, SUCCESS_Q, "≥ 99"),
        one("request-duration-p99", p99, p99 is not None and p99 <= 500, P99_Q, "≤ 500"),
        one("error-rate", errors, errors is not None and errors <= 1, ERRORS_Q, "≤ 1"),
    )


def _wave(base: float, swing: float, n: int = 40, drift: float = 0.0, shift: int = 0) -> tuple[float, ...]:
    """Deterministic, wavy numbers (no randomness: snapshots must not move)."""
    pattern = (0, 3, 5, 2, -1, -4, -2, 1, 4, 6, 3, 0, -3, -5, -1, 2, 1, -2, 0, 4, 2)
    return tuple(round(base + swing * pattern[(i * 3 + shift) % len(pattern)] / 6 + drift * i / n, 3) for i in range(n))


def _times(n: int = 40, step: float = 15.0) -> tuple[float, ...]:
    return tuple(T0 - step * (n - 1 - i) for i in range(n))


CHECKOUT_EVENTS = (  # newest first, as the engine hands them over
    ClusterEvent(
        t=T0 - 30,
        namespace="shop",
        object="VirtualService/checkout",
        group="networking.istio.io",
        reason="Step",
        message="all checks passed; 20% → 30% (by engine)",
        controller="shiftroom.io/room",
        name="checkout.17f3a",
    ),
    ClusterEvent(
        t=T0 - 150,
        first=T0 - 270,
        count=2,
        namespace="shop",
        object="Deployment/checkout",
        group="apps",
        reason="CheckFailed",
        message="error-rate 1.4% > 1 (failed 1/5) (by engine)",
        type="Warning",
        controller="shiftroom.io/room",
        name="checkout.17f39",
    ),
    ClusterEvent(
        t=T0 - 600,
        namespace="shop",
        object="Deployment/checkout",
        group="apps",
        reason="ScalingReplicaSet",
        message="Scaled up replica set checkout-6f9c7d8b5 to 3",
        controller="deployment-controller",
        name="checkout.17f38",
    ),
)

ROLLOUTS = (
    Rollout(
        name="checkout",
        namespace="shop",
        strategy=Strategy.CANARY,
        phase=Phase.PROGRESSING,
        production=True,
        desired=Weights.of_canary(40),
        actual=Weights.of_canary(30),
        step=3,
        steps=5,
        failed_checks=1,
        threshold=5,
        stable_image="registry.example.com/shop/checkout:1.4.2",
        canary_image="registry.example.com/shop/checkout:1.5.0",
        ready="3/3",
        message="Step 3/5: success rate 99.4% ≥ 99, p99 412 ms ≤ 500; advancing to 40%.",
        driver=ROOM,
        next_tick=T0 + 12,
        earliest_rollback=T0 + 132,
        history=(True, True, False, True, True, True),
        checks=_checks("shop", "checkout", 99.4, 412, 0.31),
        events=CHECKOUT_EVENTS,
    ),
    Rollout(
        name="frontend",
        namespace="web",
        strategy=Strategy.BLUE_GREEN,
        phase=Phase.SUCCEEDED,
        desired=Weights(),
        actual=Weights(),
        stable_image="ghcr.io/acme/frontend:2.8.0",
        canary_image="ghcr.io/acme/frontend:2.8.0",
        active_color="green",
        ready="4/4",
        history=(True,) * 10,
        guard_until=T0 + 250,
        driver=ROOM,
        message="Switched to green after 10/10 health checks; blue kept up for 5m.",
    ),
    Rollout(
        name="payments",
        namespace="shop",
        strategy=Strategy.CANARY,
        phase=Phase.FAILED,
        production=True,
        desired=Weights(),
        actual=Weights(),
        step=2,
        steps=5,
        failed_checks=5,
        threshold=5,
        stable_image="registry.example.com/shop/payments:3.1.0",
        canary_image="registry.example.com/shop/payments:3.2.0-rc1",
        ready="0/3",
        message="Rolled back: error rate 6.2% > 1 for 5 checks (threshold 5).",
        driver=ROOM,
        history=(True, True, False, False, False, False, False),
        checks=_checks("shop", "payments", 93.8, 455, 6.2),
    ),
    Rollout(
        name="search",
        namespace="web",
        strategy=Strategy.CANARY,
        phase=Phase.PROGRESSING,
        paused=True,
        auto=False,
        desired=Weights.of_canary(20),
        actual=Weights.of_canary(20),
        step=2,
        steps=10,
        failed_checks=0,
        threshold=3,
        stable_image="ghcr.io/acme/search:0.9.4",
        canary_image="ghcr.io/acme/search:0.10.0",
        ready="2/2",
        message="Paused by alice at 20%.",
        driver=OTHER_ROOM,
        history=(True, True),
        checks=_checks(
            "web", "search", 99.7, None, 0.2, error="Prometheus did not answer within 5s (GET /api/v1/query)"
        ),
    ),
    Rollout(
        name="recommendations",
        namespace="ml",
        strategy=Strategy.CANARY,
        phase=Phase.INITIALIZED,
        stable_image="ghcr.io/acme/recommendations:5.0.1",
        canary_image="",
        steps=4,
        threshold=5,
        message="Waiting for a new revision.",
    ),
)


def _series(target: str, ok: bool = True) -> tuple[MetricSeries, ...]:
    return (
        MetricSeries(
            target=target,
            name="request-success-rate",
            unit="%",
            min=99.0,
            times=_times(),
            values=_wave(99.5, 0.3) if ok else _wave(96.0, 1.0, drift=-2.0),
        ),
        MetricSeries(
            target=target,
            name="request-duration-p99",
            unit="ms",
            max=500.0,
            times=_times(),
            values=_wave(410, 40, shift=5) if ok else _wave(560, 60, drift=80, shift=5),
        ),
        MetricSeries(
            target=target,
            name="error-rate",
            unit="%",
            max=1.0,
            times=_times(),
            values=_wave(0.4, 0.2, shift=11) if ok else _wave(4.0, 1.0, drift=2.2, shift=11),
        ),
    )


SERIES = _series("shop/checkout") + _series("shop/payments", ok=False) + _series("web/search")[:2]

FLAGS = (
    Flag(name="new-checkout-flow", enabled=True, environments=("staging", "production"), percentage=25),
    Flag(name="dark-mode", enabled=True),
    Flag(name="beta-search", enabled=False, user_whitelist=("alice", "bob")),
    Flag(name="legacy-cart", error="not valid flag JSON: Expecting ',' delimiter: line 1 column 31"),
)

EXPERIMENTS = (
    Experiment(
        id="checkout-button",
        name="Checkout button colour",
        status="running",
        primary_metric="conversion",
        traffic_split={"control": 50, "green-button": 50},
        min_sample_size=5000,
        variants=(
            VariantStats(name="control", weight=50, users=1204, converters=38),
            VariantStats(name="green-button", weight=50, users=1187, converters=45),
        ),
    ),
    Experiment(
        id="search-ranking",
        status="completed",
        traffic_split={"bm25": 34, "learned": 33, "hybrid": 33},
        variants=(
            VariantStats(name="bm25", weight=34, users=9120, converters=730),
            VariantStats(name="learned", weight=33, users=8890, converters=801),
            VariantStats(name="hybrid", weight=33, users=8902, converters=779),
        ),
    ),
)

EVENTS = (
    AuditEvent(
        t=T0 - 600, actor="engine", target="web/frontend", action="switch", reason="green passed 10/10 health checks"
    ),
    AuditEvent(
        t=T0 - 420,
        actor="engine",
        target="shop/payments",
        action="check-failed",
        level=Level.WARN,
        reason="error-rate 4.1% > 1 (failed 4/5)",
    ),
    AuditEvent(
        t=T0 - 390,
        actor="engine",
        target="shop/payments",
        action="rollback",
        level=Level.ERROR,
        reason="error-rate 6.2% > 1 for 5 checks",
    ),
    AuditEvent(t=T0 - 200, actor="alice", target="web/search", action="pause", reason="investigating latency"),
    AuditEvent(t=T0 - 30, actor="engine", target="shop/checkout", action="step", reason="all checks passed; 20% → 30%"),
)

HEALTH = (
    BackendHealth(name="cluster", kind="sim", status=HealthStatus.UP),
    BackendHealth(
        name="metrics",
        kind="prometheus",
        status=HealthStatus.STALE,
        reason="last query timed out after 5s; showing data from 09:40:52",
    ),
    BackendHealth(name="store", kind="redis", status=HealthStatus.UP),
)

STATE = RoomState(
    t=T0,
    seq=42,
    context="sim",
    namespace="all",
    mode=Mode.DEMO,
    scenario="canary-degrades",
    rollouts=ROLLOUTS,
    series=SERIES,
    flags=FLAGS,
    experiments=EXPERIMENTS,
    events=EVENTS,
    health=HEALTH,
)


def replace_rollout(state: RoomState, key: str, **changes: object) -> RoomState:
    rollouts = tuple(r.model_copy(update=changes) if r.key == key else r for r in state.rollouts)
    return state.model_copy(update={"rollouts": rollouts, "seq": state.seq + 1})


# ---------------------------------------------------------------- a stand-in engine


DESTRUCTIVE = {"abort", "promote", "switch", "undo"}


@dataclass
class StaticEngine:
    """The Engine interface over a fixed state; records the calls it gets."""

    state: RoomState = STATE
    read_only: bool = False
    identity: str = ROOM
    subscribers: list[Callable[[RoomState], None]] = field(default_factory=list)
    acted: list[tuple[str, str]] = field(default_factory=list)
    started: bool = False
    stopped: bool = False

    def subscribe(self, callback: Callable[[RoomState], None]) -> None:
        self.subscribers.append(callback)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def publish(self, state: RoomState) -> None:
        self.state = state
        for callback in self.subscribers:
            callback(state)

    async def preview(self, command: RolloutCommand) -> Preview:
        key, action = command.target, command.verb.value
        rollout = self.state.rollout(key)
        if rollout is not None and rollout.phase.terminal and action in ("step", "promote"):
            return Preview(
                command, action, (f"{rollout.name} is {rollout.phase.value}: nothing to {action}",), possible=False
            )
        production = bool(rollout and rollout.production)
        lines = [f"{key}: {action}"]
        if action == "abort" and rollout:
            lines = [
                f"traffic {rollout.actual.stable}/{rollout.actual.canary} → 100/0 (all to stable)",
                f"scale {rollout.canary_image or 'canary'} to 0 replicas",
            ]
        destructive = action in DESTRUCTIVE
        return Preview(
            command,
            f"{action.capitalize()} {key}?",
            tuple(lines),
            version=f"seq {self.state.seq}",
            destructive=destructive,
            confirm_name=rollout.name if destructive and production and rollout else None,
        )

    async def execute(
        self, command: RolloutCommand, confirmed: Preview | None = None, actor: str | None = None
    ) -> Result:
        key, action = command.target, command.verb.value
        if self.read_only:
            return Result(False, f"{key}: read-only: writes are refused", target=key)
        self.acted.append((action, key))
        return Result(True, f"{action} {key}: done", target=key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--theme", default="dark")
    parser.add_argument("--read-only", action="store_true")
    args = parser.parse_args()
    from app.room import ShiftroomApp

    state = STATE.model_copy(update={"mode": Mode.READ_ONLY}) if args.read_only else STATE
    ShiftroomApp(StaticEngine(state=state, read_only=args.read_only), theme=args.theme).run()


if __name__ == "__main__":
    main()
