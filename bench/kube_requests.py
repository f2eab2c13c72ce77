"""Cluster API requests per pass in steady state (idle and driving), and writes per decision, on the test API server.

TARGETS canary targets in Flagger's layout (`d`, `d-primary`, a VirtualService each) in one
namespace of the test Kubernetes API server (`tests/kubeapi/`, its stand-in Deployment controller
making them ready); every request the server answers is in its request log, and that log is what
is counted. In one run:

- polling baseline: what a polling engine reads each pass, done the same way here — 3 GETs per
  canary (the target and primary Deployments and the route) — and the engine before its rework,
  which also renewed each Lease every pass with a GET and a PUT (both sent for real);
- the engine of this checkout, watched: `Engine.run_pass()` over `KubeCluster`, once a (virtual)
  second with half a real second between passes so bookmarks flow on the open watches, every
  request in the window counted: first with every target idle (no release in progress: no Lease
  held, goal 0 requests), then with every target driving (released, progressing, between two
  analysis ticks: reads goal 0, and Lease renewals, one PUT per target every lease_duration/3);
  the requests that listed and opened the watches when the engine started are shown apart;
- the take: one idle canary released; the Lease requests of the pass of its first write (goal
  one PUT, with the resourceVersion the watch last delivered, no GET);
- writes per decision: that canary driven until its first `step`; the writes of that pass (its
  ticks and its audit record included) by object — goal: one per object changed (the route's
  weights, the state annotation on the Deployment, the Event) — and the Lease renewals that
  fell in the same pass, shown apart.

    python -m bench.kube_requests [--targets 50] [--passes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
from typing import Any

TARGETS = 50
NS = "bench"


def _objects(i: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in (f"app{i}", f"app{i}-primary"):
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NS},
                "spec": {
                    "replicas": 0 if name == f"app{i}" else 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
                    },
                },
            }
        )
    out.append(
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": f"app{i}", "namespace": NS},
            "spec": {
                "hosts": [f"app{i}"],
                "http": [
                    {
                        "route": [
                            {"destination": {"host": f"app{i}-primary"}, "weight": 100},
                            {"destination": {"host": f"app{i}-canary"}, "weight": 0},
                        ]
                    }
                ],
            },
        }
    )
    return out


def _resource(path: str) -> str:
    parts = path.strip("/").split("/")
    if "namespaces" in parts:
        i = parts.index("namespaces")
        return parts[i + 2] if len(parts) > i + 2 else "namespaces"
    return parts[-1]


def _kinds(records: list[Any]) -> collections.Counter[str]:
    c: collections.Counter[str] = collections.Counter()
    for r in records:
        c[f"{r.method} {_resource(r.path)}{' (watch)' if r.query.get('watch') else ''}"] += 1
    return c


def _is_lease(r: Any) -> bool:
    return _resource(r.path) == "leases"


def _writes(records: list[Any]) -> list[Any]:
    return [r for r in records if r.method in ("PATCH", "POST", "PUT", "DELETE")]


def _is_read(r: Any) -> bool:
    return bool(r.method == "GET")


def _is_collection(r: Any) -> bool:
    """A list or a watch (the path ends at the resource), not a GET of one named object."""
    return bool(r.path.rstrip("/").rsplit("/", 1)[-1] == _resource(r.path))


async def _passes(engine: Any, clock: Any, n: int, pause: float) -> None:
    for _ in range(n):
        await engine.run_pass()
        await clock.advance(1)
        await asyncio.sleep(pause)


async def _run(server: Any, targets: int, passes: int) -> dict[str, Any]:
    from app.clock import VirtualClock
    from app.control.engine import Engine
    from app.live import EventAudit
    from app.model import Analysis, MetricSample, Mode, Target
    from backends.kubernetes import leases
    from backends.kubernetes.client import Api, connect
    from backends.kubernetes.cluster import KubeCluster
    from backends.sim.store import SimAudit

    class Quiet:
        name, read_only = "metrics", True

        async def ping(self) -> None:
            return None

        async def query(self, check: Any, ws: Any) -> dict[Any, MetricSample]:
            return {w: MetricSample(t=0.0, value=(check.min or 0) + 0.5 if check.min is not None else 0.0) for w in ws}

        async def history(self, *a: Any) -> list[Any]:
            return []

    cfg, where = await connect(str(server.kubeconfig), env={})
    analysis = Analysis(interval=60)  # room between a release's ticks to watch it drive with nothing to decide
    ts = [
        Target(name=f"app{i}", namespace=NS, deployment=f"app{i}", replicas=1, router="istio", analysis=analysis)
        for i in range(targets)
    ]
    cluster = KubeCluster(Api(cfg, where.server), namespaces=[NS], targets=ts, identity="admin")
    clock = VirtualClock()
    audit = EventAudit(SimAudit(), cluster, ts)  # decisions also become Events, as in the live room
    engine = Engine(
        clock=clock,
        cluster=cluster,
        metrics=Quiet(),
        targets=ts,
        audit=audit,
        mode=Mode.LIVE,
        context="bench",
        actor="bench@host",
        series_every=1e9,
    )
    result: dict[str, Any] = {"targets": targets, "passes": passes}

    server.clear_requests()
    for _ in range(passes):
        for t in ts:  # the polling baseline: 3 GETs per canary per pass
            await cluster.get_deployment(NS, t.deployment)
            await cluster.get_deployment(NS, f"{t.deployment}-primary")
            await cluster.get_route(NS, t.name)
    polled = server.requests
    server.clear_requests()
    for _ in range(passes):
        for t in ts:  # the engine before its rework: the same reads, and each Lease renewed with a GET and a PUT
            await cluster.get_deployment(NS, t.deployment)
            await cluster.get_deployment(NS, f"{t.deployment}-primary")
            await cluster.get_route(NS, t.name)
            await leases.acquire(cluster.api, NS, f"shiftroom-{t.name}", engine.identity, 15.0)
    old_engine = server.requests
    result.update(
        polling_per_pass=len(polled) / passes,
        polling_kinds=_kinds(polled),
        old_engine_per_pass=len(old_engine) / passes,
        old_engine_kinds=_kinds(old_engine),
    )

    server.clear_requests()
    for _ in range(20):  # watches listed and opened, first states saved (each Lease taken for that, then given back)
        listed = engine.cache.synced(NS)
        mark = len(server.requests)
        await _passes(engine, clock, 1, 0.5)
        if listed and engine.access.reviews > 1 and not _writes(server.requests[mark:]):
            break
    started = server.requests
    server.clear_requests()
    await _passes(engine, clock, passes, 0.5)
    idle = server.requests
    opened = [r for r in started if _is_read(r) and _is_collection(r)]
    result.update(
        start_kinds=_kinds(opened),
        start_requests=len(opened),
        start_leases=_kinds([r for r in started if _is_lease(r) and not _is_read(r)]),
        idle_per_pass=len(idle) / passes,
        idle_kinds=_kinds(idle),
    )

    # one decision: app0 released; its Lease taken before its first write, then driven to its first step
    await cluster.set_image(NS, "app0", "app", "app:2")
    step: list[Any] = []
    take: list[Any] = []
    for _ in range(400):
        before = len([e for e in engine.state.events if e.action == "step"])
        server.clear_requests()
        await engine.run_pass()
        await engine.idle()  # the pass's ticks write after it returns: their writes belong to it
        await engine.trail.flush()  # and so does its audit record (the Event)
        if not take and _writes(server.requests):
            take = [r for r in server.requests if _is_lease(r)]
        if len([e for e in engine.state.events if e.action == "step"]) > before:
            step = _writes(server.requests)
            break
        await clock.advance(1)
        await asyncio.sleep(0.02)
    decision = [r for r in step if not _is_lease(r)]
    result.update(
        take=[(r.method, r.status) for r in take],
        step_writes=_kinds(decision),
        step_objects=collections.Counter(f"{r.method} {r.path}" for r in decision),
        step_renewals=len([r for r in step if _is_lease(r)]),
    )

    # driving: every target released and progressing, between two analysis ticks (nothing to decide)
    for t in ts[1:]:
        await cluster.set_image(NS, t.deployment, "app", "app:2")
    quiet = 0  # the releases' first writes (primary, route, state) come a few passes after they start
    for _ in range(60):
        mark = len(server.requests)
        await _passes(engine, clock, 1, 0.5)
        moving = [r for r in _writes(server.requests[mark:]) if not _is_lease(r)]
        progressing = all(r.phase.value == "Progressing" for r in engine.state.rollouts)
        quiet = quiet + 1 if progressing and not moving else 0
        if quiet >= 5:
            break
    server.clear_requests()
    await _passes(engine, clock, passes, 0.5)
    driving = server.requests
    result.update(
        driving_per_pass=len(driving) / passes,
        driving_reads_per_pass=len([r for r in driving if _is_read(r)]) / passes,
        driving_renewals_per_pass=len([r for r in driving if _is_lease(r) and not _is_read(r)]) / passes,
        driving_kinds=_kinds(driving),
        other=[f"{r.method} {r.path}" for r in [*idle, *driving] if not (_is_lease(r) and r.method == "PUT")],
    )
    await engine.stop()
    await cluster.close()
    return result


def run(targets: int = TARGETS, passes: int = 10) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    from tests.kubeapi.server import KubeApiServer

    server = KubeApiServer(bookmark_interval=0.5).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server.write_kubeconfig(Path(tmp) / "kubeconfig")
            _seed(server, targets)
            return asyncio.run(_run(server, targets, passes))
    finally:
        server.stop()


def _seed(server: Any, targets: int) -> None:
    server.install_crds("istio")
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for i in range(targets):
        for obj in _objects(i):
            server.apply(obj)


def _join(c: collections.Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items())) or "none"


def report(r: dict[str, Any], targets: int | None = None) -> list[str]:
    targets = targets or r["targets"]
    lines = [
        f"cluster API requests per pass, {targets} canary targets in one namespace, steady state "
        f"({r['passes']} passes):",
        f"  polling baseline: {r['polling_per_pass']:.0f} per pass ({_join(r['polling_kinds'])})",
        f"  the engine before its rework (polls, and renews every Lease every pass): "
        f"{r['old_engine_per_pass']:.0f} per pass ({_join(r['old_engine_kinds'])})",
        f"  this checkout's engine, watched, every target idle: {r['idle_per_pass']:.1f} requests per pass "
        f"(goal 0; no Lease held) ({_join(r['idle_kinds'])})",
        f"  this checkout's engine, watched, every target driving (a release in progress, nothing to decide): "
        f"{r['driving_reads_per_pass']:.1f} reads per pass (goal 0), {r['driving_renewals_per_pass']:.1f} Lease "
        f"renewals per pass (one PUT per target every 5 s), {r['driving_per_pass']:.1f} requests per pass in all "
        f"({_join(r['driving_kinds'])})",
        f"  when it started: {r['start_requests']} requests to list and open the watches ({_join(r['start_kinds'])});"
        f" Leases taken to save the first states, then given back: {_join(r['start_leases'])}",
    ]
    if r["other"]:
        lines.append(f"  other requests in the steady windows: {', '.join(r['other'][:5])}")
    if r["polling_per_pass"]:
        lines.append(
            f"  ratio watched / polling: idle {r['idle_per_pass'] / r['polling_per_pass']:.3f}, "
            f"driving {r['driving_per_pass'] / r['polling_per_pass']:.3f} "
            f"(against the engine before its rework: idle {r['idle_per_pass'] / r['old_engine_per_pass']:.3f}, "
            f"driving {r['driving_per_pass'] / r['old_engine_per_pass']:.3f})"
        )
    per_object = sorted(set(r["step_objects"].values()))
    take = ", ".join(f"{m} {code}" for m, code in r["take"]) or "none"
    lines.append(f"an idle canary released: its Lease taken before its first write with {take}")
    lines.append(
        f"writes of the pass that decided one canary step: {_join(r['step_writes'])}"
        f" — {'one per object changed' if per_object == [1] else f'per object: {per_object}'}"
        f" (Lease renewals due in the same pass, apart: {r['step_renewals']})"
    )
    return lines


def measure(targets: int = TARGETS, passes: int = 10) -> dict[str, Any]:
    return run(targets, passes)


def summary(r: dict[str, Any]) -> str:
    return (
        f"Kubernetes API requests per steady pass for {r['targets']} canaries: "
        f"{r['idle_per_pass']:.1f} idle, {r['driving_reads_per_pass']:.1f} reads + "
        f"{r['driving_renewals_per_pass']:.1f} lease renewals driving, vs "
        f"{r['polling_per_pass']:.0f} polled ({r['old_engine_per_pass']:.0f} before the rework); "
        f"step decision writes: {_join(r['step_writes'])}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.kube_requests")
    p.add_argument("--targets", type=int, default=TARGETS)
    p.add_argument("--passes", type=int, default=10)
    args = p.parse_args(argv)
    r = run(args.targets, args.passes)
    print("\n".join(report(r)))
    print(summary(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
