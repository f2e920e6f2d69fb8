"""`RedisQuotaStore`: quota state shared by every replica, one atomic Lua script per operation.

Keys (every one expires, except the usage total):
    {prefix}:gcra:{subject}:{count}:{period}            TAT in us, PXAT the TAT
    {prefix}:tok:{subject}:{count}:{period}:{window}    tokens used, until the window end + 1 period
    {prefix}:lease:{subject}                            zset lease id → expiry ms, until the last
    {prefix}:usage:{subject}:{period}:{window}          hash, until the window end + 1 period
    {prefix}:usage:{subject}:total                      hash, kept
(a key's USD budgets are token windows of micro-dollars, under the subject `usd:{key id}`)

Connections come from a bounded, blocking pool. A call is retried once, on a fresh connection,
only when the connection itself failed (a pooled connection left over from before a Redis
restart fails like that, before Redis ever saw the command); a call that timed out is never
retried, since its script may have run and a retry could count a request twice. So the calls
after Redis returns succeed without any restart; while it is down every call fails fast with
`QuotaBackendUnavailable`, bounded by the connect and socket timeouts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from quart_llm.quotas.stores import limit_math
from quart_llm.quotas.stores import redis_scripts as lua
from quart_llm.quotas.stores.base import Decision, QuotaBackendUnavailable, QuotaStore, WindowLimit
from quart_llm.quotas.stores.usage_counts import (
    UsageCounters,
    UsageRecord,
    UsageReport,
    WindowUsage,
)

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # also BusyLoadingError, MaxConnectionsError, auth failures
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a replica that has not been promoted yet
    redis_errors.OutOfMemoryError,
    redis_errors.ClusterDownError,  # also MasterDownError
    redis_errors.TryAgainError,
    OSError,  # also the built-in TimeoutError
)
_COUNTERS = ("requests", "prompt_tokens", "completion_tokens", "estimated_requests")


@contextmanager
def backend_errors() -> Iterator[None]:
    """Turn every "Redis is unreachable or not serving" error into `QuotaBackendUnavailable`."""
    try:
        yield
    except UNAVAILABLE_ERRORS as exc:
        raise QuotaBackendUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc


def _usage_fields(record: UsageRecord) -> dict[str, int]:
    """The hash fields one answered request adds to (zero increments left out)."""
    counts = {
        "requests": 1,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "estimated_requests": int(record.estimated),
    }
    model = f"m:{record.provider}/{record.model}"
    fields = {name: value for name, value in counts.items() if value}
    fields.update({f"{model}:{name}": value for name, value in counts.items() if value})
    return fields


def parse_usage(flat: Sequence[bytes]) -> UsageCounters:
    """Counters from HGETALL's flat reply; a model field is split on its LAST `:`."""
    counters = UsageCounters()
    for raw_name, raw_value in zip(flat[::2], flat[1::2], strict=True):
        name = raw_name.decode()
        target = counters
        if name.startswith("m:"):
            model, _, name = name[2:].rpartition(":")
            target = counters.by_model.setdefault(model, UsageCounters())
        if name in _COUNTERS:
            setattr(target, name, getattr(target, name) + int(raw_value))
    return counters


class RedisQuotaStore(QuotaStore):
    """Quota state in Redis, shared by every replica."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "quart_llm",
        socket_timeout: float = 1.0,
        connect_timeout: float = 1.0,
        max_connections: int = 50,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._socket_timeout = socket_timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._client: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    async def start(self) -> None:
        """Create the client; no connection is made yet, so a Redis that is down is no error."""
        if self._client is not None:
            return
        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=self._max_connections,
            timeout=self._connect_timeout + self._socket_timeout,
            socket_timeout=self._socket_timeout,
            socket_connect_timeout=self._connect_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis_errors.ConnectionError,)),
        )
        client = Redis.from_pool(pool)
        self._scripts = {
            "gcra": client.register_script(lua.GCRA),
            "reserve": client.register_script(lua.RESERVE_TOKENS),
            "settle": client.register_script(lua.SETTLE_TOKENS),
            "acquire": client.register_script(lua.ACQUIRE_LEASE),
            "renew": client.register_script(lua.RENEW_LEASES),
            "record": client.register_script(lua.RECORD_USAGE),
            "read": client.register_script(lua.READ_USAGE),
        }
        self._client = client

    kind = "redis"

    async def reachable(self) -> bool:
        """Whether Redis answers a PING within the socket timeout."""
        if self._client is None:
            return False
        try:
            return bool(await self._client.ping())
        except (redis_errors.RedisError, OSError):
            return False

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    @property
    def client(self) -> Redis:
        """The Redis client (after `start()`)."""
        if self._client is None:
            raise RuntimeError("RedisQuotaStore.start() has not been called")
        return self._client

    async def _run(self, script: str, keys: Sequence[str], args: Sequence[int | str]) -> Any:
        if self._client is None:
            raise RuntimeError("RedisQuotaStore.start() has not been called")
        with backend_errors():
            return await self._scripts[script](keys=keys, args=args)

    def _key(self, kind: str, subject: str, *parts: int | str) -> str:
        return ":".join([self.prefix, kind, subject, *map(str, parts)])

    async def hit_request_limits(self, subject: str, limits: Sequence[WindowLimit]) -> Decision:
        limit_math.check_limits(limits)
        if not limits:
            return Decision(True, ())
        keys = [self._key("gcra", subject, lim.count, lim.period_seconds) for lim in limits]
        args = [n for lim in limits for n in (limit_math.emission_interval_us(lim), lim.count)]
        allowed, refused, retry_us, *resets = await self._run("gcra", keys, args)
        states = tuple(
            limit_math.request_state(limit, int(reset))
            for limit, reset in zip(limits, resets, strict=True)
        )
        refused_by = limits[refused - 1] if refused else None
        return Decision(bool(allowed), states, refused_by, int(retry_us) / limit_math.MICROS)

    async def reserve_tokens(
        self, subject: str, limits: Sequence[WindowLimit], amount: int
    ) -> Decision:
        limit_math.check_limits(limits)
        if amount < 0:
            raise ValueError("a reservation cannot be negative")
        if not limits:
            return Decision(True, ())
        keys = [self._key("tok", subject, lim.count, lim.period_seconds) for lim in limits]
        args = [amount, *(n for lim in limits for n in (lim.count, lim.period_seconds))]
        allowed, refused, retry_us, now_us, *pairs = await self._run("reserve", keys, args)
        windows = tuple(int(window) for window in pairs[::2])
        now = int(now_us) / limit_math.MICROS
        states = tuple(
            limit_math.token_state(limit, window, int(used), now)
            for limit, window, used in zip(limits, windows, pairs[1::2], strict=True)
        )
        if not allowed:
            return Decision(False, states, limits[refused - 1], int(retry_us) / limit_math.MICROS)
        return Decision(True, states, windows=windows)

    async def _settle_windows(
        self, subject: str, reserved: Sequence[tuple[WindowLimit, int]], delta: int, overdraft: int
    ) -> None:
        keys = [
            self._key("tok", subject, limit.count, limit.period_seconds, window)
            for limit, window in reserved
        ]
        ends_and_counts = [
            n for lim, w in reserved for n in ((w + 1) * lim.period_seconds, lim.count)
        ]
        await self._run("settle", keys, [delta, overdraft, *ends_and_counts])

    async def acquire_lease(
        self, subject: str, cap: int, lease_id: str, ttl_seconds: float
    ) -> tuple[bool, int]:
        key = self._key("lease", subject)
        granted, in_use = await self._run("acquire", [key], [cap, lease_id, _ms(ttl_seconds)])
        return bool(granted), int(in_use)

    async def renew_leases(self, leases: Mapping[str, Sequence[str]], ttl_seconds: float) -> None:
        live = {subject: ids for subject, ids in leases.items() if ids}
        if not live:
            return
        keys = [self._key("lease", subject) for subject in live]
        args: list[int | str] = [_ms(ttl_seconds)]
        for ids in live.values():
            args += [len(ids), *ids]
        await self._run("renew", keys, args)

    async def release_lease(self, subject: str, lease_id: str) -> None:
        with backend_errors():
            await self.client.zrem(self._key("lease", subject), lease_id)

    def _usage_keys(self, subject: str, periods: Sequence[int]) -> list[str]:
        if any(period < 1 for period in periods):
            raise ValueError("a usage period is at least 1 s")
        total = self._key("usage", subject, "total")
        return [total, *(self._key("usage", subject, period) for period in periods)]

    async def record_usage(self, subject: str, record: UsageRecord, periods: Sequence[int]) -> None:
        fields = _usage_fields(record)
        args = [*periods, *(item for pair in fields.items() for item in pair)]
        await self._run("record", self._usage_keys(subject, periods), args)

    async def read_usage(self, subject: str, periods: Sequence[int]) -> UsageReport:
        total, *pairs = await self._run("read", self._usage_keys(subject, periods), periods)
        windows = tuple(
            WindowUsage(period, int(window) * period, parse_usage(fields))
            for period, window, fields in zip(periods, pairs[::2], pairs[1::2], strict=True)
        )
        return UsageReport(windows, parse_usage(total))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
