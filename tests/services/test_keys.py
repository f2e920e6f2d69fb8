"""API keys as digests, and the key ids that name them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from quart_llm.errors import AuthenticationFailed
from quart_llm.services.keys import KeyRing, hash_key, key_id_for_key

PLAIN = "plain-key-123"
HASHED_SOURCE = "hashed-key-456"


def test_keyring_accepts_plain_and_hashed_keys() -> None:
    ring = KeyRing([SecretStr(PLAIN), SecretStr(hash_key(HASHED_SOURCE))])
    plain = ring.authenticate(PLAIN)
    hashed = ring.authenticate(HASHED_SOURCE)
    assert plain.key_id != hashed.key_id
    assert plain.key_id.startswith("key_") and len(plain.key_id) == 16
    assert PLAIN not in plain.key_id
    assert ring.authenticate(PLAIN).key_id == plain.key_id


def test_key_id_does_not_reveal_the_digest() -> None:
    ring = KeyRing([SecretStr(PLAIN)])
    key_id = ring.authenticate(PLAIN).key_id
    assert key_id.removeprefix("key_") not in hash_key(PLAIN)


def test_a_stored_digest_and_its_plain_key_have_the_same_key_id() -> None:
    assert key_id_for_key(PLAIN) == key_id_for_key(hash_key(PLAIN))
    assert key_id_for_key(PLAIN) == KeyRing([SecretStr(PLAIN)]).authenticate(PLAIN).key_id


def test_an_unknown_key_is_refused_without_being_echoed() -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        KeyRing([SecretStr(PLAIN)]).authenticate("nope")
    assert refused.value.code == "invalid_api_key"
    assert "nope" not in refused.value.message
