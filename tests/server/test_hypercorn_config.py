from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypercorn.config import Config

from quart_llm.config.loader import ConfigurationError
from quart_llm.config.paths import DEFAULT_HYPERCORN_FILE
from quart_llm.server.serving import load_hypercorn_config


def test_every_key_is_a_hypercorn_setting() -> None:
    keys = tomllib.loads(DEFAULT_HYPERCORN_FILE.read_text())
    defaults = Config()
    unknown = [key for key in keys if not hasattr(defaults, key)]
    assert unknown == [], f"Hypercorn silently ignores unknown keys: {unknown}"


def test_values_suit_long_streams_over_http2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_hypercorn_config()
    assert config.bind == ["0.0.0.0:8000"]
    assert config.read_timeout is None, "read_timeout would kill SSE streams"
    assert config.keep_alive_timeout >= 60
    assert config.worker_class == "uvloop"
    assert "h2" in config.alpn_protocols
    assert config.accesslog is None, "one access line per request: the gateway's own"


def test_a_hypercorn_toml_in_the_working_directory_refines_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hypercorn.toml").write_text(
        'keep_alive_timeout = 90\naccesslog = "-"\ncertfile = "tls.crt"\n'
    )
    monkeypatch.chdir(tmp_path)
    config = load_hypercorn_config(bind=["127.0.0.1:9000"])
    assert config.keep_alive_timeout == 90
    assert config.certfile == "tls.crt"
    assert config.worker_class == "uvloop", "keys it does not name keep the shipped values"
    assert config.bind == ["127.0.0.1:9000"], "--bind wins over every file"
    assert config.accesslog is None, "never Hypercorn's access log, whatever a file says"


def test_a_given_file_replaces_the_working_directory_one_and_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hypercorn.toml").write_text("keep_alive_timeout = 90\n")
    (tmp_path / "other.toml").write_text("graceful_timeout = 3\n")
    monkeypatch.chdir(tmp_path)
    config = load_hypercorn_config(tmp_path / "other.toml")
    assert (config.graceful_timeout, config.keep_alive_timeout) == (3, 75)
    with pytest.raises(ConfigurationError, match=r"^hypercorn config \S+missing.toml: No such"):
        load_hypercorn_config(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("bind = [\n")
    with pytest.raises(ConfigurationError, match=r"^hypercorn config \S+broken.toml: "):
        load_hypercorn_config(tmp_path / "broken.toml")
