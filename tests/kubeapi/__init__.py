"""A test Kubernetes API server written from the Kubernetes API documentation (see README.md)."""
