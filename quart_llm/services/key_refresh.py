"""`KeyRefresher`: keeps the `KeyRegistry`'s snapshot of the database's keys current.

A change must be in force on every replica within a second. Without Redis, each replica polls
`api_keys` for rows updated since the newest it has seen (less an overlap of a few seconds,
so a transaction that committed late, or a replica whose clock is a little behind, is not
missed; a larger clock skew is made good by the full reload) every `keys.poll_seconds`: one
indexed query. With Redis, the replica that changes a
key publishes its id on `{redis_key_prefix}:keys:changed` after the commit, and every replica
subscribed refreshes at once; it polls every `keys.safety_poll_seconds` besides, and at the
fast rate while its subscription is down. Every `keys.full_reload_seconds` the whole table
is read again.

A refresh that fails (the database unreachable) keeps the last snapshot: the keys keep
working as they were, the failure is counted (`quart_llm_key_refresh_failures`) and logged
(at most every 10 s), and the next poll tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from redis.asyncio import Redis

from quart_llm.config.accounting_models import KeysSettings
from quart_llm.services.key_registry import KeyRegistry
from quart_llm.store.api_keys import ApiKeyTable
from quart_llm.store.database import Database

logger = logging.getLogger("quart_llm.keys")
OVERLAP = timedelta(seconds=5)
_WARN_EVERY_SECONDS = 10.0
_RESUBSCRIBE_SECONDS = 1.0
_PUBLISH_SECONDS = 2.0
"""A Redis that hangs holds an admin request this long at most (the polls still come)."""


def changes_channel(prefix: str) -> str:
    """The pub/sub channel on which key changes are announced."""
    return f"{prefix}:keys:changed"


async def publish_change(redis_url: str, prefix: str, key_id: str) -> None:
    """Announce a key's change from outside a serving app (the `keys` command)."""
    client = Redis.from_url(redis_url, socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        await client.publish(changes_channel(prefix), key_id)
    finally:
        await client.aclose()


class KeyRefresher:
    """The background work that follows the database for one app's registry."""

    def __init__(
        self,
        registry: KeyRegistry,
        database: Database,
        settings: KeysSettings,
        redis_url: str = "",
        redis_prefix: str = "quart_llm",
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.registry = registry
        self.database = database
        self.settings = settings
        self.redis_url = redis_url
        self.channel = changes_channel(redis_prefix)
        self._on_failure = on_failure
        self.failures = 0
        self._last_warning = 0.0
        self._newest: datetime | None = None
        self._last_full = 0.0
        self._subscribed = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Redis | None = None

    @property
    def subscribed(self) -> bool:
        """Whether changes announced on Redis reach this replica now."""
        return self._subscribed

    @property
    def table(self) -> ApiKeyTable:
        return ApiKeyTable(self.database.engine)

    async def start(self) -> None:
        """Read every key (a failure here is counted and the registry starts with the keys of
        settings only), then follow changes in the background."""
        await self.refresh(full=True)
        if self.redis_url:
            self._redis = Redis.from_url(self.redis_url, socket_connect_timeout=2.0)
            self._tasks.append(asyncio.create_task(self._listen(), name="keys-listen"))
        self._tasks.append(asyncio.create_task(self._poll(), name="keys-poll"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def announce(self, key_id: str) -> None:
        """A key changed here: refresh this replica now and tell the others (a failed
        publication is logged; the others' polls pick the change up)."""
        await self.refresh()
        if self._redis is None:
            return
        try:
            await asyncio.wait_for(self._redis.publish(self.channel, key_id), _PUBLISH_SECONDS)
        except Exception as exc:
            logger.warning("key change not published: %s", type(exc).__name__)

    async def refresh(self, *, full: bool = False) -> bool:
        """Read what changed (everything when `full`); False when the database failed."""
        try:
            if full:
                keys = await self.table.changed_since(None)
                self.registry.replace_stored(keys)
                self._last_full = time.monotonic()
            else:
                since = None if self._newest is None else self._newest - OVERLAP
                keys = await self.table.changed_since(since)
                self.registry.update_stored(keys)
        except Exception as exc:
            self._failed(exc)
            return False
        newest = max((key.updated_at for key in keys), default=None)
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        return True

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        if self._on_failure is not None:
            self._on_failure()
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            logger.error(
                "KEYS NOT REFRESHED: the database failed (%s); serving the last snapshot; "
                "%d failures so far",
                type(exc).__name__,
                self.failures,
            )

    async def _poll(self) -> None:
        while True:
            interval = (
                self.settings.safety_poll_seconds
                if self._subscribed
                else self.settings.poll_seconds
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            full = time.monotonic() - self._last_full >= self.settings.full_reload_seconds
            await self.refresh(full=full)

    async def _listen(self) -> None:
        """Wake the poll at each announced change; resubscribe after a failure."""
        assert self._redis is not None
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed = True
                    self._wake.set()  # changes made while unsubscribed
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._subscribed:
                    logger.warning("key changes unsubscribed (%s): polling", type(exc).__name__)
            if self._subscribed:
                self._subscribed = False
                self._wake.set()  # the poll waiting at the slow rate takes up the fast one
            await asyncio.sleep(_RESUBSCRIBE_SECONDS)
