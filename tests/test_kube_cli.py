"""`shiftroom` / `shiftroom room` / `shiftroom doctor` on a cluster, and the live wiring."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main
from app.config import load_config
from app.live import LiveError, LiveOptions, build, preflight
from app.model import Mode
from tests.test_kube_canary_spec import CANARY_YAML

CANARY = yaml.safe_load(CANARY_YAML)


def test_cli_does_not_import_kubernetes_asyncio() -> None:
    import subprocess

    code = "import sys, app.cli; app.cli.build_parser(); print('kubernetes_asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_kubeconfig_is_one_sentence_suggesting_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main([]) == 4
    err = capsys.readouterr().err.strip()
    assert "No kubeconfig" in err and "shiftroom demo" in err and len(err.splitlines()) == 1
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "a") + ":" + str(tmp_path / "b"))
    assert main(["room"]) == 4
    assert "No kubeconfig at" in capsys.readouterr().err


def test_unknown_context_and_bad_flag(kube_api: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--kubeconfig", str(kube_api.kubeconfig), "--context", "nope"]) == 4
    assert "nope" in capsys.readouterr().out
    assert main(["doctor", "--frobnicate"]) == 2


def test_doctor_exit_codes(kube_api: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kube_api.grant("viewer", "view")
    kc = kube_api.write_kubeconfig(
        tmp_path / "kc", contexts={"admin": ("admin", "default"), "ro": ("viewer", "default")}
    )
    assert main(["doctor", "--kubeconfig", str(kc), "--context", "admin"]) == 0
    out = capsys.readouterr().out
    assert "identity: admin" in out and "Everything Shiftroom needs is allowed." in out
    assert main(["doctor", "--kubeconfig", str(kc), "--context", "ro", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["identity"] == "viewer" and not report["ok"]
    denied = {(p["verb"], p["resource"]) for p in report["permissions"] if p["needed"] and not p["allowed"]}
    assert ("patch", "deployments.apps") in denied
    kube_api.set_reachable(False)
    assert main(["doctor", "--kubeconfig", str(kc)]) == 4
    assert "not reachable" in capsys.readouterr().out


def _config(tmp_path: Path, body: dict[str, Any]) -> Any:
    (tmp_path / "canary.yaml").write_text(CANARY_YAML)
    path = tmp_path / "shiftroom.yaml"
    path.write_text(yaml.safe_dump(body))
    return load_config(str(path))


def test_config_targets_production_and_header_fields(kube_api: Any, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {
            "production_contexts": ["te*"],
            "targets": [
                {"canary_file": "canary.yaml"},
                {
                    "name": "microservices-bg",
                    "namespace": "microservices",
                    "strategy": "blue-green",
                    "deployment": "microservices",
                    "service": "microservices",
                    "container": "frontend",
                },
            ],
        },
    )
    options = LiveOptions(kubeconfig=str(kube_api.kubeconfig))
    pre = asyncio.run(preflight(options, config))
    assert pre.where.context == "test" and pre.where.cluster == "kubeapi-test" and pre.identity == "admin"
    assert pre.production and all(t.production for t in pre.targets)
    assert [t.key for t in pre.targets] == ["microservices/microservices", "microservices/microservices-bg"]
    assert pre.namespaces == ["microservices"]

    async def room() -> Any:
        engine = build(pre, options, config)
        state = engine.state
        await engine.cluster.close()  # type: ignore[attr-defined]
        return state

    state = asyncio.run(room())
    assert (state.mode, state.context, state.cluster, state.identity) == (Mode.LIVE, "test", "kubeapi-test", "admin")


def test_a_canary_flagger_drives_is_not_driven(kube_api: Any, tmp_path: Path) -> None:
    kube_api.install_crds("flagger")
    kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "microservices"}})
    kube_api.apply(CANARY)
    config = _config(tmp_path, {"targets": [{"canary_file": "canary.yaml"}]})
    options = LiveOptions(kubeconfig=str(kube_api.kubeconfig), read_only=True)
    pre = asyncio.run(preflight(options, config))
    assert pre.flagger_driven == {"microservices/microservices"}

    async def room() -> Any:
        engine = build(pre, options, config)
        await engine.cluster.close()  # type: ignore[attr-defined]
        return engine

    engine = asyncio.run(room())
    assert engine.controllers == {}  # shown, not driven
    (event,) = [e for e in asyncio.run(engine.audit.recent()) if e.action == "flagger-driven"]  # type: ignore[union-attr]
    assert "Flagger" in event.reason and event.target == "microservices/microservices"
    assert engine.state.mode is Mode.READ_ONLY


def test_bad_canary_file_is_one_sentence(kube_api: Any, tmp_path: Path) -> None:
    bad = dict(CANARY, spec={**CANARY["spec"], "analysis": {"interval": "soon"}})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    config = _config(tmp_path, {"targets": [{"canary_file": "bad.yaml"}]})
    with pytest.raises(LiveError) as err:
        asyncio.run(preflight(LiveOptions(kubeconfig=str(kube_api.kubeconfig)), config))
    assert "bad.yaml" in str(err.value) and "spec.analysis.interval" in str(err.value)


def test_a_viewer_gets_a_read_only_room_that_says_why(kube_api: Any, tmp_path: Path) -> None:
    for doc in yaml.safe_load_all((Path(__file__).parent.parent / "deploy" / "rbac.yaml").read_text()):
        if doc and doc.get("kind") == "ClusterRole":
            kube_api.apply(doc)
    kube_api.grant("viewer", "shiftroom-viewer")
    kc = kube_api.write_kubeconfig(tmp_path / "kc", contexts={"ro": ("viewer", "default")})
    config = _config(tmp_path, {"targets": [{"canary_file": "canary.yaml"}]})
    options = LiveOptions(kubeconfig=str(kc), context="ro")
    pre = asyncio.run(preflight(options, config))
    assert pre.identity == "viewer"
    assert pre.read_only_reason.startswith("viewer may not ") and "shiftroom doctor" in pre.read_only_reason

    async def room() -> Any:
        engine = build(pre, options, config)
        await engine.cluster.close()  # type: ignore[attr-defined]
        return engine

    engine = asyncio.run(room())
    assert engine.state.mode is Mode.READ_ONLY and engine.read_only
    (event,) = [e for e in asyncio.run(engine.audit.recent()) if e.action == "read-only"]  # type: ignore[union-attr]
    assert event.reason == pre.read_only_reason
    admin = asyncio.run(preflight(LiveOptions(kubeconfig=str(kube_api.kubeconfig)), config))
    assert admin.read_only_reason == ""
