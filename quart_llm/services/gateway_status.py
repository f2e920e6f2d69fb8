"""What the gateway carries right now, for operators (`GET /admin/v1/status`): requests in
flight against their limit, open streams by provider, the quota store and whether it answers,
and each alias's deployments with their share of the traffic.

The public health report (`services/health.py`) says whether providers answer; this says how
busy the gateway is and with what, so it is behind an admin key: load and routing are nobody
else's business.
"""

from __future__ import annotations

from typing import Any

from quart_llm.routing.deployments import DeploymentSet
from quart_llm.services.container import Services


async def gateway_status(services: Services) -> dict[str, Any]:
    """The status report of one gateway process."""
    store = services.quotas.store
    return {
        "object": "gateway_status",
        "version": services.version,
        "draining": services.drainer.draining,
        "in_flight_requests": services.capacity.in_flight,
        "max_in_flight_requests": services.capacity.limit,
        "open_streams": open_streams(services),
        "quota_store": {
            "kind": store.kind,
            "reachable": await store.reachable(),
            "on_failure": "open" if services.quotas.fail_open else "closed",
            "failures": services.quotas.store_failures,
        },
        "deployments": {
            alias: deployment_states(deployments)
            for alias, deployments in sorted(services.router.aliases.items())
        },
    }


def open_streams(services: Services) -> dict[str, int]:
    """Streams being answered now, by provider (read from the `quart_llm_open_streams` gauge,
    the one count of them); every provider is listed, idle ones with 0."""
    counts = dict.fromkeys(sorted(services.providers), 0)
    for family in services.metrics.open_streams.collect():
        for sample in family.samples:
            provider = sample.labels.get("provider", "")
            if provider in counts:
                counts[provider] = int(sample.value)
    return counts


def deployment_states(deployments: DeploymentSet) -> dict[str, Any]:
    """An alias's strategy and each deployment's weight, requests in flight and latency."""
    return {
        "strategy": deployments.strategy,
        "deployments": [
            {
                "provider": deployment.route.provider.name,
                "model": deployment.route.model,
                "weight": deployment.weight,
                "in_flight_requests": deployment.in_flight,
                "latency_ms": None
                if deployment.latency is None
                else round(deployment.latency * 1000, 2),
            }
            for deployment in deployments.deployments
        ],
    }
