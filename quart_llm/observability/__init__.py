"""What the gateway tells its operator: Prometheus metrics and one log line per request."""
