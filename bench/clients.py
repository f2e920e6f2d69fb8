"""The upstream clients a bare passthrough can use, and what each needs installed."""

from __future__ import annotations

CLIENTS = ("httpx", "httpx-aiohttp", "aiohttp")
EXTRA_MODULES = {"httpx-aiohttp": "httpx_aiohttp", "aiohttp": "aiohttp"}
"""Client → module it needs beyond the project's dependencies (None needed for httpx)."""
