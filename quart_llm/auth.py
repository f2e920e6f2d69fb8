"""Bearer API keys: held as SHA-256 digests, compared in constant time, named by a key id.

A key is never kept in plain text after start-up. What logs, limits and usage see is the key
id: a short hash of the digest, which says which key was used without revealing either.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from quart import g

from quart_llm.errors import AuthenticationFailed

PUBLIC_ATTRIBUTE = "_quart_llm_public"
_KEY_ID_CONTEXT = b"quart_llm key id\x00"


def public[F: Callable[..., Any]](func: F) -> F:
    """Mark a route as reachable without an API key."""
    setattr(func, PUBLIC_ATTRIBUTE, True)
    return func


PUBLIC_ENDPOINTS = frozenset({"openapi"})
"""Endpoints registered by extensions, which cannot carry the attribute: the OpenAPI document."""


def is_public(endpoint: str, func: Callable[..., Any]) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or bool(getattr(func, PUBLIC_ATTRIBUTE, False))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key id only."""

    key_id: str


def current_principal() -> Principal:
    """The authenticated caller of the current request."""
    principal = g.get("principal")
    if not isinstance(principal, Principal):
        raise AuthenticationFailed("Authentication required.", code="missing_api_key")
    return principal


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_id_for_digest(digest: bytes) -> str:
    return "key_" + hashlib.sha256(_KEY_ID_CONTEXT + digest).hexdigest()[:12]


def key_id_for_key(key: str) -> str:
    """The key id of a plain key or of its stored `sha256:` form."""
    if key.startswith("sha256:"):
        return key_id_for_digest(bytes.fromhex(key.removeprefix("sha256:")))
    return key_id_for_digest(_digest(key))


class KeyRing:
    """The accepted keys as digests."""

    def __init__(self, keys: Iterable[SecretStr]) -> None:
        digests: list[bytes] = []
        for key in keys:
            value = key.get_secret_value()
            if value.startswith("sha256:"):
                digests.append(bytes.fromhex(value.removeprefix("sha256:")))
            else:
                digests.append(_digest(value))
        self._digests = tuple(digests)

    def __len__(self) -> int:
        return len(self._digests)

    def authenticate(self, authorization: str | None) -> Principal:
        """Check an Authorization header; raise AuthenticationFailed without echoing it."""
        token = bearer_token(authorization)
        if token is None:
            raise AuthenticationFailed(
                "Missing API key: send 'Authorization: Bearer <key>'.", code="missing_api_key"
            )
        presented = _digest(token)
        matched: bytes | None = None
        for digest in self._digests:
            if hmac.compare_digest(presented, digest):
                matched = digest
        if matched is None:
            raise AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        return Principal(key_id=key_id_for_digest(matched))


def bearer_token(authorization: str | None) -> str | None:
    """The token of a `Bearer` Authorization header (scheme case-insensitive), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
