"""`python -m quart_llm serve | openapi | hash-key | check-config`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from quart_llm.auth import key_id_for_key
from quart_llm.settings import ROOT_PATH, ConfigurationError, hash_key, load_settings

DEFAULT_SPEC_PATH = ROOT_PATH / "openapi" / "openapi.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quart_llm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API with hypercorn.toml")
    serve.add_argument("--config", type=Path, help="Hypercorn TOML file (default hypercorn.toml)")
    serve.add_argument("--bind", action="append", help="address to bind, e.g. 127.0.0.1:8000")
    spec = commands.add_parser("openapi", help="write the OpenAPI document")
    spec.add_argument("--output", "-o", type=Path, default=DEFAULT_SPEC_PATH)
    spec.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    hashing = commands.add_parser("hash-key", help="print the stored form of an API key")
    hashing.add_argument("key", nargs="?", help="the key (read from a prompt when omitted)")
    key_id = commands.add_parser("key-id", help="print the key id that logs and limits use")
    key_id.add_argument("key", nargs="?", help="the key, or its sha256: form")
    commands.add_parser("check-config", help="validate the settings and exit")
    args = parser.parse_args(argv)

    try:
        if args.command == "serve":
            return _serve(args.config, args.bind)
        if args.command == "openapi":
            return _openapi(args.output, args.check)
        if args.command in ("hash-key", "key-id"):
            key = args.key if args.key is not None else getpass.getpass("API key: ")
            print(hash_key(key) if args.command == "hash-key" else key_id_for_key(key))
            return 0
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    active = ", ".join(sorted(settings.active_providers))
    print(
        f"configuration ok: env {settings.env}, providers {active}, "
        f"default {settings.default_provider}, {len(settings.api_keys)} API key(s)"
    )
    return 0


def _serve(config_path: Path | None, bind: list[str] | None) -> int:
    from quart_llm.app import create_app
    from quart_llm.serving import load_hypercorn_config, run

    app = create_app()
    run(app, load_hypercorn_config(config_path, bind))
    return 0


def _openapi(output: Path, check: bool) -> int:
    from quart_llm.openapi_export import render_openapi

    document = render_openapi()
    if check:
        current = output.read_text() if output.exists() else ""
        if current != document:
            print(f"{output} is out of date: run python -m quart_llm openapi", file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
