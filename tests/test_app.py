from __future__ import annotations

from quart_llm import create_app
from quart_llm.services.container import Services


def test_overrides_reach_config_and_settings() -> None:
    app = create_app({"max_body_bytes": 1234, "sse": {"keepalive_seconds": 2.5}})
    gateway = app.extensions["quart_llm"]
    assert isinstance(gateway, Services)
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert gateway.settings.max_body_bytes == 1234
    assert gateway.settings.sse.keepalive_seconds == 2.5
    assert app.config["QUART_LLM_ENV"] == "testing"


def test_each_call_builds_an_independent_app() -> None:
    first = create_app({"max_body_bytes": 1000})
    second = create_app()
    assert first is not second
    assert first.extensions["quart_llm"] is not second.extensions["quart_llm"]
    assert second.config["MAX_CONTENT_LENGTH"] != 1000
    assert first.url_map is not second.url_map


def test_health_and_chat_blueprints_are_registered() -> None:
    app = create_app()
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/v1/health", "/v1/models", "/v1/chat/completions", "/v1/chat/stream"} <= rules
