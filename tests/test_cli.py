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


def test_usage_prints_the_stored_report_as_a_table_csv_or_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import asyncio
    import json

    from quart_llm.store.database import Database
    from quart_llm.store.usage_queries import insert_records
    from tests.store.test_usage_queries import ROWS

    url = f"sqlite:///{tmp_path / 'usage.sqlite3'}"

    async def store_rows() -> None:
        database = Database(url)
        await database.start()
        await insert_records(database.engine, ROWS)
        await database.stop()

    asyncio.run(store_rows())
    monkeypatch.setenv("QUART_LLM_DATABASE_URL", url)
    period = ["--from", "2026-12-05", "--to", "2026-12-07"]
    assert main(["usage", "--group-by", "key", *period]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("usage by key, 2026-12-05T00:00:00.000Z")
    assert table[1].split() == [
        "group", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd",
        "unpriced_requests", "errors",
    ]  # fmt: skip
    assert table[2].split() == ["key_a", "3", "30", "15", "45", "1.750000", "0", "0"]
    assert table[-1].split()[:2] == ["total", "5"]
    assert main(["usage", "--group-by", "day", "--format", "csv", *period]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "2026-12-05,4,27,15,42,0.75,2,1",
        "2026-12-06,1,10,5,15,1.0,0,0",
    ]
    assert main(["usage", "--format", "json", "--key-id", "key_b", *period]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["requests"] == 2
    assert main(["usage", "--from", "last week"]) == 2
    assert "'from' must be an ISO 8601" in capsys.readouterr().err
