from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import ScaledClock
from app.config import PrometheusConfig
from app.factory import RoomOptions, make_demo
from app.wiring import WiringError, prometheus_from_config
from backends.prometheus import PrometheusMetrics


def test_demo_with_prometheus_uses_it_with_a_window_floor_for_the_fast_clock() -> None:
    demo = make_demo(
        RoomOptions(scenario="healthy-canary", prometheus=PrometheusConfig(url="http://127.0.0.1:9")),
        clock=ScaledClock(speed=20),
    )
    metrics = demo.engine.metrics
    assert isinstance(metrics, PrometheusMetrics) and metrics.min_window == 4.0
    assert metrics.window("30s") == "4s", "30 s at 20x is 1.5 real seconds: too short for rate()"
    assert metrics.window("10m") == "30s"


def test_templates_and_auth_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    cfg = PrometheusConfig(
        url="https://prom:9090",
        bearer_token_file=str(token),
        templates={"p95": 'histogram_quantile(0.95, x{ns="{{ namespace }}"})'},
    )
    metrics = prometheus_from_config(cfg)
    assert "p95" in metrics.templates and "request-success-rate" in metrics.templates


def test_unusable_auth_settings_are_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WiringError, match="bearer_token_file .*no such file"):
        prometheus_from_config(PrometheusConfig(url="http://p:9090", bearer_token_file=str(tmp_path / "nope")))
    monkeypatch.delenv("PROM_PW", raising=False)
    with pytest.raises(WiringError, match=r"password_env names \$PROM_PW, which is not set"):
        prometheus_from_config(PrometheusConfig(url="http://p:9090", username="u", password_env="PROM_PW"))
    with pytest.raises(WiringError):
        prometheus_from_config(PrometheusConfig(url="http://p:9090", ca_file=str(tmp_path / "missing.pem")))
