"""The registry of API keys held in memory: settings' keys and the database's, found by the
digest of what is presented, refused by status, with what the quota policy takes from them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from quart_llm.config.accounting_models import (
    LimitsSettings,
    TierSettings,
    UsdWindowSetting,
    WindowSetting,
)
from quart_llm.errors import AuthenticationFailed
from quart_llm.quotas.policy import MONTH_SECONDS, PolicyBook
from quart_llm.quotas.stores.base import WindowLimit
from quart_llm.services.key_registry import KeyRegistry
from quart_llm.services.keys import hash_key, key_id_for_digest, key_id_for_key
from quart_llm.store.api_keys import ApiKey, KeyBudgets

NOW = datetime(2026, 12, 5, 4, 20, tzinfo=UTC)
LONG_STATIC = "static-key-long-enough-1234"


def stored(secret: str, **fields: object) -> ApiKey:
    digest = hashlib.sha256(secret.encode()).digest()
    values: dict[str, object] = {
        "id": key_id_for_digest(digest), "digest": digest, "hint": "qlm-…", "name": secret,
        "created_at": NOW, "updated_at": NOW, **fields,
    }  # fmt: skip
    return ApiKey(**values)  # type: ignore[arg-type]


@pytest.fixture
def registry() -> KeyRegistry:
    statics = [SecretStr("short"), SecretStr(LONG_STATIC), SecretStr(hash_key("hashed-static"))]
    return KeyRegistry(statics, {key_id_for_key("short"): "gold"}, clock=lambda: NOW)


def test_static_keys_are_named_by_their_place_and_hinted_without_revealing(
    registry: KeyRegistry,
) -> None:
    statics = {key.name: key for key in registry.static_keys()}
    assert statics["api_keys[0]"].hint == "…"
    assert statics["api_keys[1]"].hint == "…1234"
    assert statics["api_keys[2]"].hint.startswith("sha256:…")
    assert statics["api_keys[0]"].tier == "gold"
    for secret in ("short", LONG_STATIC, "hashed-static"):
        assert registry.authenticate(secret).key_id == key_id_for_key(secret)


def test_stored_keys_follow_updates_and_full_reloads(registry: KeyRegistry) -> None:
    key = stored("qlm-one")
    assert registry.update_stored([key]) is True
    assert registry.update_stored([key]) is False
    assert registry.authenticate("qlm-one").key == key
    registry.update_stored([stored("qlm-one", revoked_at=NOW)])
    with pytest.raises(AuthenticationFailed) as refused:
        registry.authenticate("qlm-one")
    assert refused.value.code == "key_revoked" and "qlm-one" not in refused.value.message
    registry.replace_stored([stored("qlm-two")])
    assert registry.key(key.id) is None
    with pytest.raises(AuthenticationFailed) as unknown:
        registry.authenticate("qlm-one")
    assert unknown.value.code == "invalid_api_key"
    assert registry.authenticate(LONG_STATIC).key_id == key_id_for_key(LONG_STATIC)


def test_an_expiry_is_in_force_the_moment_it_passes(registry: KeyRegistry) -> None:
    registry.update_stored(
        [
            stored("qlm-soon", expires_at=NOW + timedelta(microseconds=1)),
            stored("qlm-now", expires_at=NOW),
        ]
    )
    assert registry.authenticate("qlm-soon").key_id
    with pytest.raises(AuthenticationFailed) as refused:
        registry.authenticate("qlm-now")
    assert refused.value.code == "key_expired"


def test_a_stored_key_never_shadows_a_static_one(registry: KeyRegistry) -> None:
    registry.update_stored([stored(LONG_STATIC, revoked_at=NOW)])
    assert registry.authenticate(LONG_STATIC).key is not None
    assert registry.authenticate(LONG_STATIC).key.source == "settings"  # type: ignore[union-attr]


def test_the_policy_takes_a_keys_tier_and_budgets(registry: KeyRegistry) -> None:
    day = WindowSetting(count=1000, period_seconds=86_400)
    limits = LimitsSettings(
        tiers={"gold": TierSettings(tokens=[day], concurrent_streams=7)},
        keys={key_id_for_key(LONG_STATIC): "gold"},
    )
    book = PolicyBook(limits, registry.quota_of)
    both = stored("qlm-b", tier="gold", budgets=KeyBudgets(tokens_per_day=1000, tokens_per_month=9))
    budget_only = stored("qlm-c", budgets=KeyBudgets(tokens_per_month=50, usd_per_day=1.0))
    unknown_tier = stored("qlm-d", tier="retired")
    registry.update_stored([both, budget_only, unknown_tier])
    policy = book.for_key(both.id)
    assert policy.concurrent_streams == 7
    assert policy.tokens == (WindowLimit(1000, 86_400), WindowLimit(9, MONTH_SECONDS))
    assert book.for_key(budget_only.id).tokens == (WindowLimit(50, MONTH_SECONDS),)
    assert book.for_key(budget_only.id).concurrent_streams == 64
    assert book.for_key(unknown_tier.id) == book.for_key("key_nobody")
    assert book.for_key(key_id_for_key(LONG_STATIC)).concurrent_streams == 7
    assert book.for_key(key_id_for_key("short")).concurrent_streams == 7  # its static tier
    assert book.knows_tier("gold") and book.knows_tier("default") and not book.knows_tier("x")


def test_a_keys_usd_budgets_are_its_usd_windows_in_micro_dollars(registry: KeyRegistry) -> None:
    hourly = UsdWindowSetting(amount=Decimal(5), period_seconds=3600)
    limits = LimitsSettings(default=TierSettings(usd=[hourly]))
    book = PolicyBook(limits, registry.quota_of)
    both = stored("qlm-e", budgets=KeyBudgets(usd_per_day=0.1, usd_per_month=2.345678))
    day_only = stored("qlm-f", budgets=KeyBudgets(usd_per_day=12.5))
    registry.update_stored([both, day_only])
    assert book.for_key(both.id).usd == (
        WindowLimit(5_000_000, 3600),
        WindowLimit(100_000, 86_400),
        WindowLimit(2_345_678, MONTH_SECONDS),
    )
    assert book.for_key(day_only.id).usd == (
        WindowLimit(5_000_000, 3600),
        WindowLimit(12_500_000, 86_400),
    )
    assert book.for_key("key_nobody").usd == (WindowLimit(5_000_000, 3600),)
