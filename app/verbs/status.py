"""`shiftroom status [TARGET] [--json]`: every rollout (or one), as the engine sees it now."""

from __future__ import annotations

import sys
from typing import TextIO

from app.verbs import OK
from app.verbs.backend import BackendOptions, open_session
from app.verbs.report import emit, rollout_object, rollout_row, table
from app.verbs.targets import find


async def status(backend: BackendOptions, target: str | None, as_json: bool, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    session = await open_session(backend)
    try:
        state = session.state
        rollouts = [find(state, target, session.known)] if target else list(state.rollouts)
    finally:
        await session.close()
    if as_json:
        for r in rollouts:
            emit(rollout_object(r, state.t), out)
    else:
        print(table([rollout_row(r) for r in rollouts]), file=out)
    return OK
