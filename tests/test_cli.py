from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from quart_llm.cli import main
from quart_llm.config.paths import ROOT_PATH
from quart_llm.config.version import gateway_version
from quart_llm.services.keys import hash_key
from quart_llm.web.openapi_document import render_openapi


def test_hash_key_prints_the_stored_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash-key", "abc"]) == 0
    assert capsys.readouterr().out.strip() == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_check_config_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    assert "configuration ok: env testing" in capsys.readouterr().out


def test_check_config_fails_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUART_LLM_PROVIDERS__MOCK__TIMEOUTS__TOTAL", "-5")
    assert main(["check-config"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("configuration error: setting providers.mock.timeouts.total:")
    assert len(error.splitlines()) == 1


def test_openapi_writes_and_checks_both_documents(tmp_path: Path) -> None:
    target = tmp_path / "spec.json"
    copy = tmp_path / "spec-3.1.json"
    assert main(["openapi", "--check", "-o", str(target)]) == 1
    assert main(["openapi", "-o", str(target)]) == 0
    assert {target: target.read_text(), copy: copy.read_text()} == render_openapi(target)
    assert main(["openapi", "--check", "-o", str(target)]) == 0
    for stale in (target, copy):
        text = stale.read_text()
        stale.write_text(text.replace('"paths"', '"paths" ', 1))
        assert main(["openapi", "--check", "-o", str(target)]) == 1, stale
        stale.write_text(text)
    copy.unlink()
    assert main(["openapi", "--check", "-o", str(target)]) == 1


def test_key_id_matches_for_plain_and_hashed_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key-id", "abc"]) == 0
    plain = capsys.readouterr().out.strip()
    assert main(["key-id", hash_key("abc")]) == 0
    assert capsys.readouterr().out.strip() == plain
    assert plain.startswith("key_")


def test_serve_refuses_a_bad_configuration_with_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")}
    env["QUART_LLM_PROVIDERS__MOCK__TIMEOUTS__TOTAL"] = "-5"
    done = subprocess.run(
        [sys.executable, "-m", "quart_llm", "serve", "--bind", "127.0.0.1:0"],
        cwd=ROOT_PATH,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("configuration error: setting providers.mock.timeouts.total:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"quart-llm {gateway_version()}\n"


def test_settings_option_names_the_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = tmp_path / "gateway.toml"
    named.write_text('[testing]\napi_keys = ["one", "two", "three"]\n')
    assert main(["--settings", str(named), "check-config"]) == 0
    assert "configuration ok: env testing, providers mock, ollama, default mock, 3 API key(s)" in (
        capsys.readouterr().out
    )
    assert main(["--settings", str(tmp_path / "missing.toml"), "check-config"]) == 2
    assert capsys.readouterr().err.startswith("configuration error: settings file ")
