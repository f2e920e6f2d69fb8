"""The quota store for a deployment: Redis when `redis_url` is set, else this process.

redis-py is imported only when Redis is configured: it is half a second of start-up.
"""

from __future__ import annotations

from quart_llm.quotas.stores.base import QuotaStore
from quart_llm.quotas.stores.memory_store import MemoryQuotaStore


def build_quota_store(redis_url: str, prefix: str) -> QuotaStore:
    """Redis when `redis_url` is set, else a store in this process."""
    if redis_url:
        from quart_llm.quotas.stores.redis_store import RedisQuotaStore

        return RedisQuotaStore(redis_url, prefix=prefix)
    return MemoryQuotaStore()
