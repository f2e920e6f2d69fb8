"""Keeps this replica's concurrency leases alive while their streams run.

One loop renews every live lease in one batch every third of the lease time, so a stream of
any length keeps its slot, while a replica that dies stops renewing and its slots expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from quart_llm.quotas.stores.base import QuotaBackendUnavailable, QuotaStore

logger = logging.getLogger("quart_llm.quotas")


class LeaseKeeper:
    """Renews this replica's live leases in one batch, every third of their time."""

    def __init__(self, store: QuotaStore, lease_seconds: float) -> None:
        self._store = store
        self.lease_seconds = lease_seconds
        self._live: dict[str, set[str]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    def track(self, subject: str, lease_id: str) -> None:
        """Keep renewing this lease."""
        self._live[subject].add(lease_id)

    def forget(self, subject: str, lease_id: str) -> None:
        """Stop renewing this lease."""
        leases = self._live.get(subject)
        if leases is not None:
            leases.discard(lease_id)
            if not leases:
                del self._live[subject]

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._renew_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            if not self._live:
                continue
            snapshot = {subject: sorted(ids) for subject, ids in self._live.items()}
            try:
                await self._store.renew_leases(snapshot, self.lease_seconds)
            except QuotaBackendUnavailable:
                logger.warning("could not renew %d concurrency leases", len(snapshot))
