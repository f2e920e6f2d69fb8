"""Load the layered settings and turn every mistake into one clear line.

Layers, low to high: the defaults shipped in the package (`config/defaults/settings.toml`),
the operator's `settings.toml` (in the working directory, or the file `QUART_LLM_SETTINGS`
names), the `.secrets.toml` beside it, `QUART_LLM_*` environment variables, then the overrides
given to `create_app`; in each file `[default]`, then the active environment's table. dynaconf
does the layering; `models.Settings` does the typing; the checks that span several settings
live here (`_check_cross_fields`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dynaconf import Dynaconf
from pydantic import ValidationError

from quart_llm.config.models import Settings
from quart_llm.config.paths import (
    DEFAULT_SETTINGS_FILE,
    SECRETS_FILE_NAME,
    SETTINGS_FILE,
    SETTINGS_FILE_VARIABLE,
)

ENV_PREFIX = "QUART_LLM"
ENV_SWITCHER = "QUART_LLM_ENV"
DEFAULT_ENV = "development"
_HASHED_KEY = re.compile(r"^sha256:[0-9a-f]{64}$")
_SECRET_FIELDS = frozenset({"api_key", "api_keys", "admin_keys", "redis_url", "database_url"})


class ConfigurationError(ValueError):
    """The settings cannot be used; the message is one line naming the setting."""


def load_settings(
    overrides: Mapping[str, Any] | None = None, *, settings_file: Path | None = None
) -> Settings:
    """Build and check the settings; raise ConfigurationError with a one-line message.

    `settings_file` is the operator's file (see `operator_settings_file`). Every file is given
    to dynaconf as an absolute path, so it neither searches the script's parents for them nor
    walks the call stack (`inspect.stack()`, about a third of the settings' load time) to find
    that script.
    """
    raw = _load_layers(operator_settings_file(settings_file))
    if overrides:
        raw = _deep_merge(raw, _lower_keys(dict(overrides)))
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None
    _check_cross_fields(settings)
    return settings


def operator_settings_file(given: Path | None = None) -> Path:
    """The settings file over the package's defaults: `given`, else the one QUART_LLM_SETTINGS
    names (both must exist: a path someone typed is never silently ignored), else settings.toml
    in the working directory (read when there is one)."""
    named = given or os.environ.get(SETTINGS_FILE_VARIABLE)
    if not named:
        return SETTINGS_FILE.absolute()
    if not Path(named).is_file():
        raise ConfigurationError(f"settings file {named}: not found")
    return Path(named).absolute()


def _load_layers(settings_file: Path) -> dict[str, Any]:
    files = (DEFAULT_SETTINGS_FILE, settings_file, settings_file.with_name(SECRETS_FILE_NAME))
    layers = Dynaconf(
        envvar_prefix=ENV_PREFIX,
        env_switcher=ENV_SWITCHER,
        environments=True,
        default_env="default",
        env=DEFAULT_ENV,
        settings_files=[str(path) for path in files],
        root_path=str(settings_file.parent),
    )
    env = str(layers.current_env).lower()
    raw: dict[str, Any] = _lower_keys(layers.as_dict())
    raw.pop("settings", None)  # dynaconf reads QUART_LLM_SETTINGS too: a file, not a setting
    raw["env"] = env
    return raw


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(key).lower(): _lower_keys(item)
            for key, item in value.items()
            if str(key).lower() != "dynaconf_merge"
        }
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _describe(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"].startswith("url_"):
        message = f"malformed URL ({message})"
    elif error["type"] == "extra_forbidden":
        message = "unknown setting"
    elif error["type"] == "missing":
        message = "is required"
    secret = any(str(part) in _SECRET_FIELDS for part in error["loc"])
    if "input" in error and not secret and error["type"] not in ("extra_forbidden", "missing"):
        message = f"{message}; got {error['input']!r}"
    more = exc.error_count() - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"setting {location or '<root>'}: {message}{suffix}"


def _check_cross_fields(settings: Settings) -> None:
    _check_keys(settings)
    _check_providers(settings)
    _check_routes(settings)


def _check_keys(settings: Settings) -> None:
    for field, keys in (("api_keys", settings.api_keys), ("admin_keys", settings.admin_keys)):
        for index, key in enumerate(keys):
            value = key.get_secret_value()
            if not value.strip():
                raise ConfigurationError(f"setting {field}[{index}]: empty key")
            if value.startswith("sha256:") and not _HASHED_KEY.match(value):
                raise ConfigurationError(
                    f"setting {field}[{index}]: a hashed key must be 'sha256:' and 64 lower-case "
                    "hex digits (python -m quart_llm hash-key KEY prints one)"
                )
    shared = {k.get_secret_value() for k in settings.api_keys} & {
        k.get_secret_value() for k in settings.admin_keys
    }
    if shared:
        raise ConfigurationError("setting admin_keys: an admin key may not also be an API key")
    if settings.env == "production" and not settings.api_keys:
        raise ConfigurationError(
            "setting api_keys: production needs at least one API key "
            "(QUART_LLM_API_KEYS or .secrets.toml)"
        )


def _check_providers(settings: Settings) -> None:
    for name in settings.providers:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            raise ConfigurationError(
                f"setting providers.{name}: provider names are lower-case letters, digits, "
                "'-' and '_'"
            )
    active = settings.active_providers
    if not active:
        raise ConfigurationError("setting providers: no provider is enabled")
    if settings.default_provider not in active:
        raise ConfigurationError(
            f"setting default_provider: {settings.default_provider!r} is not a configured and "
            f"enabled provider; configured: {', '.join(sorted(active))}"
        )


def _check_routes(settings: Settings) -> None:
    """Every alias deployment and fallback names an active provider; aliases and provider
    names cannot be confused."""
    active = settings.active_providers

    def check(target: str, where: str) -> None:
        if target.partition("/")[0] not in active:
            raise ConfigurationError(
                f"setting {where}: {target!r} does not start with a configured provider; "
                f"configured: {', '.join(sorted(active))}"
            )

    for alias, alias_settings in settings.aliases.items():
        if alias.partition("/")[0] in settings.providers:
            raise ConfigurationError(
                f"setting aliases.{alias}: an alias may not begin with a provider's name"
            )
        for index, deployment in enumerate(alias_settings.deployments):
            check(deployment.target, f"aliases.{alias}.deployments[{index}]")
    for source, targets in settings.fallbacks.items():
        for target in targets if source in settings.aliases else [source, *targets]:
            check(target, f"fallbacks.{source}")
