"""Authentication as HTTP sees it: Bearer headers (or `x-api-key`, which Anthropic's SDKs send),
public routes, the current caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import g

from quart_llm.errors import AuthenticationFailed
from quart_llm.services.keys import Authenticator, Principal

API_KEY_HEADER = "x-api-key"
PUBLIC_ATTRIBUTE = "_quart_llm_public"
ADMIN_ATTRIBUTE = "_quart_llm_admin"
ADMIN_PATH = "/admin/"
PUBLIC_ENDPOINTS = frozenset({"openapi"})
"""Endpoints registered by extensions, which cannot carry the attribute: the OpenAPI document."""


def public[F: Callable[..., Any]](func: F) -> F:
    """Mark a route as reachable without an API key."""
    setattr(func, PUBLIC_ATTRIBUTE, True)
    return func


def admin[F: Callable[..., Any]](func: F) -> F:
    """Mark a route as the admin API's: only an admin key opens it (never an API key)."""
    setattr(func, ADMIN_ATTRIBUTE, True)
    return func


def is_admin(func: Callable[..., Any], rule: str | None = None) -> bool:
    """Whether a route belongs to the admin API: marked `admin`, or anywhere under
    `/admin/` (so a route added there without the mark is still closed to API keys)."""
    return bool(getattr(func, ADMIN_ATTRIBUTE, False)) or (rule or "").startswith(ADMIN_PATH)


def is_public(endpoint: str, func: Callable[..., Any]) -> bool:
    """Whether a route needs no API key."""
    return endpoint in PUBLIC_ENDPOINTS or bool(getattr(func, PUBLIC_ATTRIBUTE, False))


def bearer_token(authorization: str | None) -> str | None:
    """The token of a `Bearer` Authorization header (scheme case-insensitive), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def authenticate(
    keyring: Authenticator, authorization: str | None, api_key: str | None = None
) -> Principal:
    """The caller named by an Authorization header, else by an `x-api-key` header (Anthropic's
    way); AuthenticationFailed without echoing either."""
    token = bearer_token(authorization) or (api_key.strip() if api_key else None)
    if not token:
        raise AuthenticationFailed(
            f"Missing {keyring.kind}: send 'Authorization: Bearer <key>' (or 'x-api-key: <key>').",
            code=f"missing_{keyring.code_suffix}",
        )
    return keyring.authenticate(token)


def current_admin() -> Principal:
    """The admin calling the current request (an admin route's caller)."""
    principal = g.get("admin")
    if not isinstance(principal, Principal):
        raise AuthenticationFailed("Admin authentication required.", code="missing_admin_key")
    return principal


def current_principal() -> Principal:
    """The authenticated caller of the current request."""
    principal = g.get("principal")
    if not isinstance(principal, Principal):
        raise AuthenticationFailed("Authentication required.", code="missing_api_key")
    return principal
