"""The deployments of an alias, and which of them takes each request.

An alias is a model name served by several deployments (`provider/model` routes: two Ollama
boxes with the same model, or Ollama and OpenRouter). For each request the strategy puts one
deployment first and the others after it as failovers; a deployment whose breakers hold it
open goes last, so it is skipped while another can answer (and still tried, in panic mode,
when none can).

- `weighted`: smooth weighted round robin (nginx's): over any run of requests each
  deployment's share follows its weight exactly, with no randomness to average out.
- `least_in_flight`: the deployment carrying the fewest requests now (counted from the plan
  until the answer is settled, streams included), ties broken by weight.
- `lowest_latency`: the lowest moving average of time to answer (first chunk for streams);
  a deployment never measured goes first, so each is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quart_llm.routing.route import Route

LATENCY_SMOOTHING = 0.2
"""Weight of the newest sample in the moving average of a deployment's latency."""


@dataclass(slots=True)
class Deployment:
    """One deployment and what its alias's strategy knows of it."""

    route: Route
    weight: int
    current_weight: int = 0
    in_flight: int = 0
    latency: float | None = None


class DeploymentSet:
    """An alias's deployments and its strategy."""

    def __init__(self, strategy: str, deployments: list[Deployment]) -> None:
        self.strategy = strategy
        self.deployments = deployments
        self._by_route = {(d.route.provider.name, d.route.model): d for d in deployments}

    def order(self, held_open: Callable[[Route], bool]) -> list[Route]:
        """Every deployment's route, the one to try first first; held-open ones last."""
        ranked = self._ranked()
        return [d.route for d in ranked if not held_open(d.route)] + [
            d.route for d in ranked if held_open(d.route)
        ]

    def begin(self, route: Route) -> None:
        """A request now counts against `route` (if it is one of these deployments)."""
        deployment = self._by_route.get((route.provider.name, route.model))
        if deployment is not None:
            deployment.in_flight += 1

    def end(self, route: Route) -> None:
        """A request counted by `begin` has been settled."""
        deployment = self._by_route.get((route.provider.name, route.model))
        if deployment is not None:
            deployment.in_flight -= 1

    def observe_latency(self, route: Route, seconds: float) -> None:
        """`route` answered after `seconds`."""
        deployment = self._by_route.get((route.provider.name, route.model))
        if deployment is not None:
            previous = deployment.latency
            deployment.latency = (
                seconds if previous is None else previous + LATENCY_SMOOTHING * (seconds - previous)
            )

    def _ranked(self) -> list[Deployment]:
        if self.strategy == "least_in_flight":
            return sorted(self.deployments, key=lambda d: (d.in_flight, -d.weight))
        if self.strategy == "lowest_latency":
            return sorted(self.deployments, key=lambda d: -1.0 if d.latency is None else d.latency)
        chosen = self._next_weighted()
        return [chosen, *(d for d in self.deployments if d is not chosen)]

    def _next_weighted(self) -> Deployment:
        """Smooth weighted round robin: every deployment gains its weight, the richest is
        chosen and pays the total."""
        total = 0
        chosen = self.deployments[0]
        for deployment in self.deployments:
            deployment.current_weight += deployment.weight
            total += deployment.weight
            if deployment.current_weight > chosen.current_weight:
                chosen = deployment
        chosen.current_weight -= total
        return chosen
