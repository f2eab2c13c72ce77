"""A verb's session on a real cluster: the room's own live engine (`app.live`), opened headless.

`preflight()` connects exactly as the room does (`--kubeconfig`, `$KUBECONFIG`, `--context`,
in-cluster), then `build()` makes the engine over the cluster, Prometheus and Redis of the
flags and `shiftroom.yaml`. The session is ready once the cluster watch has listed every
namespace in view and a pass has read it, so the first snapshot holds every row: Shiftroom's
targets, Flagger Canaries and Argo Rollouts alike.

`status` and `wait` open read-only and send nothing but GET requests: no SelfSubjectReview,
no access reviews, no Lease, no Event (the read-only cluster backend refuses every write
before a request is sent). A command opens a writable engine that drives only the target it
names (`BackendOptions.drive`), so it takes no Lease of any other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from app.clock import RealClock
from app.verbs.backend import BackendOptions, NoBackend, Session, Unreachable, cluster_down
from backends.base import ClosableStream


@runtime_checkable
class _Closes(Protocol):
    async def close(self) -> None: ...


async def live_session(options: BackendOptions) -> Session:
    from app.config import Config
    from app.live import LiveError, LiveOptions, LiveSetupError, build, preflight
    from app.wiring import WiringError

    live = options.live or LiveOptions()
    if options.read_only:
        live = dataclasses.replace(live, read_only=True, only_get=True)
    config = options.config or Config()
    try:
        pre = await preflight(live, config)
    except LiveSetupError as err:
        raise NoBackend(f"shiftroom: {for_verbs(str(err))}") from None
    except LiveError as err:
        raise Unreachable(f"shiftroom: {err}") from None
    configured = tuple(t.key for t in pre.targets)
    if options.drive is not None:
        pre = dataclasses.replace(pre, targets=[t for t in pre.targets if options.drive in (t.key, t.name)])
    try:
        engine = build(pre, live, config, RealClock())
    except WiringError as err:
        raise NoBackend(f"shiftroom: {err}") from None
    opened = {t.key for t in pre.targets}
    session = Session(
        engine=engine,
        clock=engine.clock,
        virtual=False,
        known=tuple(k for k in configured if k not in opened),
        closers=_closers(engine),
    )
    await engine.start()
    try:
        await _listed(engine, options.list_timeout)
    except BaseException:
        await session.close()
        raise
    return session


def for_verbs(sentence: str) -> str:
    """The room's hint, as a verb takes it: `--demo` is how a verb runs on the simulator."""
    room = "try `shiftroom demo` for the simulator"
    return sentence.replace(room, "give --demo [SCENARIO] to run it on the simulator")


def _closers(engine: Any) -> tuple[Any, ...]:
    from app.live import EventAudit

    audit = engine.audit.inner if isinstance(engine.audit, EventAudit) else engine.audit
    return (engine.cluster, engine.metrics, engine.store, audit)


async def _listed(engine: Any, timeout: float) -> None:
    """Until the watch has listed everything in view and a whole pass has read it; a cluster that goes
    down meanwhile is left for the caller to report (`cluster_down`)."""
    deadline = time.monotonic() + timeout
    cache = engine.cache
    while not all(cache.synced(s) for s in cache.streams):
        if cluster_down(engine.state):
            return
        if time.monotonic() > deadline:
            where = ", ".join(cache.streams).replace("*", "every namespace")
            raise Unreachable(
                f"shiftroom: the cluster's watch of {where} did not complete its first list within {timeout:g} s."
            )
        await asyncio.sleep(0.05)
    await engine.idle()
    await engine.run_pass()  # reads every target from the listed cache and publishes
    await engine.idle()  # or the engine's own pass, started just before, has done so


async def close_all(clients: Iterable[Any]) -> None:
    """Close what the engine opened (the API client's connection pool, Prometheus', Redis')."""
    for client in clients:
        if isinstance(client, _Closes):
            await client.close()
        elif isinstance(client, ClosableStream):
            await client.aclose()
