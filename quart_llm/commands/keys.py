"""`quart-llm keys create | list | show | revoke`: the admin API's key operations, run directly
on the database (`database_url`, migrated first), for operators at a shell.

Every command prints JSON: the key object as the admin API shows it (`create` adds the
`secret`, printed this once), or the listing. A change is announced on Redis when `redis_url`
is set, so serving replicas hold it at once; without Redis, their polls find it within a
second. Input is checked by the admin API's own models: a refusal is one line on stderr and
exit status 2; a missing or read-only key is status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quart_llm.config.models import Settings


def add_keys_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `keys` command group, under the main parser's commands."""
    keys = commands.add_parser("keys", help="create, list, show or revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="create a key; its secret is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--owner")
    create.add_argument("--tier")
    create.add_argument("--metadata", help="a JSON object")
    create.add_argument("--allowed-model", action="append", dest="allowed_models",
                        metavar="PATTERN", help="e.g. 'ollama/*' (repeat for more)")  # fmt: skip
    create.add_argument("--expires-at", help="ISO 8601, e.g. 2027-01-01T00:00:00Z")
    for budget in ("tokens-per-day", "tokens-per-month"):
        create.add_argument(f"--{budget}", type=int)
    for budget in ("usd-per-day", "usd-per-month"):
        create.add_argument(f"--{budget}", type=float)
    listing = actions.add_parser("list", help="list keys (settings' first, then the database's)")
    listing.add_argument("--status", choices=["active", "revoked", "expired"])
    listing.add_argument("--owner")
    listing.add_argument("--name")
    listing.add_argument("--source", choices=["database", "settings"])
    listing.add_argument("--limit", type=int, default=1000)
    listing.add_argument("--cursor", help="the next_cursor of the page before")
    for action, what in (("show", "show a key"), ("revoke", "revoke a key")):
        actions.add_parser(action, help=what).add_argument("key_id")


def run_keys_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `keys` command; its exit status."""
    from pydantic import ValidationError

    from quart_llm.errors import GatewayError
    from quart_llm.schemas.validation_messages import describe_validation_error

    try:
        result = asyncio.run(_run(args, settings))
    except ValidationError as exc:
        print(describe_validation_error(exc)[0], file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 2 if exc.status == 400 else 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from quart_llm.quotas.policy import PolicyBook
    from quart_llm.schemas.admin_keys import KeyCreate, KeyListQuery
    from quart_llm.services.key_admin import KeyAdmin
    from quart_llm.services.key_refresh import publish_change
    from quart_llm.services.key_registry import KeyRegistry
    from quart_llm.store.database import Database

    async def announce(key_id: str) -> None:
        if settings.redis_url:
            try:
                await publish_change(settings.redis_url, settings.redis_key_prefix, key_id)
            except Exception as exc:
                print(
                    f"note: change not published on Redis ({type(exc).__name__})", file=sys.stderr
                )

    registry = KeyRegistry(settings.api_keys, settings.limits.keys)
    database = Database(settings.database_url)
    admin = KeyAdmin(database, registry, PolicyBook(settings.limits), announce)
    command = args.keys_command
    if command == "create":
        data = KeyCreate.model_validate(_create_body(args))
    elif command == "list":
        fields = ("status", "owner", "name", "source", "limit", "cursor")
        query = KeyListQuery.model_validate(
            {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
        )
    await database.start()
    try:
        if command == "create":
            return await admin.create(data)
        if command == "list":
            return await admin.page(query)
        if command == "show":
            return await admin.get(args.key_id)
        return await admin.revoke(args.key_id)
    finally:
        await database.stop()


def _create_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"name": args.name}
    for name in ("owner", "tier", "allowed_models", "expires_at"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.metadata is not None:
        try:
            body["metadata"] = json.loads(args.metadata)
        except json.JSONDecodeError:
            body["metadata"] = args.metadata  # refused by the model as "not an object"
    budgets = {
        name: getattr(args, name)
        for name in ("tokens_per_day", "tokens_per_month", "usd_per_day", "usd_per_month")
        if getattr(args, name) is not None
    }
    if budgets:
        body["budgets"] = budgets
    return body
