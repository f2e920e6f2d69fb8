from __future__ import annotations

import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from quart_llm.config.loader import ConfigurationError, load_settings
from quart_llm.config.paths import DEFAULT_SETTINGS_FILE, SETTINGS_FILE_VARIABLE
from quart_llm.services.keys import hash_key
from tests.conftest import REPOSITORY_SETTINGS


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
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(
        '[default]\napi_keys = ["from-settings"]\ndefault_provider = "m"\n'
        '[default.providers.m]\nkind = "mock"\n'
        "[testing]\nmax_body_bytes = 42\n"
    )
    assert load_settings(settings_file=settings_file).max_body_bytes == 42
    (tmp_path / ".secrets.toml").write_text('[default]\napi_keys = ["from-secrets"]\n')
    settings = load_settings(settings_file=settings_file)
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
        (
            {"pricing": {"models": {"gpt-4o": {"input_per_million": 1, "output_per_million": 1}}}},
            None,
            "setting pricing.models: price for 'gpt-4o': name a model as provider/model",
        ),
        (
            {"pricing": {"models": {"m/x": {"input_per_million": -1, "output_per_million": 1}}}},
            None,
            "setting pricing.models.m/x.input_per_million: Input should be greater than or equal",
        ),
        (
            {"limits": {"default": {"usd": [{"amount": "0.0000001", "period_seconds": 60}]}}},
            None,
            "setting limits.default.usd.0.amount: Decimal input should have no more than 6",
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


def test_prices_and_usd_budgets_are_read_exactly_from_files(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text(
        '[default.pricing.models."openai/gpt-4o-mini"]\n'
        "input_per_million = 0.15\noutput_per_million = 0.6\n"
        "[[default.limits.default.usd]]\namount = 2.5\nperiod_seconds = 86400\n"
    )
    settings = load_settings(settings_file=settings_file)
    price = settings.pricing.models["openai/gpt-4o-mini"]
    assert (price.input_per_million, price.output_per_million) == (Decimal("0.15"), Decimal("0.6"))
    assert settings.limits.default.usd[0].amount == Decimal("2.5")


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


def test_the_secrets_are_read_beside_the_settings_file_only(
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
    settings = load_settings(settings_file=root / "settings.toml")
    assert [key.get_secret_value() for key in settings.api_keys] == ["from-root"]


def test_an_empty_working_directory_runs_on_the_package_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an installed wheel runs: no settings file anywhere, no key accepted until one is
    configured, nothing of the development or testing tables."""
    monkeypatch.delenv(SETTINGS_FILE_VARIABLE)
    monkeypatch.delenv("QUART_LLM_ENV")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.env == "development"
    assert settings.api_keys == [] and settings.admin_keys == []
    assert set(settings.active_providers) == {"mock", "ollama"}
    assert (settings.logging.format, settings.metrics.public) == ("json", False)
    assert settings.database_url == ""


def test_the_working_directory_settings_file_layers_over_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SETTINGS_FILE_VARIABLE)
    (tmp_path / "settings.toml").write_text(
        "[default.sse]\ndynaconf_merge = true\nkeepalive_seconds = 4.0\n"
        '[testing]\napi_keys = ["from-the-working-directory"]\n'
    )
    (tmp_path / ".secrets.toml").write_text("[testing]\nmax_body_bytes = 42\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.sse.keepalive_seconds == 4.0
    assert [key.get_secret_value() for key in settings.api_keys] == ["from-the-working-directory"]
    assert settings.max_body_bytes == 42
    assert settings.default_provider == "mock", "the package's defaults lie under it"


def test_quart_llm_settings_names_the_file_and_it_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "settings.toml").write_text('[default]\napi_keys = ["working-directory"]\n')
    (tmp_path / "etc").mkdir()
    named = tmp_path / "etc" / "gateway.toml"
    named.write_text('[default]\napi_keys = ["named"]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(SETTINGS_FILE_VARIABLE, str(named))
    assert [key.get_secret_value() for key in load_settings().api_keys] == ["named"]
    monkeypatch.setenv(SETTINGS_FILE_VARIABLE, str(tmp_path / "etc" / "missing.toml"))
    with pytest.raises(ConfigurationError, match=r"^settings file \S+missing.toml: not found$"):
        load_settings()


def test_the_repository_settings_only_override_the_package_defaults() -> None:
    """One place for each default: every value the repository's settings.toml sets differs
    from the one it overrides."""
    repository = tomllib.loads(REPOSITORY_SETTINGS.read_text())
    assert "default" not in repository, "defaults live in quart_llm/config/defaults"
    defaults = _plain(load_settings(settings_file=DEFAULT_SETTINGS_FILE).model_dump())
    for path, value in _leaves(repository):
        if path[-1] != "dynaconf_merge":
            default: Any = defaults
            for part in path[1:]:
                default = default.get(part) if isinstance(default, dict) else None
            assert default != value, f"{'.'.join(path)} repeats the package's default"


def _leaves(
    table: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*path, key))
        else:
            yield (*path, key), value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.get_secret_value() if isinstance(value, SecretStr) else value
