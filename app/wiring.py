"""From configuration to backend objects: the one place that knows both."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from app.clock import Clock

if TYPE_CHECKING:
    from app.config import NotifyConfig, PrometheusConfig
    from backends.notify import FanOut
    from backends.prometheus import PrometheusMetrics


class WiringError(Exception):
    """One sentence naming the setting that cannot be used."""


def prometheus_from_config(cfg: PrometheusConfig, clock: Clock | None = None) -> PrometheusMetrics:
    from backends.prometheus import PrometheusMetrics
    from backends.promql import MetricTemplate

    auth: tuple[str, str] | str | None = None
    if cfg.bearer_token_file:
        try:
            auth = Path(cfg.bearer_token_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WiringError(
                f"prometheus.bearer_token_file {cfg.bearer_token_file}: {(exc.strerror or str(exc)).lower()}."
            ) from None
    elif cfg.username:
        password = os.environ.get(cfg.password_env, "") if cfg.password_env else ""
        if cfg.password_env and not password:
            raise WiringError(f"prometheus.password_env names ${cfg.password_env}, which is not set.")
        auth = (cfg.username, password)
    from backends.base import BackendError

    templates = {name: MetricTemplate(name=name, query=query) for name, query in cfg.templates.items()}
    # A demo clock runs `speed` times faster than Prometheus scrapes: keep rate() windows
    # at least a few real scrape intervals long.
    speed = float(getattr(clock, "speed", 1.0) or 1.0)
    try:
        return PrometheusMetrics(
            cfg.url,
            timeout=cfg.timeout,
            retries=cfg.retries,
            auth=auth,
            ca_file=cfg.ca_file,
            verify=not cfg.insecure_skip_verify,
            templates=templates,
            provider=cfg.provider,
            clock=clock,
            min_window=4.0 if speed > 1 else 0.0,
        )
    except BackendError as err:
        raise WiringError(err.sentence) from None


def notifier_from_config(cfg: NotifyConfig) -> FanOut | None:
    from backends.notify import FanOut, HttpNotifier

    notifiers = []
    if cfg.slack_webhook_url:
        notifiers.append(HttpNotifier(cfg.slack_webhook_url, slack=True, timeout=cfg.timeout))
    if cfg.webhook_url:
        notifiers.append(HttpNotifier(cfg.webhook_url, timeout=cfg.timeout))
    return FanOut(notifiers) if notifiers else None
