"""API keys: held as SHA-256 digests, compared in constant time, named by a key id.

A key is never kept in plain text after start-up. What logs, limits and usage see is the key
id: a short hash of the digest, which says which key was used without revealing either.
Keys are stored in settings as plain text or as `sha256:<hex>` (`hash_key`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

from quart_llm.errors import AuthenticationFailed

if TYPE_CHECKING:
    from quart_llm.store.api_keys import ApiKey

HASHED_PREFIX = "sha256:"
_KEY_ID_CONTEXT = b"quart_llm key id\x00"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key id, and the key itself when the registry holds it (its tier,
    allowed models and budgets)."""

    key_id: str
    key: ApiKey | None = None

    def may_use(self, model: str, served_by: Iterable[str]) -> bool:
        """Whether the key's allowed models let it ask for `model`, served by any of
        `served_by` (`provider/model` names); every model for a key that names none, and for
        a key from settings (no `ApiKey`)."""
        return self.key is None or self.key.allows_model(model, *served_by)


class Authenticator(Protocol):
    """What the web layer authenticates against: a `KeyRing`, or the `KeyRegistry`."""

    kind: str
    code_suffix: str

    def authenticate(self, key: str) -> Principal:
        """The caller presenting `key`; AuthenticationFailed otherwise."""
        ...


def hash_key(key: str) -> str:
    """The stored form of an API key: `sha256:<hex digest>`."""
    return HASHED_PREFIX + _digest(key).hex()


def key_id_for_key(key: str) -> str:
    """The key id of a plain key or of its stored `sha256:` form."""
    if key.startswith(HASHED_PREFIX):
        return _key_id(bytes.fromhex(key.removeprefix(HASHED_PREFIX)))
    return _key_id(_digest(key))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_id_for_digest(digest: bytes) -> str:
    """The key id of a key's SHA-256 digest."""
    return _key_id(digest)


def _key_id(digest: bytes) -> str:
    return "key_" + hashlib.sha256(_KEY_ID_CONTEXT + digest).hexdigest()[:12]


class KeyRing:
    """The accepted keys as digests. `kind` names them in refusals ("API key", "admin key"),
    and their codes (`invalid_api_key`, `invalid_admin_key`), so a client that sent an API key
    to the admin API is told which kind was expected."""

    def __init__(self, keys: Iterable[SecretStr], kind: str = "API key") -> None:
        self.kind = kind
        self.code_suffix = kind.lower().replace(" ", "_")
        digests: list[bytes] = []
        for key in keys:
            value = key.get_secret_value()
            if value.startswith(HASHED_PREFIX):
                digests.append(bytes.fromhex(value.removeprefix(HASHED_PREFIX)))
            else:
                digests.append(_digest(value))
        self._digests = tuple(digests)

    def __len__(self) -> int:
        return len(self._digests)

    def authenticate(self, key: str) -> Principal:
        """The caller presenting `key`; AuthenticationFailed (never echoing it) otherwise.
        Every stored digest is compared, so the time taken says nothing of which matched."""
        presented = _digest(key)
        matched: bytes | None = None
        for digest in self._digests:
            if hmac.compare_digest(presented, digest):
                matched = digest
        if matched is None:
            raise AuthenticationFailed(f"Invalid {self.kind}.", code=f"invalid_{self.code_suffix}")
        return Principal(key_id=_key_id(matched))
