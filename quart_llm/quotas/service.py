"""What the routes ask of quotas: count a request, admit a chat, settle it when it ends.

A chat is admitted by taking a concurrency slot and reserving its worst case in tokens: the
prompt estimate plus its output limit for every choice asked for. The output limit is decided
here, once, and the call holds the upstream to it: the client's `max_tokens` (or
`max_completion_tokens`); without one, the tier's `default_max_tokens` when the key has a token
budget, and no limit when it has none (the upstream's own default applies, as nothing was
reserved). When the chat ends, however it ends, the real usage replaces the reservation and
the slot is freed; a settlement takes a window at most one reservation past its budget (when
the upstream counted more prompt tokens than the estimate), so across every replica a budget is
never exceeded by more than one request's reservation. A USD budget is kept the same way in
micro-dollars: the worst case (prompt estimate at the input price plus the output cap at the
output price) reserved, the real cost settled (the worst case stays charged when the cost is
unknown); a model without a known price is refused under a USD budget (403
`model_not_priced`), as a budget that cannot be counted is not a budget. When the store is
unreachable the configured policy decides: fail open (serve, log loudly, count it) or fail
closed (503).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from quart_llm.config.accounting_models import LimitsSettings
from quart_llm.errors import ServiceUnavailable
from quart_llm.lib.prices import Price, to_micros
from quart_llm.lib.random_ids import RandomIds
from quart_llm.quotas import headers
from quart_llm.quotas.leases import LeaseKeeper
from quart_llm.quotas.policy import KeyQuotas, PolicyBook, QuotaPolicy
from quart_llm.quotas.stores.base import Decision, QuotaBackendUnavailable, QuotaStore, WindowLimit
from quart_llm.quotas.stores.usage_counts import UsageRecord, UsageReport

logger = logging.getLogger("quart_llm.quotas")
_WARN_EVERY_SECONDS = 10.0


@dataclass(slots=True)
class Admission:
    """What a chat took when it was admitted, to give back or settle when it ends."""

    key_id: str
    output_limit: int | None = None
    """Output tokens per choice the upstream is told, and held to (None: no limit)."""
    output_cap: int | None = None
    """Output tokens of the whole answer, every choice together (None: no limit); with a token
    budget, what the reservation holds for the output."""
    reserved: int = 0
    token_limits: tuple[WindowLimit, ...] = ()
    windows: tuple[int, ...] = ()
    usd_reserved: int = 0
    """Micro-dollars reserved against the USD budgets (the worst case)."""
    usd_limits: tuple[WindowLimit, ...] = ()
    usd_windows: tuple[int, ...] = ()
    lease_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    finished: bool = False


class QuotaService:
    """Request limits, chat admission and settlement, and usage, over one store."""

    def __init__(
        self,
        store: QuotaStore,
        settings: LimitsSettings,
        on_store_failure: Callable[[], None] | None = None,
        key_quotas: KeyQuotas | None = None,
    ) -> None:
        self.store = store
        self._on_store_failure = on_store_failure
        self.enabled = settings.enabled
        self.fail_open = settings.on_store_failure == "open"
        self.usage_periods = tuple(sorted(set(settings.usage_periods)))
        self.policies = PolicyBook(settings, key_quotas)
        self._failed_auth_limits = tuple(
            WindowLimit(w.count, w.period_seconds) for w in settings.failed_authentications
        )
        self.leases = LeaseKeeper(store, settings.lease_seconds)
        self.store_failures = 0
        self._last_warning = 0.0
        self._ids = RandomIds()

    async def start(self) -> None:
        await self.store.start()
        self.leases.start()

    async def stop(self) -> None:
        await self.leases.stop()
        await self.store.close()

    def policy(self, key_id: str) -> QuotaPolicy:
        """The quotas of `key_id`."""
        return self.policies.for_key(key_id)

    async def count_request(self, key_id: str) -> Decision | None:
        """Count one request against the key's request limits; raise 429 when refused."""
        limits = self.policy(key_id).requests
        if not self.enabled or not limits:
            return None
        try:
            decision = await self.store.hit_request_limits(key_id, limits)
        except QuotaBackendUnavailable:
            self._store_failed("request limits")
            return None
        if not decision.allowed:
            raise headers.requests_refused(decision)
        return decision

    async def count_failed_authentication(self, address: str) -> None:
        """Count a failed authentication from `address`; raise 429 once it has failed too
        often. Only failures are counted, so a valid key is never held back; an unreachable
        store lets the failure be answered as it is."""
        if not self.enabled or not self._failed_auth_limits:
            return
        try:
            decision = await self.store.hit_request_limits(
                f"authfail:{address}", self._failed_auth_limits
            )
        except QuotaBackendUnavailable:
            self._store_failed("failed authentications", may_refuse=False)
            return
        if not decision.allowed:
            raise headers.failed_authentications_refused(decision)

    async def admit(
        self,
        key_id: str,
        prompt_estimate: int,
        max_tokens: int | None,
        choices: int = 1,
        *,
        price: Price | None = None,
        model: str = "",
    ) -> Admission:
        """Decide the output limit, take a concurrency slot, reserve tokens and USD; raise 429
        (or 503) when refused. `choices` is how many answers were asked for (`n`); `max_tokens`
        0 asks for no output (embeddings: the reservation is the prompt alone); `price` is the
        dearest price the request may be charged at, None when `model` has none."""
        policy = self.policy(key_id)
        budgeted = self.enabled and bool(policy.tokens or policy.usd)
        limit = max_tokens
        if limit is None and budgeted:
            limit = policy.default_max_tokens
        cap = limit * choices if limit is not None else None
        admission = Admission(key_id, output_limit=limit, output_cap=cap)
        if not self.enabled:
            return admission
        if policy.usd and price is None:
            raise headers.unpriced_refused(model)
        try:
            try:
                if policy.concurrent_streams:
                    await self._take_slot(admission, policy.concurrent_streams)
                if cap is not None and policy.tokens:
                    await self._reserve(admission, policy.tokens, prompt_estimate + cap)
                if cap is not None and policy.usd and price is not None:
                    worst = to_micros(price.cost(prompt_estimate, cap))
                    await self._reserve_usd(admission, policy.usd, worst)
            except QuotaBackendUnavailable:
                self._store_failed("admission")
        except BaseException:
            await self.finish(admission, None)
            raise
        return admission

    async def _take_slot(self, admission: Admission, cap: int) -> None:
        lease_id = self._ids.hex(8)
        granted, _ = await self.store.acquire_lease(
            admission.key_id, cap, lease_id, self.leases.lease_seconds
        )
        if not granted:
            raise headers.streams_refused(cap)
        admission.lease_id = lease_id
        self.leases.track(admission.key_id, lease_id)

    async def _reserve(self, admission: Admission, limits: tuple[WindowLimit, ...], n: int) -> None:
        decision = await self.store.reserve_tokens(admission.key_id, limits, n)
        if not decision.allowed:
            raise headers.tokens_refused(decision, n)
        admission.reserved = n
        admission.token_limits = limits
        admission.windows = decision.windows
        state = headers.tightest(decision.states)
        if state is not None:
            admission.headers.update(headers.token_limit_headers(state))

    async def _reserve_usd(
        self, admission: Admission, limits: tuple[WindowLimit, ...], micros: int
    ) -> None:
        decision = await self.store.reserve_tokens(usd_subject(admission.key_id), limits, micros)
        if not decision.allowed:
            raise headers.usd_refused(decision, micros)
        admission.usd_reserved = micros
        admission.usd_limits = limits
        admission.usd_windows = decision.windows

    async def finish(
        self, admission: Admission, record: UsageRecord | None, cost_micros: int | None = None
    ) -> None:
        """Settle the reservations with the real usage and cost (`cost_micros`; None:
        unknown), free the slot, count the usage."""
        if admission.finished:
            return
        admission.finished = True
        used = record.prompt_tokens + record.completion_tokens if record else 0
        try:
            if admission.lease_id is not None:
                self.leases.forget(admission.key_id, admission.lease_id)
                await self.store.release_lease(admission.key_id, admission.lease_id)
            if admission.reserved:
                await self.store.settle_tokens(
                    admission.key_id,
                    admission.token_limits,
                    admission.windows,
                    used - admission.reserved,
                    overdraft=admission.reserved,
                )
            if admission.usd_reserved:
                await self._settle_usd(admission, record, cost_micros)
            if record is not None and self.enabled:
                await self.store.record_usage(admission.key_id, record, self.usage_periods)
        except QuotaBackendUnavailable:
            self._store_failed("settlement", may_refuse=False)

    async def _settle_usd(
        self, admission: Admission, record: UsageRecord | None, cost_micros: int | None
    ) -> None:
        """Nothing answered costs nothing; an answer of unknown cost keeps its worst case."""
        reserved = admission.usd_reserved
        charged = 0 if record is None else reserved if cost_micros is None else cost_micros
        await self.store.settle_tokens(
            usd_subject(admission.key_id),
            admission.usd_limits,
            admission.usd_windows,
            charged - reserved,
            overdraft=reserved,
        )

    async def usage(self, key_id: str) -> UsageReport:
        """The key's usage report; 503 when the store cannot be reached."""
        try:
            return await self.store.read_usage(key_id, self.usage_periods)
        except QuotaBackendUnavailable:
            self._store_failed("usage report", may_refuse=False)
            raise ServiceUnavailable(
                "Usage is unavailable: the quota store cannot be reached.",
                code="quota_store_unavailable",
                headers={"Retry-After": "5"},
            ) from None

    def _store_failed(self, what: str, *, may_refuse: bool = True) -> None:
        self.store_failures += 1
        if self._on_store_failure is not None:
            self._on_store_failure()
        if may_refuse and not self.fail_open:
            raise ServiceUnavailable(
                "The quota store cannot be reached; requests are refused until it returns.",
                code="quota_store_unavailable",
                headers={"Retry-After": "5"},
            )
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            logger.error(
                "QUOTA STORE UNREACHABLE: serving without quotas (fail open) during %s; "
                "%d failures so far",
                what,
                self.store_failures,
            )


def usd_subject(key_id: str) -> str:
    """Where a key's USD budgets are counted in the store, apart from its token budgets."""
    return f"usd:{key_id}"
