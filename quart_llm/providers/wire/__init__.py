"""Upstream wire formats: line framing, SSE decoding."""
