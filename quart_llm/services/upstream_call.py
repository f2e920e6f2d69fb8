"""One request to the upstreams, whatever it asks for: admitted, answered, settled once.

`UpstreamCall` is what a chat (`services/chat` `ChatCall`) and an embeddings request
(`services/embeddings`) share: its routes planned, a place in the process's capacity and its
quotas taken (`admitted`), one `Deadline` for all its waits, the first route that answers
(retries, fallbacks, breakers; each attempt in a span of its own when tracing), and exactly one
settlement however it ends, the real usage replacing the reservation (`settle`). A whole answer
waits under the deadline and the drainer (`whole_answer`). What the call learns goes into the
request's record; the web layer finishes the record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
    prompt_estimate: int,
    output_limit: int | None,
    choices: int = 1,
) -> Admission:
    """A place in the process's capacity, then the key's quotas (a concurrency slot and the
    worst case in tokens); whatever was taken is given back when one of them refuses."""
    try:
        services.capacity.take()
    except BaseException:
        services.router.settled(plan)
        raise
    try:
        return await services.quotas.admit(principal.key_id, prompt_estimate, output_limit, choices)
    except BaseException:
        services.capacity.give_back()
        services.router.settled(plan)
        raise


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
        and its quotas are settled (usage None: nothing was answered)."""
        if not self.settled:
            self.settled = True
            self.services.capacity.give_back()
            self.services.router.settled(self.plan)
        entry = None
        if usage is not None:
            entry = UsageRecord(
                provider=self.route.provider.name,
                model=self.route.model,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                estimated=usage.estimated,
            )
        await self.services.quotas.finish(self.admission, entry)

    def settle_later(self, usage: TokenUsage | None) -> None:
        """`settle` in the background, for endings that cannot wait for it."""
        self.services.tasks.spawn(self.settle(usage), f"settle-{self.record.operation}")

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
