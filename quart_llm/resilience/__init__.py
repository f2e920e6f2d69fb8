"""What happens when an upstream fails before the first byte: retries with backoff, a
circuit breaker per provider, and fallback chains to other providers or models."""
