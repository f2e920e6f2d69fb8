"""The time limits of one request, fixed when it starts and handed down to whatever waits.

Set from the settings of the provider first chosen: `first_byte` and `idle` bound the waits of
a stream, `expires_at` (event-loop time) bounds the whole request, retries and fallbacks
included. A fallback to another provider waits as that provider allows, but never past the
request's expiry. Connecting is bounded by each provider's transport (`timeouts.connect`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from quart_llm.config.models import ProviderTimeouts


@dataclass(frozen=True, slots=True)
class Deadline:
    """The waits a request allows, and when it expires."""

    first_byte: float
    """Longest wait for the first token."""
    idle: float
    """Longest silence between two pieces of an answer, or wait for a reader to take one."""
    total: float
    """The request's whole allowance, in seconds (for messages)."""
    expires_at: float
    """When the allowance runs out, in event-loop time."""

    @classmethod
    def start(cls, timeouts: ProviderTimeouts) -> Deadline:
        """The limits of a request that starts now."""
        now = asyncio.get_running_loop().time()
        return cls(timeouts.first_byte, timeouts.idle, timeouts.total, now + timeouts.total)

    def for_provider(self, timeouts: ProviderTimeouts) -> Deadline:
        """Another provider's waits, within this request's expiry."""
        if (timeouts.first_byte, timeouts.idle) == (self.first_byte, self.idle):
            return self
        return Deadline(timeouts.first_byte, timeouts.idle, self.total, self.expires_at)

    def remaining(self) -> float:
        """Seconds left before the request expires (negative once it has)."""
        return self.expires_at - asyncio.get_running_loop().time()
