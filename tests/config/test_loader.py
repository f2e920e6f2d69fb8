from __future__ import annotations

from pathlib import Path

import pytest

from quart_llm.config.loader import ConfigurationError, load_settings
from quart_llm.services.keys import hash_key


def test_testing_environment_is_selected_by_the_switcher() -> None:
    settings = load_settings()
    assert settings.env == "testing"
    assert [key.get_secret_value() for key in settings.api_keys] == ["test-key"]
    assert set(settings.active_providers) == {"mock"}


def test_development_is_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUART_LLM_ENV")
    settings = load_settings()
    assert settings.env == "development"
    assert settings.default_provider == "mock"
    assert settings.providers["ollama"].base_url is not None
    assert str(settings.providers["ollama"].base_url).startswith("http://127.0.0.1:11434")
    assert "openrouter" not in settings.active_providers


def test_openrouter_is_configured_when_its_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUART_LLM_ENV", "development")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    settings = load_settings()
    assert "openrouter" in settings.active_providers
    assert settings.providers["openrouter"].resolved_api_key() == "sk-or-test"


def test_environment_variables_beat_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUART_LLM_API_KEYS", '["key-one","key-two"]')
    monkeypatch.setenv("QUART_LLM_PROVIDERS__OLLAMA__BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("QUART_LLM_PROVIDERS__OLLAMA__TIMEOUTS__CONNECT", "7")
    monkeypatch.setenv("QUART_LLM_SSE__KEEPALIVE_SECONDS", "3")
    settings = load_settings()
    assert [key.get_secret_value() for key in settings.api_keys] == ["key-one", "key-two"]
    ollama = settings.providers["ollama"]
    assert str(ollama.base_url) == "http://127.0.0.1:9999/"
    assert ollama.timeouts.connect == 7
    assert ollama.timeouts.first_byte == 120, "sibling keys survive a nested override"
    assert ollama.kind == "ollama"
    assert settings.sse.keepalive_seconds == 3


def test_overrides_beat_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUART_LLM_MAX_BODY_BYTES", "100")
    assert load_settings({"max_body_bytes": 200}).max_body_bytes == 200


def test_files_layer_settings_then_secrets(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        '[default]\napi_keys = ["from-settings"]\ndefault_provider = "m"\n'
        '[default.providers.m]\nkind = "mock"\n'
        "[testing]\nmax_body_bytes = 42\n"
    )
    assert load_settings(root_path=tmp_path).max_body_bytes == 42
    (tmp_path / ".secrets.toml").write_text('[default]\napi_keys = ["from-secrets"]\n')
    settings = load_settings(root_path=tmp_path)
    assert [key.get_secret_value() for key in settings.api_keys] == ["from-secrets"]


@pytest.mark.parametrize(
    ("overrides", "env", "expected"),
    [
        ({}, "production", "setting api_keys: production needs at least one API key"),
        (
            {"providers": {"extra": {"kind": "llamafarm"}}},
            None,
            "setting providers.extra.kind: unknown provider kind 'llamafarm'",
        ),
        (
            {"default_provider": "nowhere"},
            None,
            "setting default_provider: 'nowhere' is not a configured and enabled provider",
        ),
        (
            {"providers": {"ollama": {"enabled": True, "base_url": "htp:/oops"}}},
            None,
            "setting providers.ollama.base_url: malformed URL",
        ),
        (
            {"providers": {"mock": {"timeouts": {"idle": -1}}}},
            None,
            "setting providers.mock.timeouts.idle: Input should be greater than 0; got -1",
        ),
        ({"redis_url": "http://127.0.0.1:6379"}, None, "setting redis_url: malformed URL"),
        ({"api_keys": ["sha256:xyz"]}, None, "setting api_keys[0]: a hashed key must be"),
        ({"max_body_bytes": 0}, None, "setting max_body_bytes: Input should be greater than 0"),
        ({"surprise": 1}, None, "setting surprise: unknown setting"),
        (
            {"providers": {"x": {"kind": "openai"}}},
            None,
            "setting providers.x: base_url is required for kind 'openai'",
        ),
    ],
)
def test_bad_configuration_gives_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, overrides: dict[str, object], env: str | None, expected: str
) -> None:
    if env is not None:
        monkeypatch.setenv("QUART_LLM_ENV", env)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(overrides)
    message = str(caught.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_a_bad_secret_is_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"providers": {"mock": {"api_key": ["hunter2-secret"]}}})
    assert str(caught.value).startswith("setting providers.mock.api_key:")
    assert "hunter2" not in str(caught.value)


def test_hash_key_is_the_stored_form() -> None:
    assert hash_key("abc") == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    settings = load_settings({"api_keys": [hash_key("abc")]})
    assert settings.api_keys[0].get_secret_value().startswith("sha256:")


def test_settings_files_are_read_from_the_root_path_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "settings.toml").write_text(
        '[default]\napi_keys = ["from-root"]\ndefault_provider = "m"\n'
        '[default.providers.m]\nkind = "mock"\n'
    )
    (elsewhere / ".secrets.toml").write_text('[default]\napi_keys = ["from-elsewhere"]\n')
    monkeypatch.chdir(elsewhere)
    settings = load_settings(root_path=root)
    assert [key.get_secret_value() for key in settings.api_keys] == ["from-root"]
