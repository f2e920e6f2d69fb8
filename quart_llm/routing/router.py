"""Where a request may go, in order: its route or its alias's deployments, then fallbacks.

A model that names an alias (and no explicit `provider`) is served by the alias's deployments,
in the order its strategy gives (`deployments`); any other request has the one route
`route.resolve_route` finds. The fallbacks configured for it follow. Routes whose provider
cannot take the request are left out before any I/O; when that leaves nothing, the first
route's refusal (a 400) is the answer.

The plan remembers which deployment it counts as in flight, so least-in-flight balancing
sees requests from the moment they are planned until they are settled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from quart_llm.config.models import AliasSettings
from quart_llm.errors import GatewayError
from quart_llm.providers.base import Provider
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.routing.deployments import Deployment, DeploymentSet
from quart_llm.routing.fallback import fallback_routes
from quart_llm.routing.route import Route, resolve_route
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.schemas.embeddings import EmbeddingsRequest

Check = Callable[[Route], None]
"""Raises the refusal (a GatewayError) when the route's provider cannot take the request."""


@dataclass(slots=True)
class RoutePlan:
    """The routes of one request, in the order to try them."""

    routes: list[Route]
    deployments: DeploymentSet | None = None
    counted: Route | None = None
    """The deployment this request counts against while in flight."""


class Router:
    """Plans requests: aliases and their deployments, single routes, fallbacks."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        default_provider: str,
        aliases: Mapping[str, AliasSettings],
        fallbacks: Mapping[str, list[str]],
        circuits: CircuitBoard,
    ) -> None:
        self._providers = providers
        self._default_provider = default_provider
        self._fallbacks = fallbacks
        self._circuits = circuits
        self.aliases = {
            name: DeploymentSet(
                alias.strategy,
                [
                    Deployment(_route(providers, d.target), d.weight)
                    for d in alias.deployments
                    if d.target.partition("/")[0] in providers
                ],
            )
            for name, alias in aliases.items()
        }

    def plan(self, request: ChatRequest) -> RoutePlan:
        """The routes for a chat `request`; a 400 when none of them can take it."""
        return self._plan(
            request.model, request.provider, lambda r: r.provider.check_supported(request)
        )

    def plan_embeddings(self, request: EmbeddingsRequest) -> RoutePlan:
        """The routes for an embeddings `request`; a 400 when none of them can embed it."""
        tokens = not isinstance(request.inputs[0], str)
        return self._plan(
            request.model,
            request.provider,
            lambda r: r.provider.check_embeddings(r.model, tokens=tokens),
        )

    def _plan(self, model: str, provider: str | None, check: Check) -> RoutePlan:
        deployments = self.aliases.get(model) if provider is None else None
        if deployments is not None:
            candidates = deployments.order(lambda r: self._circuits.blocking(r) is not None)
            source = model
        else:
            primary = resolve_route(self._providers, self._default_provider, model, provider)
            candidates, source = [primary], primary.public_model
        routes = _supported(check, candidates)
        seen = {(r.provider.name, r.model) for r in routes}
        for route in fallback_routes(routes[0], self._fallbacks, self._providers, source):
            if (route.provider.name, route.model) not in seen:
                seen.add((route.provider.name, route.model))
                routes.extend(_supported(check, [route], quiet=True))
        plan = RoutePlan(routes, deployments)
        if deployments is not None:
            plan.counted = routes[0]
            deployments.begin(routes[0])
        return plan

    def served_by(self, model: str) -> list[str]:
        """The `provider/model` names that may serve a request for `model` first: an alias's
        deployments, else the route it resolves to (fallbacks left out: a key is judged by
        what it asked for)."""
        deployments = self.aliases.get(model)
        if deployments is not None:
            return [deployment.route.public_model for deployment in deployments.deployments]
        return [resolve_route(self._providers, self._default_provider, model, None).public_model]

    def answered(self, plan: RoutePlan, route: Route, seconds: float) -> None:
        """`route` answered the plan's request after `seconds`."""
        if plan.deployments is None:
            return
        plan.deployments.observe_latency(route, seconds)
        if plan.counted is not None and plan.counted != route:
            plan.deployments.end(plan.counted)
            plan.deployments.begin(route)
            plan.counted = route

    def settled(self, plan: RoutePlan) -> None:
        """The plan's request has ended."""
        if plan.deployments is not None and plan.counted is not None:
            plan.deployments.end(plan.counted)
            plan.counted = None


def _route(providers: Mapping[str, Provider], target: str) -> Route:
    name, _, model = target.partition("/")
    return Route(providers[name], model)


def _supported(check: Check, routes: list[Route], *, quiet: bool = False) -> list[Route]:
    """The routes `check` lets through; none left raises the first refusal (unless
    `quiet`)."""
    supported: list[Route] = []
    first_refusal: GatewayError | None = None
    for route in routes:
        try:
            check(route)
        except GatewayError as refusal:
            first_refusal = first_refusal or refusal
            continue
        supported.append(route)
    if not supported and first_refusal is not None and not quiet:
        raise first_refusal
    return supported
