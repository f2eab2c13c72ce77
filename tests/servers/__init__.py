"""Real servers the integration tests start and stop themselves (Prometheus)."""
