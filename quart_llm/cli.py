"""The command line: `quart-llm serve | openapi | hash-key | key-id | check-config | migrate |
keys | usage`
(`python -m quart_llm` is the same), with `--version` and `--settings FILE`.

Each command imports what it needs when it runs. `serve` loads its modules and builds the app
with the cyclic garbage collector paused, then freezes what exists (`gc.freeze()`): those
objects live as long as the process, so collecting them over and over while they pile up, and
scanning them again in every later full collection, is wasted work (a start-up about 5 %
faster, fewer objects in every full collection afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from quart_llm.commands.keys import add_keys_commands, run_keys_command
from quart_llm.config.paths import SETTINGS_FILE_VARIABLE

DEFAULT_SPEC_PATH = Path("openapi") / "openapi.json"
"""Relative to the working directory: the repository's copy when run from a checkout."""


@contextlib.contextmanager
def _long_lived_objects() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class _PrintVersion(argparse.Action):
    """`--version`: the version is looked up only when asked (about 1 ms of metadata lookup
    that every other command, `serve` first, would pay otherwise)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=kwargs.get("help")
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from quart_llm.config.version import gateway_version

        print(f"quart-llm {gateway_version()}")
        parser.exit()


def _parser(prog: str) -> argparse.ArgumentParser:
    summary = (__doc__ or "").split("\n\n")[0]
    parser = argparse.ArgumentParser(prog=prog, description=summary)
    parser.add_argument("--version", action=_PrintVersion, help="print the version and exit")
    parser.add_argument(
        "--settings",
        type=Path,
        metavar="FILE",
        help=f"settings over the package's defaults (default ./settings.toml; or "
        f"{SETTINGS_FILE_VARIABLE}); .secrets.toml is read beside it",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API with Hypercorn")
    serve.add_argument(
        "--config",
        type=Path,
        help="Hypercorn TOML over the package's defaults (default ./hypercorn.toml, if any)",
    )
    serve.add_argument("--bind", action="append", help="address to bind, e.g. 127.0.0.1:8000")
    spec = commands.add_parser("openapi", help="write the OpenAPI 3.2 document and its 3.1 copy")
    spec.add_argument(
        "--output", "-o", type=Path, default=DEFAULT_SPEC_PATH,
        help="the 3.2 document (default openapi/openapi.json); the 3.1 copy goes beside it, "
        "named with -3.1 (openapi-3.1.json)",
    )  # fmt: skip
    spec.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    hashing = commands.add_parser("hash-key", help="print the stored form of an API key")
    hashing.add_argument("key", nargs="?", help="the key (read from a prompt when omitted)")
    key_id = commands.add_parser("key-id", help="print the key id that logs and limits use")
    key_id.add_argument("key", nargs="?", help="the key, or its sha256: form")
    commands.add_parser("check-config", help="validate the settings and exit")
    commands.add_parser("migrate", help="bring the database schema up to date")
    add_keys_commands(commands)
    usage = commands.add_parser("usage", help="sum the stored usage records (table or CSV)")
    usage.add_argument("--group-by", choices=("key", "model", "provider", "day"), default="day")
    usage.add_argument("--from", dest="start", help="ISO 8601 date or date-time (included)")
    usage.add_argument("--to", dest="end", help="ISO 8601 date or date-time (excluded)")
    usage.add_argument("--key-id", help="only this key's records")
    usage.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return parser


def main(argv: list[str] | None = None, prog: str = "quart-llm") -> int:
    """Run one command; the exit status (2 for a configuration error). `quart-llm` is this
    function (`[project.scripts]`); `python -m quart_llm` calls it with its own `prog`."""
    args = _parser(prog).parse_args(argv)
    if args.settings is not None:  # read from there by create_app, as by every command
        os.environ[SETTINGS_FILE_VARIABLE] = str(args.settings)
    if args.command == "serve":
        return _serve(args.config, args.bind)
    from quart_llm.config.loader import ConfigurationError, load_settings

    try:
        if args.command == "openapi":
            return _openapi(args.output, args.check)
        if args.command in ("hash-key", "key-id"):
            from quart_llm.services.keys import hash_key, key_id_for_key

            key = args.key if args.key is not None else getpass.getpass("API key: ")
            print(hash_key(key) if args.command == "hash-key" else key_id_for_key(key))
            return 0
        settings = load_settings()
    except ConfigurationError as exc:
        return _configuration_error(exc)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings.database_url))
    if args.command == "keys":
        return run_keys_command(args, settings)
    if args.command == "usage":
        return asyncio.run(_usage(settings.database_url, args))
    active = ", ".join(sorted(settings.active_providers))
    print(
        f"configuration ok: env {settings.env}, providers {active}, "
        f"default {settings.default_provider}, {len(settings.api_keys)} API key(s)"
    )
    return 0


async def _migrate(setting: str) -> int:
    from quart_llm.store.database import Database
    from quart_llm.store.migrations import current_revision

    database = Database(setting)
    await database.start()
    try:
        revision = await current_revision(database.engine)
    finally:
        await database.stop()
    where = database.url.render_as_string(hide_password=True)
    print(f"database {where} is at revision {revision}")
    return 0


async def _usage(setting: str, args: argparse.Namespace) -> int:
    """The usage report of `GET /admin/v1/usage`, read from the database, printed."""
    import json

    from quart_llm.errors import InvalidRequest
    from quart_llm.services.usage_reports import (
        build_report,
        report_csv,
        report_query,
        report_table,
    )
    from quart_llm.store.database import Database

    try:
        query = report_query(args.group_by, args.start, args.end, args.key_id)
    except InvalidRequest as exc:
        print(f"usage: {exc.message}", file=sys.stderr)
        return 2
    database = Database(setting)
    await database.start()
    try:
        report = await build_report(database, query)
    finally:
        await database.stop()
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(report_csv(report) if args.format == "csv" else report_table(report), end="")
    return 0


def _configuration_error(exc: Exception) -> int:
    print(f"configuration error: {exc}", file=sys.stderr)
    return 2


def _serve(config_path: Path | None, bind: list[str] | None) -> int:
    with _long_lived_objects():
        from quart_llm.app import create_app
        from quart_llm.config.loader import ConfigurationError
        from quart_llm.server.serving import load_hypercorn_config, run

        try:
            app = create_app()
            config = load_hypercorn_config(config_path, bind)
        except ConfigurationError as exc:
            return _configuration_error(exc)
    run(app, config)
    return 0


def _openapi(output: Path, check: bool) -> int:
    from quart_llm.web.openapi_document import render_openapi

    documents = render_openapi(output)
    if check:
        stale = [path for path, text in documents.items() if _text_of(path) != text]
        for path in stale:
            print(f"{path} is out of date: run python -m quart_llm openapi", file=sys.stderr)
        return 1 if stale else 0
    for path, text in documents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    return 0


def _text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""
