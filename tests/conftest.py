"""Suite-wide fixtures: no test ever reads the developer's own configuration."""

from __future__ import annotations

import pytest
from hypothesis import settings

# The server fixtures are registered here once, so a test module asks for `redis_server` by
# name instead of importing the fixture function (an import that shadows the parameter).
pytest_plugins = [
    "tests.kubeapi.fixtures",
    "tests.hook_server",
    "tests.servers.prometheus",
    "tests.servers.redis",
]

# No example database: the parallel workers of `make test` never share one, and no run replays the examples
# another run saved. The profiles of tests/fuzz_strategies.py inherit this.
settings.register_profile("suite", database=None)
settings.load_profile("suite")


@pytest.fixture(autouse=True)
def _own_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test its own state directory: an audit spool left by one test is never replayed by another."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("SHIFTROOM_STATE_DIR", raising=False)


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIFTROOM_CONFIG", "")
    for name in ("SHIFTROOM_PROMETHEUS_URL", "SHIFTROOM_REDIS_URL", "SHIFTROOM_THEME"):
        monkeypatch.delenv(name, raising=False)
