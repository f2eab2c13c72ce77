"""Cluster API requests per pass in steady state, and writes per decision, on the test API server.

TARGETS canary targets in Flagger's layout (`d`, `d-primary`, a VirtualService each) on
the test Kubernetes API server (`tests/kubeapi/`, its stand-in Deployment controller
making them ready); every request the server answers is in its request log.

- polling baseline: what a polling engine reads each pass, done the same way here —
  3 GETs per canary (the target and primary Deployments and the route);
- the engine of this checkout: `Engine.run_pass()` over `KubeCluster` in steady state
  (the engine before the rework polls as above and also renews each Lease with a GET
  and a PUT every pass; the reworked one reads its watch-fed cache);
- watched: `KubeCluster.watch()` listed and synced, then the same number of pass
  intervals in steady state: requests sent while nothing changes (bookmarks arrive on
  the open streams and are not requests). The Lease renewals a driving room still makes
  are shown apart (the reworked engine renews every lease_duration/3, not every pass);
- writes per decision: one canary released and driven until its first `step`; the
  writes of that pass by object (route weights, state annotation, Event, Lease).

    python -m bench.kube_requests [--targets 50] [--passes 5]
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


def _kinds(records: list[Any]) -> collections.Counter[str]:
    c: collections.Counter[str] = collections.Counter()
    for r in records:
        parts = r.path.strip("/").split("/")
        resource = parts[-1] if len(parts) % 2 == 0 or "namespaces" not in parts else parts[-2]
        if "namespaces" in parts:
            i = parts.index("namespaces")
            resource = parts[i + 2] if len(parts) > i + 2 else "namespaces"
        c[f"{r.method} {resource}{' (watch)' if r.query.get('watch') else ''}"] += 1
    return c


async def _run(server: Any, targets: int, passes: int) -> dict[str, Any]:
    from app.clock import VirtualClock
    from app.control.engine import Engine
    from app.live import EventAudit
    from app.model import MetricSample, Mode, Target
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
    ts = [
        Target(name=f"app{i}", namespace=NS, deployment=f"app{i}", replicas=1, router="istio") for i in range(targets)
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
    server.clear_requests()
    for _ in range(passes):
        for t in ts:  # the polling baseline: 3 GETs per canary per pass
            await cluster.get_deployment(NS, t.deployment)
            await cluster.get_deployment(NS, f"{t.deployment}-primary")
            await cluster.get_route(NS, t.name)
    polled = server.requests
    for _ in range(3):  # leases taken, states saved: steady from here
        await engine.run_pass()
        await clock.advance(1)
    server.clear_requests()
    for _ in range(passes):
        await engine.run_pass()
        await clock.advance(1)
    engine_reqs = server.requests
    result: dict[str, Any] = {
        "polling_per_pass": len(polled) / passes,
        "polling_kinds": _kinds(polled),
        "engine_per_pass": len(engine_reqs) / passes,
        "engine_kinds": _kinds(engine_reqs),
    }
    server.clear_requests()

    it = cluster.watch()
    async for ev in it:
        if ev.type == "SYNCED":
            break
    consumer = asyncio.create_task(_drain(it))
    await asyncio.sleep(0.5)  # the watch requests are logged as they open
    listed = server.requests
    server.clear_requests()
    await asyncio.sleep(passes * 1.0)  # as many pass intervals of steady state
    watched = server.requests
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await it.aclose()
    result.update(
        watch_requests=len(watched),
        watch_per_pass=len(watched) / passes,
        initial_sync=len(listed),
        lease_renewals_per_pass=targets * 2,
    )

    # one decision: app0 released and driven to its first step
    await cluster.set_image(NS, "app0", "app", "app:2")
    step_writes: list[Any] = []
    for _ in range(400):
        before = len([e for e in engine.state.events if e.action == "step"])
        server.clear_requests()
        await engine.run_pass()
        await engine.idle()  # the pass's ticks write after it returns: all of their writes belong to it
        if len([e for e in engine.state.events if e.action == "step"]) > before:
            step_writes = [r for r in server.requests if r.method in ("PATCH", "POST", "PUT")]
            break
        await clock.advance(1)
        await asyncio.sleep(0.02)
    result["step_writes"] = _kinds(step_writes)
    await engine.stop()
    await cluster.close()
    return result


async def _drain(it: Any) -> None:
    async for _ in it:
        pass


def run(targets: int = TARGETS, passes: int = 5) -> dict[str, Any]:
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


def report(r: dict[str, Any], targets: int) -> list[str]:
    lines = [
        f"cluster API requests per pass, {targets} canary targets, steady state:",
        f"  polling baseline: {r['polling_per_pass']:.0f} per pass "
        f"(over the window: {', '.join(f'{k}: {v}' for k, v in sorted(r['polling_kinds'].items()))})",
        f"  this checkout's engine: {r['engine_per_pass']:.0f} per pass "
        f"(over the window: {', '.join(f'{k}: {v}' for k, v in sorted(r['engine_kinds'].items())) or 'none'})",
        f"  watched (KubeCluster.watch): {r['watch_per_pass']:.1f} per pass "
        f"({r['watch_requests']} in the whole window; the initial lists and watch opens: {r['initial_sync']})",
        f"  (a polling engine also renews each Lease every pass: {r['lease_renewals_per_pass']} more)",
    ]
    if r["polling_per_pass"]:
        lines.append(f"  ratio watched / polling: {r['watch_per_pass'] / r['polling_per_pass']:.3f}")
    lines.append(
        "writes of the pass that decided one canary step: "
        + (", ".join(f"{k}: {v}" for k, v in sorted(r["step_writes"].items())) or "none seen")
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.kube_requests")
    p.add_argument("--targets", type=int, default=TARGETS)
    p.add_argument("--passes", type=int, default=5)
    args = p.parse_args(argv)
    for line in report(run(args.targets, args.passes), args.targets):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
