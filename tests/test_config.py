from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_config


def test_no_file_gives_defaults() -> None:
    config = load_config(env={"SHIFTROOM_CONFIG": ""})
    assert config.prometheus is None and config.redis is None and config.theme == "dark"


def test_file_then_environment_overrides(tmp_path: Path) -> None:
    f = tmp_path / "shiftroom.yaml"
    f.write_text("theme: wall\nprometheus:\n  url: http://prom:9090\n  timeout: 2\n")
    config = load_config(
        str(f),
        env={"SHIFTROOM_PROMETHEUS_URL": "http://127.0.0.1:9091", "SHIFTROOM_REDIS_URL": "rediss://:pw@r:6380/1"},
    )
    assert config.theme == "wall"
    assert config.prometheus.url == "http://127.0.0.1:9091" and config.prometheus.timeout == 2
    assert config.redis.url == "rediss://:pw@r:6380/1"


def test_a_wrong_field_names_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "shiftroom.yaml"
    f.write_text("theme: dark\nprometheus:\n  url: http://p:9090\n  timeout: -1\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(f), env={})
    assert str(err.value).startswith(f"{f}:4: field 'prometheus.timeout'")


def test_unknown_field_and_bad_url(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("redis:\n  url: localhost:6379\n")
    with pytest.raises(ConfigError, match=r"c.yaml:2: field 'redis.url'.*redis://"):
        load_config(str(f), env={})
    f.write_text("colour: red\n")
    with pytest.raises(ConfigError, match="c.yaml:1: field 'colour'"):
        load_config(str(f), env={})


def test_bad_environment_value_is_one_sentence() -> None:
    with pytest.raises(ConfigError, match="environment: the Prometheus URL must start with http"):
        load_config(env={"SHIFTROOM_CONFIG": "", "SHIFTROOM_PROMETHEUS_URL": "prom:9090"})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load_config(str(tmp_path / "nope.yaml"), env={})
