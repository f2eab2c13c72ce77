"""Stand-in controllers (the Deployment controller) — see milestone B."""

from __future__ import annotations

from typing import Any


def attach(server: Any) -> None:
    return None
