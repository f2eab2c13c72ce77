"""Real servers the integration tests start and stop themselves: prometheus and redis-server."""
