"""`GET /v1/health`: public, cheap, never hangs."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from quart import Blueprint, Response
from quart_rate_limiter import rate_exempt
from quart_schema import document_response, security_scheme, tag

from quart_llm.auth import public
from quart_llm.gateway import current_gateway
from quart_llm.paths import ROOT_PATH
from quart_llm.responses import json_response
from quart_llm.schemas.responses import ErrorBody, HealthReport


def gateway_version(project_file: Path = ROOT_PATH / "pyproject.toml") -> str:
    """The installed package's version, else the one in the pyproject.toml beside the package:
    the container and the bench's production install run the sources without installing the
    project. Looked up once per app (the metadata lookup alone takes about 1 ms)."""
    try:
        return version("quart-llm")
    except PackageNotFoundError:
        pass
    try:
        with project_file.open("rb") as project:
            return str(tomllib.load(project)["project"]["version"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return "0.0.0"


def create_health_blueprint(version: str) -> Blueprint:
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/v1/health")
    @rate_exempt
    @public
    @security_scheme([])
    @tag(["health"])
    @document_response(HealthReport, 200)
    @document_response(ErrorBody, 503)
    async def get_health() -> Response:
        """Report the gateway's health and each provider's reachability.

        Needs no API key. Probes are short and cached for a few seconds; `status` is `ok`
        when every configured provider answers and `degraded` otherwise (still HTTP 200).
        While the server shuts down the answer is a 503 error (`server_shutting_down`), so load
        balancers stop sending it work.
        """
        gateway = current_gateway()
        gateway.drainer.refuse_if_draining()
        states = await gateway.health.provider_states()
        healthy = all(state["reachable"] for state in states.values())
        return json_response(
            {
                "status": "ok" if healthy else "degraded",
                "version": version,
                "providers": states,
            }
        )

    return blueprint
