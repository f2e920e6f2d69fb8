from __future__ import annotations

import tomllib

from hypercorn.config import Config

from quart_llm.server.serving import DEFAULT_HYPERCORN_CONFIG, load_hypercorn_config


def test_every_key_is_a_hypercorn_setting() -> None:
    keys = tomllib.loads(DEFAULT_HYPERCORN_CONFIG.read_text())
    defaults = Config()
    unknown = [key for key in keys if not hasattr(defaults, key)]
    assert unknown == [], f"Hypercorn silently ignores unknown keys: {unknown}"


def test_values_suit_long_streams_over_http2() -> None:
    config = load_hypercorn_config()
    assert config.bind == ["0.0.0.0:8000"]
    assert config.read_timeout is None, "read_timeout would kill SSE streams"
    assert config.keep_alive_timeout >= 60
    assert config.worker_class == "uvloop"
    assert "h2" in config.alpn_protocols
    assert config.accesslog is None, "one access line per request: the gateway's own"
