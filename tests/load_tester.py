"""Flagger's load tester as the tests' cluster doubles answer for it through the services proxy: a gate's
`open`/`close` answers 202 and sets its state, `check` answers 200 "Approved" when open, 403 "Forbidden" when
closed; and the two gate webhooks a gated Canary carries."""

from __future__ import annotations

import copy
from typing import Any

GATE_HOOKS = (
    {"name": "ask", "type": "confirm-promotion", "url": "http://flagger-loadtester.test/gate/check"},
    {"name": "undo", "type": "rollback", "url": "http://flagger-loadtester.test/rollback/check"},
)


def with_gates(canary_body: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Canary's body whose analysis has a promotion gate and a rollback gate on the load tester."""
    body = copy.deepcopy(canary_body)
    body["spec"]["analysis"].setdefault("webhooks", []).extend(copy.deepcopy(list(GATE_HOOKS)))
    return body


class LoadTester:
    def __init__(self) -> None:
        self.open: set[str] = set()

    def answer(self, path: str) -> tuple[int, str]:
        gate, action = path.rsplit("/", 1)
        if action == "check":
            return (200, "Approved") if gate in self.open else (403, "Forbidden")
        (self.open.add if action == "open" else self.open.discard)(gate)
        return 202, ""
