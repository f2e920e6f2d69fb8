"""The admin API's guard, for every blueprint under `/admin/v1`.

Who may call is decided once, by the app's request hook (`web/hooks.py`): a route under
`/admin/` (or marked `auth.admin`) is opened by an admin key only (`admin_keys`, plain or
`sha256:`, compared like API keys by `services.keys.KeyRing`), sent as a Bearer token or in
`x-api-key`; an API key there is refused with `invalid_admin_key`, and an admin key is no API
key anywhere else. `admin_blueprint` adds what a blueprint of the admin API needs besides: the
OpenAPI tag `admin` and the `adminKey` security scheme on each of its operations, and a check
of its own before each request (should the hook ever stop covering a path, the blueprint still
refuses rather than serving an anonymous caller). Admin routes are not counted against the
request limits of API-key tiers (failed admin authentications are, by client address).
"""

from __future__ import annotations

from quart import Blueprint
from quart_schema import security_scheme_blueprint, tag_blueprint

from quart_llm.web.auth import current_admin

ADMIN_PREFIX = "/admin/v1"
ADMIN_TAG = "admin"
ADMIN_SECURITY_SCHEME = "adminKey"
ADMIN_SECURITY_SCHEMES = {
    ADMIN_SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearer_format": "admin key"}
}
"""The scheme as the app declares it to quart-schema."""


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of the admin API: its routes under `/admin/v1`, tagged `admin`, documented
    with the `adminKey` scheme, and refused to any caller that is not an admin."""
    blueprint = Blueprint(name, import_name, url_prefix=ADMIN_PREFIX)
    tag_blueprint(blueprint, [ADMIN_TAG])
    security_scheme_blueprint(blueprint, [{ADMIN_SECURITY_SCHEME: []}])
    blueprint.before_request(_require_admin)
    return blueprint


async def _require_admin() -> None:
    current_admin()
