"""The enumerations of Shiftroom's domain types: phases, strategies, modes, levels, health.

`app.model` re-exports every one of them. They live here, free of pydantic, so that what the
room's first frame imports (the header, the rollouts table, their colours) stays light: see
tests/test_startup_imports.py.
"""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    CANARY = "canary"
    BLUE_GREEN = "blue-green"


class Phase(StrEnum):
    """Flagger's phase vocabulary (status.phase of a Canary)."""

    INITIALIZED = "Initialized"
    WAITING = "Waiting"
    PROGRESSING = "Progressing"
    PROMOTING = "Promoting"
    FINALISING = "Finalising"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    # Flagger's other phases, and Argo Rollouts' (for rollouts another controller drives).
    INITIALIZING = "Initializing"
    WAITING_PROMOTION = "WaitingPromotion"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"
    HEALTHY = "Healthy"
    PAUSED = "Paused"
    DEGRADED = "Degraded"

    @property
    def terminal(self) -> bool:
        return self in (Phase.INITIALIZED, Phase.SUCCEEDED, Phase.FAILED, Phase.TERMINATED, Phase.HEALTHY)


class Mode(StrEnum):
    DEMO = "DEMO"
    LIVE = "LIVE"
    READ_ONLY = "READ-ONLY"


class HookType(StrEnum):
    """Flagger's webhook types, with Flagger's names."""

    CONFIRM_ROLLOUT = "confirm-rollout"
    PRE_ROLLOUT = "pre-rollout"
    ROLLOUT = "rollout"
    CONFIRM_TRAFFIC_INCREASE = "confirm-traffic-increase"
    CONFIRM_PROMOTION = "confirm-promotion"
    POST_ROLLOUT = "post-rollout"
    ROLLBACK = "rollback"


class SampleStatus(StrEnum):
    OK = "ok"
    NO_DATA = "no-data"
    ERROR = "error"


class Level(StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class HealthStatus(StrEnum):
    UP = "up"
    STALE = "stale"  # last refresh failed; showing the last good data
    DOWN = "down"
