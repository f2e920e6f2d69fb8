"""The strategies that put one of an alias's deployments first."""

from __future__ import annotations

from collections import Counter

from quart_llm.config.models import ProviderSettings
from quart_llm.providers.mock import MockProvider
from quart_llm.routing.deployments import Deployment, DeploymentSet
from quart_llm.routing.route import Route

ONE = MockProvider("one", ProviderSettings(kind="mock"))
TWO = MockProvider("two", ProviderSettings(kind="mock"))
THREE = MockProvider("three", ProviderSettings(kind="mock"))


def deployments(strategy: str, *weights: int) -> DeploymentSet:
    providers = (ONE, TWO, THREE)
    return DeploymentSet(
        strategy, [Deployment(Route(providers[i], "m"), w) for i, w in enumerate(weights)]
    )


def never_open(route: Route) -> bool:
    return False


def test_weighted_shares_follow_the_weights_exactly_and_interleave() -> None:
    heavy = deployments("weighted", 5, 1, 1)
    chosen = [heavy.order(never_open)[0].provider.name for _ in range(7)]
    assert Counter(chosen) == {"one": 5, "two": 1, "three": 1}
    assert chosen != sorted(chosen), "smooth: the heavy deployment's turns are spread"
    alias = deployments("weighted", 3, 1)
    firsts = Counter(alias.order(never_open)[0].provider.name for _ in range(1000))
    assert firsts == {"one": 750, "two": 250}


def test_every_deployment_follows_as_a_failover() -> None:
    order = deployments("weighted", 1, 1, 1).order(never_open)
    assert sorted(route.provider.name for route in order) == ["one", "three", "two"]


def test_a_deployment_held_open_goes_last() -> None:
    alias = deployments("weighted", 10, 1)
    order = alias.order(lambda route: route.provider is ONE)
    assert [route.provider.name for route in order] == ["two", "one"]


def test_least_in_flight_takes_the_least_busy() -> None:
    alias = deployments("least_in_flight", 1, 1)
    first = alias.order(never_open)[0]
    alias.begin(first)
    second = alias.order(never_open)[0]
    assert second != first
    alias.begin(second)
    alias.end(first)
    assert alias.order(never_open)[0] == first


def test_lowest_latency_measures_each_then_takes_the_fastest() -> None:
    alias = deployments("lowest_latency", 1, 1)
    alias.observe_latency(Route(ONE, "m"), 0.5)
    assert alias.order(never_open)[0].provider is TWO, "a deployment never measured goes first"
    alias.observe_latency(Route(TWO, "m"), 0.1)
    assert alias.order(never_open)[0].provider is TWO
    for _ in range(20):
        alias.observe_latency(Route(TWO, "m"), 2.0)
    assert alias.order(never_open)[0].provider is ONE, "the average follows recent answers"
