"""Quotas per API key: request limits, token budgets, concurrency caps and usage.

State lives in one `QuotaStore`: in this process (`MemoryQuotaStore`) or in Redis
(`RedisQuotaStore`, every operation one atomic Lua script, every key with an expiry), so any
number of replicas enforce the same limits exactly.
"""
