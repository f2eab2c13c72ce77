"""Pod and service proxy subresources — see milestone B."""

from __future__ import annotations

from typing import Any


def attach(server: Any) -> None:
    return None
