"""The outgoing stream: read-ahead of the upstream, event shaping, SSE encoding."""
