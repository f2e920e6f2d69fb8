"""`quart-llm keys create | list | show | revoke`, on the same database a serving app uses."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from quart_llm import create_app
from quart_llm.cli import main
from quart_llm.services.keys import key_id_for_key
from tests.conftest import TEST_KEY


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    monkeypatch.setenv("QUART_LLM_DATABASE_URL", f"@str {url}")
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    status = main(["keys", *argv])
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if status == 0 else None, captured.err


def test_create_prints_the_secret_once_and_the_others_never(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, created, _ = run(
        capsys, "create", "--name", "ops", "--owner", "team", "--allowed-model", "mock/*",
        "--allowed-model", "ollama/*", "--tokens-per-day", "100", "--usd-per-month", "2.5",
        "--metadata", '{"ticket": "OPS-1"}', "--expires-at", "2099-01-01T00:00:00Z",
    )  # fmt: skip
    assert status == 0
    assert created["id"] == key_id_for_key(created["secret"])
    assert created["allowed_models"] == ["mock/*", "ollama/*"]
    assert created["budgets"]["tokens_per_day"] == 100
    assert created["budgets"]["usd_per_month"] == 2.5
    assert created["metadata"] == {"ticket": "OPS-1"}
    status, shown, _ = run(capsys, "show", created["id"])
    assert status == 0 and "secret" not in shown
    assert shown == {name: value for name, value in created.items() if name != "secret"}
    status, listing, _ = run(capsys, "list")
    assert [key["id"] for key in listing["data"]] == [key_id_for_key(TEST_KEY), created["id"]]
    assert created["secret"] not in json.dumps(listing)
    status, listing, _ = run(capsys, "list", "--source", "database", "--status", "revoked")
    assert listing["data"] == []
    status, first, _ = run(capsys, "list", "--limit", "1")
    status, second, _ = run(capsys, "list", "--limit", "1", "--cursor", first["next_cursor"])
    assert [key["id"] for key in second["data"]] == [created["id"]]
    assert second["next_cursor"] is None


def test_refusals_are_one_line_with_a_status(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "create", "--name", "")[0] == 2
    status, _, error = run(capsys, "create", "--name", "k", "--metadata", "[1]")
    assert status == 2 and error.startswith("Invalid request: metadata")
    status, _, error = run(capsys, "create", "--name", "k", "--tier", "nope")
    assert status == 2 and "tier" in error
    status, _, error = run(capsys, "show", "key_000000000000")
    assert (status, error.strip()) == (1, "key_not_found: No such API key.")
    status, _, error = run(capsys, "revoke", key_id_for_key(TEST_KEY))
    assert status == 1 and error.startswith("static_key:")
    assert len(error.splitlines()) == 1


async def test_a_serving_app_follows_what_the_command_does(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app({"database_url": database_url, "keys": {"poll_seconds": 0.1}})
    async with app.test_app():
        client = app.test_client()
        status, created, _ = await asyncio.to_thread(run, capsys, "create", "--name", "cli")
        assert status == 0
        headers = {"Authorization": f"Bearer {created['secret']}"}
        assert await answered(client, headers, 200)
        status, revoked, _ = await asyncio.to_thread(run, capsys, "revoke", created["id"])
        assert status == 0 and revoked["status"] == "revoked"
        assert await answered(client, headers, 401)


async def answered(client: Any, headers: dict[str, str], status: int) -> bool:
    """Whether `/v1/models` answers `status` within a second."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if (await client.get("/v1/models", headers=headers)).status_code == status:
            return True
        await asyncio.sleep(0.02)
    return False
