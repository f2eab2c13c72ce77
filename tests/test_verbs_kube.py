"""The headless verbs on a cluster: the real CLI (`app.cli.main` in-process, and a subprocess for the seed's
pipeline step) against the test API server, with Flagger's and Argo Rollouts' upstream CRDs installed and
their status written the way each controller writes it, while the verb waits."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main
from app.foreign.verbs import argo_pause
from app.verbs import BAD_INPUT, FAILED, OK, TIMEOUT, UNREACHABLE
from tests.test_cli import ROOT
from tests.test_kube_e2e import SEED_DEPLOYMENTS, SEED_SERVICE

DATA = Path(__file__).parent / "foreign_data"
NS, SHOP = "microservices", "shop"
LIMIT = ("--timeout", "20s")  # a wait that would hang fails the test instead (exit 3)
ROLLOUT_PATH = f"/apis/argoproj.io/v1alpha1/namespaces/{SHOP}/rollouts/checkout"
#: A Shiftroom target beside them: the seed's blue-green pair and its Service.
CONFIG = {
    "targets": [
        {
            "name": "microservices-bg",
            "namespace": NS,
            "strategy": "blue-green",
            "deployment": "microservices",
            "service": "microservices",
            "container": "frontend",
        }
    ]
}


@dataclass
class Cluster:
    server: Any
    kubeconfig: str
    config: str

    def flags(self, *namespaces: str) -> list[str]:
        return ["--kubeconfig", self.kubeconfig, "--config", self.config, "-n", ",".join(namespaces or (NS, SHOP))]

    def canary(self, **status: Any) -> None:
        """Flagger's status write on the seed's Canary."""
        body = self.server.get("flagger.app/v1beta1", "Canary", "microservices-canary", NS)
        body["status"] = status
        self.server.apply(body)

    def rollout(self, **status: Any) -> None:
        """The Argo Rollouts controller's status write, for the generation it has observed."""
        body = self.server.get("argoproj.io/v1alpha1", "Rollout", "checkout", SHOP)
        observed = str(body["metadata"].get("generation", 1))
        body["status"] = {"stableRS": "6d4f8c7b9", "currentPodHash": "85b9f6d5c", "observedGeneration": observed}
        body["status"].update(status)
        self.server.apply(body)

    def writes(self) -> list[Any]:
        return [r for r in self.server.requests if r.method != "GET"]


@pytest.fixture
def cluster(kube_api_factory: Callable[..., Any], tmp_path: Path) -> Cluster:
    server = kube_api_factory(controller="manual")
    server.install_crds("flagger", "argo")
    for ns in (NS, SHOP):
        server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for doc in yaml.safe_load_all(SEED_DEPLOYMENTS + "---\n" + SEED_SERVICE):
        server.apply(doc)
    canary = yaml.safe_load((DATA / "canary.yaml").read_text())
    canary["status"] = {"phase": "Progressing", "canaryWeight": 10, "failedChecks": 0, "iterations": 0}
    server.apply(canary)
    rollout = yaml.safe_load((DATA / "rollout.yaml").read_text())
    rollout["metadata"].pop("generation", None)  # the API server's to set
    uid = server.apply(rollout)["metadata"]["uid"]
    for rs in yaml.safe_load((DATA / "replicasets.yaml").read_text()):  # owned by the Rollout, as its controller does
        for ref in rs["metadata"]["ownerReferences"]:
            ref["uid"] = uid
        pod_hash = rs["metadata"]["labels"]["rollouts-pod-template-hash"]
        rs["spec"]["selector"] = {"matchLabels": {"app": "checkout", "rollouts-pod-template-hash": pod_hash}}
        server.apply(rs)
    config = tmp_path / "shiftroom.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    c = Cluster(server, str(server.kubeconfig), str(config))
    c.rollout(phase="Progressing", currentStepIndex=2, availableReplicas=4)
    return c


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def watching(server: Any, resource: str, seconds: float = 20.0) -> None:
    """Until a client has opened its watch of `resource` (the verb is waiting on its first list's end)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(f"/{resource}" in r.path and r.query.get("watch") == "true" for r in server.requests):
            return
        time.sleep(0.05)
    raise AssertionError(f"nobody watched {resource} within {seconds} s")


@pytest.fixture
def script() -> Iterator[Callable[..., None]]:
    """Run `steps` (callables, `pause` seconds apart) in a thread once the verb watches `resource`:
    the controller's status progression while the CLI blocks in `main()`."""
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def start(cluster: Cluster, resource: str, *steps: Callable[[], None], pause: float = 0.3) -> None:
        def go() -> None:
            try:
                watching(cluster.server, resource)
                for step in steps:
                    time.sleep(pause)
                    step()
            except BaseException as err:  # reported by the fixture, not lost in the thread
                errors.append(err)

        thread = threading.Thread(target=go, daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    for thread in threads:
        thread.join(30)
    assert not errors, errors


# ---------------------------------------------------------------- wait: Flagger


def test_the_seed_pipeline_step_is_one_line_on_a_cluster(cluster: Cluster) -> None:
    """`shiftroom wait microservices-canary -n microservices --until Succeeded --timeout 30m`, as a pipeline
    runs it: a subprocess without a terminal, while Flagger walks the Canary to Succeeded."""
    argv = ["wait", "microservices-canary", "-n", NS, "--until", "Succeeded", "--timeout", "30m"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *argv, "--kubeconfig", cluster.kubeconfig],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        watching(cluster.server, "canaries", 60)
        for weight in (20, 30, 40, 50):
            time.sleep(0.3)
            cluster.canary(phase="Progressing", canaryWeight=weight, failedChecks=1, iterations=0)
        for phase in ("Promoting", "Finalising"):
            time.sleep(0.3)
            cluster.canary(phase=phase, canaryWeight=50, failedChecks=1, iterations=0)
        time.sleep(1.5)
        assert proc.poll() is None, proc.communicate()  # Promoting / Finalising are not Succeeded yet
        cluster.canary(phase="Succeeded", canaryWeight=0, failedChecks=0, iterations=0)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == OK, err
    assert out.startswith("microservices/microservices-canary is Succeeded after ") and out.count("\n") == 1
    assert err == ""
    assert not cluster.writes()  # wait never writes: not a Lease, not an Event, not even a SelfSubjectReview


def test_wait_for_succeeded_on_a_canary_flagger_fails_is_1(
    cluster: Cluster, script: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    script(
        cluster,
        "canaries",
        lambda: cluster.canary(phase="Progressing", canaryWeight=20, failedChecks=4, iterations=0),
        lambda: cluster.canary(phase="Failed", canaryWeight=0, failedChecks=5, iterations=0),
    )
    code, out, _ = run(
        capsys, "wait", "microservices-canary", "--until", "Succeeded", "--json", *LIMIT, *cluster.flags(NS)
    )
    assert code == FAILED
    (line,) = lines(out)
    assert (line["kind"], line["result"], line["exit"], line["phase"]) == ("wait", "failed", 1, "Failed")
    assert (line["driven_by"], line["failed_checks"], line["threshold"]) == ("flagger", 5, 5)
    cluster.canary(phase="Failed", canaryWeight=0, failedChecks=5, iterations=0)
    code, out, _ = run(capsys, "wait", "microservices-canary", "--until", "Succeeded", *cluster.flags(NS))
    assert code == FAILED
    assert out.startswith("microservices/microservices-canary ended Failed while waiting for Succeeded after ")
    assert " at weight 0%, failed checks 5/5" in out


def test_wait_times_out_with_3(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "wait", "microservices-canary", "--until", "Succeeded", "--timeout", "2s", *cluster.flags(NS)
    )
    assert code == TIMEOUT
    assert out.startswith("microservices/microservices-canary is still Progressing, not Succeeded")
    assert "(timeout)" in out


# ---------------------------------------------------------------- wait: Argo Rollouts


def test_an_argo_rollout_healthy_after_the_update_is_succeeded(
    cluster: Cluster, script: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    def spec_not_observed_yet() -> None:  # Healthy of the old spec: `kubectl argo rollouts get` says Progressing
        cluster.rollout(phase="Healthy", observedGeneration="0", currentPodHash="6d4f8c7b9", availableReplicas=4)

    script(
        cluster,
        "rollouts",
        lambda: cluster.rollout(phase="Progressing", currentStepIndex=6, availableReplicas=4),
        spec_not_observed_yet,
        lambda: cluster.rollout(phase="Healthy", currentStepIndex=8, currentPodHash="6d4f8c7b9", availableReplicas=4),
    )
    code, out, _ = run(capsys, "wait", "checkout", "--until", "Succeeded", "--json", *LIMIT, *cluster.flags(SHOP))
    assert code == OK
    (line,) = lines(out)
    assert (line["result"], line["phase"], line["driven_by"], line["target"]) == (
        "reached",
        "Healthy",
        "argo",
        "shop/checkout",
    )
    assert line["waited"] > 0.5  # it saw the progression, not a Healthy it started on


@pytest.mark.parametrize("degraded", [True, False], ids=["degraded", "aborted-before-degraded"])
def test_an_aborted_or_degraded_argo_rollout_is_failed(
    degraded: bool, cluster: Cluster, script: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    if degraded:
        status = {"phase": "Degraded", "abort": True, "message": "RolloutAborted: Rollout aborted update to revision 2"}
    else:  # status.abort patched (`kubectl argo rollouts abort`), the controller has not written its phase yet
        status = {"phase": "Progressing", "abort": True, "currentStepIndex": 2}
    script(cluster, "rollouts", lambda: cluster.rollout(**status))
    code, out, _ = run(capsys, "wait", "checkout", "--until", "Succeeded", "--json", *LIMIT, *cluster.flags(SHOP))
    assert code == FAILED
    (line,) = lines(out)
    assert line["result"] == "failed" and line["phase"] == status["phase"]
    code, out, _ = run(capsys, "wait", "checkout", "--until", "Failed", "--json", *LIMIT, *cluster.flags(SHOP))
    assert code == OK and lines(out)[0]["result"] == "reached"


def test_wait_until_paused_on_an_argo_pause_step(
    cluster: Cluster, script: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    paused = {
        "phase": "Paused",
        "currentStepIndex": 1,
        "controllerPause": True,
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-11-30T05:50:00Z"}],
        "availableReplicas": 4,
    }
    script(cluster, "rollouts", lambda: cluster.rollout(**paused))
    assert run(capsys, "wait", "shop/checkout", "--until", "Paused", *LIMIT, *cluster.flags(SHOP))[0] == OK


# ---------------------------------------------------------------- status


def test_status_lists_shiftroom_flagger_and_argo_rows_and_never_writes(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.server.clear_requests()
    code, out, err = run(capsys, "status", "--json", *cluster.flags())
    assert code == OK, err
    rows = {line["target"]: line for line in lines(out)}
    assert {k: r["driven_by"] for k, r in rows.items()} == {
        "microservices/microservices-bg": "shiftroom",
        "microservices/microservices-canary": "flagger",
        "shop/checkout": "argo",
    }
    assert all(r["kind"] == "status" for r in rows.values())
    canary, rollout = rows["microservices/microservices-canary"], rows["shop/checkout"]
    assert (canary["phase"], canary["weights"], canary["threshold"]) == ("Progressing", {"stable": 90, "canary": 10}, 5)
    assert (rollout["phase"], rollout["step"], rollout["steps"], rollout["strategy"]) == ("Progressing", 2, 8, "canary")
    assert rows["microservices/microservices-bg"]["strategy"] == "blue-green"
    seen = cluster.server.requests
    assert seen and all(r.method == "GET" for r in seen), [(r.method, r.path) for r in seen if r.method != "GET"]

    code, out, _ = run(capsys, "status", "checkout", *cluster.flags())  # one row, as text
    assert code == OK
    header, row = out.splitlines()
    assert header.startswith("TARGET") and row.startswith("shop/checkout") and "Progressing" in row


def test_bad_input_is_2_and_an_unreachable_api_server_is_4(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "status", "nope", *cluster.flags())
    assert code == BAD_INPUT
    assert err.strip() == (
        "shiftroom: there is no target 'nope'; the known targets are: microservices/microservices-bg, "
        "microservices/microservices-canary, shop/checkout."
    )
    code, _, err = run(capsys, "status", "--kubeconfig", str(tmp_path / "missing"))
    assert code == BAD_INPUT and err.startswith("shiftroom: No kubeconfig at ") and len(err.splitlines()) == 1
    code, _, err = run(
        capsys, "wait", "checkout", "--until", "Paused", "--kubeconfig", cluster.kubeconfig, "--context", "x"
    )
    assert code == BAD_INPUT and "context 'x'" in err and len(err.splitlines()) == 1
    code, _, err = run(capsys, "status", "--prometheus", "ftp://x", *cluster.flags())
    assert code == BAD_INPUT and "--prometheus" in err

    cluster.server.set_reachable(False)
    for argv in (
        ["status", "--json"],
        ["wait", "checkout", "--until", "Succeeded"],
        ["pause", "checkout", "--reason", "r"],
    ):
        code, out, err = run(capsys, *argv, *cluster.flags())
        assert code == UNREACHABLE, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "not reachable" in err, err
        if "--json" in argv:
            assert lines(out)[-1]["kind"] == "error" and lines(out)[-1]["exit"] == UNREACHABLE


# ---------------------------------------------------------------- commands


def test_pause_on_an_argo_rollout_sends_the_rooms_patch(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    cluster.server.clear_requests()
    code, out, err = run(capsys, "pause", "checkout", "--reason", "hold for the demo", "--json", *cluster.flags())
    assert code == OK, err
    (line,) = lines(out)
    assert (line["kind"], line["verb"], line["target"], line["ok"]) == ("command", "pause", "shop/checkout", True)
    patches = [(r.path, r.content_type, r.body) for r in cluster.server.requests if r.method == "PATCH"]
    plan = argo_pause().spec
    assert plan is not None
    assert patches == [(ROLLOUT_PATH, "application/merge-patch+json", plan.body)]
    assert plan.body == b'{"spec":{"paused":true}}'  # `kubectl argo rollouts pause`, byte for byte
    events = [json.loads(r.body) for r in cluster.writes() if r.path.endswith("/events")]
    assert len(events) == 1 and events[0]["regarding"]["kind"] == "Rollout" and "hold for the demo" in events[0]["note"]
    others = [(r.method, r.path) for r in cluster.writes() if r.method != "PATCH" and not r.path.endswith("/events")]
    assert all("/apis/authentication.k8s.io/" in p or "/apis/authorization.k8s.io/" in p for _, p in others), others
    assert cluster.server.get("argoproj.io/v1alpha1", "Rollout", "checkout", SHOP)["spec"]["paused"] is True

    cluster.server.clear_requests()
    code, out, _ = run(capsys, "pause", "checkout", "--reason", "again", *cluster.flags())
    assert code == OK and out.strip() == "shop/checkout is already paused"  # intent, not a toggle
    assert not [r for r in cluster.writes() if r.method == "PATCH"]


def test_destructive_and_impossible_commands_on_foreign_rows(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.server.clear_requests()
    code, _, err = run(capsys, "abort", "checkout", "--reason", "r", *cluster.flags())
    assert code == BAD_INPUT and "add --yes" in err  # destructive: no terminal, no --yes
    code, _, err = run(capsys, "switch", "checkout", "--reason", "r", *cluster.flags())
    assert code == BAD_INPUT and err.startswith("shiftroom: shop/checkout: Argo Rollouts has no switch")
    code, _, err = run(capsys, "promote", "microservices-canary", "--reason", "r", "--yes", *cluster.flags())
    assert code == BAD_INPUT and "has no promotion gate" in err  # the seed's Canary has no confirm webhook
    code, _, err = run(capsys, "undo", "microservices-canary", "--reason", "r", "--yes", *cluster.flags())
    assert code == BAD_INPUT and "Flagger has no undo" in err
    assert not [r for r in cluster.writes() if r.method in ("PATCH", "PUT", "DELETE")]

    code, out, err = run(capsys, "abort", "checkout", "--reason", "bad release", "--yes", "--json", *cluster.flags())
    assert code == OK, err
    patches = [(r.path, r.body) for r in cluster.server.requests if r.method == "PATCH"]
    assert patches == [(ROLLOUT_PATH + "/status", b'{"status":{"abort":true}}')]
    code, out, _ = run(capsys, "resume", "microservices-canary", "--reason", "r", *cluster.flags())
    assert code == OK and "already running" in out  # not suspended
    cluster.rollout(
        phase="Paused",
        currentStepIndex=1,
        pauseConditions=[{"reason": "CanaryPauseStep", "startTime": "2026-11-30T05:50:00Z"}],
    )
    code, _, err = run(capsys, "resume", "checkout", "--reason", "r", *cluster.flags())
    assert code == FAILED and "promote it to go on" in err  # a pause step is lifted by promote: the engine says so


# ---------------------------------------------------------------- watch


def test_watch_opens_on_the_kubeconfig_and_shows_the_clusters_rows(cluster: Cluster) -> None:
    import asyncio

    from app.cli import build_parser
    from app.cli_verbs import watch_app
    from app.config import load_config
    from widgets.wall_tile import WallTile

    args = build_parser().parse_args(["watch", *cluster.flags(), "--refresh", "1"])
    app: Any = watch_app(args, load_config(cluster.config))
    assert app.engine.read_only and app.engine.publish_every >= 1.0
    cluster.server.clear_requests()

    async def look() -> list[str]:
        async with app.run_test(size=(160, 50)) as pilot:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                await pilot.pause(0.1)
                titles = sorted(t.card.title for t in app.wall.query(WallTile) if t.card is not None and t.display)
                if len(titles) == 3:
                    return titles
            raise AssertionError("the wall did not show the cluster's three rollouts")

    titles = asyncio.run(look())
    assert titles == ["checkout", "microservices-bg", "microservices-canary"]
    assert not [(r.method, r.path) for r in cluster.writes()]  # read-only: nothing is written


def test_serve_passes_the_cluster_flags_to_each_tab() -> None:
    from app.cli import build_parser
    from app.cli_verbs import serve_cluster_args
    from app.verbs.serve import ServeOptions, command

    args = build_parser().parse_args(["serve", "--watch", "--kubeconfig", "kc", "-n", "shop", "-A", "--config", "s.y"])
    flags = serve_cluster_args(args)
    assert flags == ("--kubeconfig", "kc", "-n", "shop", "-A", "--config", "s.y")
    assert command(ServeOptions(watch=True, cluster=flags))[-8:] == ["watch", *flags]
    assert command(ServeOptions(read_only=True, cluster=flags))[-9:] == ["room", *flags, "--read-only"]
    assert command(ServeOptions(watch=True, cluster=(), scenario=None))[-3:] == ["watch", "--demo", "loop"]


def test_a_command_on_a_shiftroom_target_drives_only_that_one(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A command's engine takes the Lease of the target it names, not of every configured target, and gives
    it back when it exits (the objects of `other-bg` do not even exist: it is never opened)."""
    other = dict(CONFIG["targets"][0], name="other-bg", deployment="other", service="other")
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump({"targets": [*CONFIG["targets"], other]}))
    flags = [*cluster.flags(NS), "--config", str(config)]
    cluster.server.clear_requests()
    code, out, err = run(capsys, "pause", "microservices-bg", "--reason", "r", "--json", *flags)
    assert code == FAILED  # the engine refuses: a blue-green at rest has no analysis to pause
    assert lines(out) == [
        {
            "kind": "command",
            "verb": "pause",
            "target": "microservices/microservices-bg",
            "ok": False,
            "message": "microservices-bg is Initialized: there is no analysis to pause",
            "exit": 1,
        }
    ]
    leases = [(r.method, r.path.rsplit("/leases", 1)[1]) for r in cluster.writes() if "/leases" in r.path]
    assert leases == [("POST", ""), ("PUT", "/shiftroom-microservices-bg")]  # taken, then released on exit
    lease = cluster.server.get("coordination.k8s.io/v1", "Lease", "shiftroom-microservices-bg", NS)
    assert not (lease.get("spec") or {}).get("holderIdentity")
    code, _, err = run(capsys, "pause", "nope", "--reason", "r", *flags)
    assert code == BAD_INPUT and "microservices/other-bg" in err  # listed, though not opened
