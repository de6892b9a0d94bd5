"""Prometheus metrics, a health check that names what is degraded, and structured logs."""
