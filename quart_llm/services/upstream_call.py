"""One request to the upstreams, whatever it asks for: admitted, answered, settled once.

`UpstreamCall` is what a chat (`services/chat` `ChatCall`) and an embeddings request
(`services/embeddings`) share: its routes planned, a place in the process's capacity and its
quotas taken (`admitted`), one `Deadline` for all its waits, the first route that answers
(retries, fallbacks, breakers; each attempt in a span of its own when tracing), and exactly one
settlement however it ends, the real usage and cost replacing the reservation (`settle`; the
cost, from `services/pricing`, also goes on the record). A whole answer
waits under the deadline and the drainer (`whole_answer`). What the call learns goes into the
request's record; the web layer finishes the record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from quart_llm.errors import PermissionDenied
from quart_llm.lib.prices import to_micros
from quart_llm.observability.request_record import RequestRecord
from quart_llm.observability.request_trace import AttemptRequest
from quart_llm.providers.answers import TokenUsage
from quart_llm.quotas.service import Admission
from quart_llm.quotas.stores.usage_counts import UsageRecord
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.route import Route
from quart_llm.routing.router import RoutePlan
from quart_llm.services.container import Services
from quart_llm.services.draining import shutting_down_error
from quart_llm.services.keys import Principal

PROVIDER_HEADER = "X-Quart-LLM-Provider"


async def admitted(
    services: Services,
    principal: Principal,
    plan: RoutePlan,
    requested_model: str,
    prompt_estimate: int,
    output_limit: int | None,
    choices: int = 1,
) -> Admission:
    """The key's allowed models, a place in the process's capacity, then the key's quotas (a
    concurrency slot, the worst case in tokens and, under a USD budget, in micro-dollars at the
    dearest price of the plan's routes); whatever was taken is given back when one of them
    refuses."""
    routes = [(route.provider.name, route.model) for route in plan.routes]
    try:
        refuse_unless_allowed(principal, requested_model, [plan.routes[0].public_model])
        services.capacity.take()
    except BaseException:
        services.router.settled(plan)
        raise
    price = services.pricing.dearest(routes)
    unpriced = services.pricing.unpriced(routes) if price is None else ""
    try:
        return await services.quotas.admit(
            principal.key_id, prompt_estimate, output_limit, choices, price=price, model=unpriced
        )
    except BaseException:
        services.capacity.give_back()
        services.router.settled(plan)
        raise


def refuse_unless_allowed(principal: Principal, requested: str, served_by: list[str]) -> None:
    """403 `model_not_allowed` unless the key's allowed models match the model asked for or
    a provider/model it resolved to (`Principal.may_use`)."""
    if principal.may_use(requested, served_by):
        return
    raise PermissionDenied(
        "This API key may not use this model (see its allowed_models).",
        code="model_not_allowed",
        param="model",
    )


@dataclass(slots=True, kw_only=True)
class UpstreamCall:
    """One admitted request from its first attempt to its settlement."""

    services: Services
    record: RequestRecord
    plan: RoutePlan
    prompt_estimate: int
    admission: Admission
    route: Route = field(init=False)
    """The route planned first, then the one that answered."""
    deadline: Deadline = field(init=False)
    settled: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.route = self.plan.routes[0]
        self.deadline = Deadline.start(self.route.provider.settings.timeouts)

    def traced_request(self, with_content: bool) -> AttemptRequest:
        """What the attempts' spans say of the request (its input only `with_content`)."""
        return AttemptRequest(self.record.operation, {})

    async def first_answer[T](
        self, attempt: Callable[[Route, Deadline], Awaitable[T]], *, streamed: bool
    ) -> T:
        """What `attempt` gets from the first route that answers, noting which one did (each
        attempt in a span of its own when tracing)."""
        trace = self.record.trace
        if trace is not None:
            described = self.traced_request(trace.capture_content)
            attempt = trace.traced(attempt, described, streamed=streamed)
        started = self.record.upstream_started = time.perf_counter()
        result, report = await self.services.attempter.first_answer(
            self.plan.routes, self.deadline, attempt
        )
        self.services.router.answered(self.plan, report.route, time.perf_counter() - started)
        self.route = report.route
        self.record.provider = report.route.provider.name
        self.record.model = report.route.model
        self.record.retries = report.retries
        self.record.fallbacks = report.fallbacks
        return result

    async def whole_answer[T](self, attempt: Callable[[Route, Deadline], Awaitable[T]]) -> T:
        """`first_answer` for a whole answer: a client gone is charged its prompt, a failure
        settles with nothing, and at shutdown one still waiting when the grace period ends is
        a 503. The call settles the answer it gets."""
        services, record = self.services, self.record
        task = asyncio.current_task()
        if task is not None:
            services.drainer.add_answer(task)
        try:
            return await self.first_answer(attempt, streamed=False)
        except asyncio.CancelledError:
            if task is not None and services.drainer.forced:
                self.settle_later(None)
                task.uncancel()
                raise shutting_down_error() from None
            self.abandoned()
            raise
        except BaseException:
            self.settle_later(None)
            raise
        finally:
            record.upstream_seconds = time.perf_counter() - (record.upstream_started or 0.0)
            if task is not None:
                services.drainer.remove_answer(task)

    async def settle(self, usage: TokenUsage | None) -> None:
        """The one settlement of the call: its place in the process's capacity comes back,
        and its quotas are settled with its usage and cost (usage None: nothing was
        answered)."""
        await self._settle(*self._charged(usage))

    def settle_later(self, usage: TokenUsage | None) -> None:
        """`settle` in the background, for endings that cannot wait for it (the cost is on
        the record at once)."""
        self.services.tasks.spawn(
            self._settle(*self._charged(usage)), f"settle-{self.record.operation}"
        )

    def _charged(self, usage: TokenUsage | None) -> tuple[UsageRecord | None, int | None]:
        """What the answering route's usage counts and costs (micro-dollars, None: unknown);
        the cost goes on the record."""
        if usage is None:
            return None, None
        provider, model = self.route.provider.name, self.route.model
        cost = self.services.pricing.cost(
            provider, model, usage.prompt_tokens, usage.completion_tokens, usage.cost
        )
        self.record.cost_usd = None if cost is None else float(cost)
        entry = UsageRecord(
            provider=provider,
            model=model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            estimated=usage.estimated,
        )
        return entry, None if cost is None else to_micros(cost)

    async def _settle(self, entry: UsageRecord | None, cost_micros: int | None) -> None:
        if not self.settled:
            self.settled = True
            self.services.capacity.give_back()
            self.services.router.settled(self.plan)
        await self.services.quotas.finish(self.admission, entry, cost_micros)

    def abandoned(self) -> None:
        """The client went away before the answer: the upstream has been sent the prompt, so
        the prompt is charged (an estimate, marked as one) and the record says so."""
        usage = TokenUsage(self.prompt_estimate, 0, estimated=True)
        self.record.usage = usage
        self.record.outcome = "client_gone"
        self.settle_later(usage)

    @property
    def headers(self) -> dict[str, str]:
        """The headers every answer of this call carries."""
        return {PROVIDER_HEADER: self.route.provider.name, **self.admission.headers}
