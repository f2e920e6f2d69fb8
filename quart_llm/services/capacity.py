"""How many chat requests this process carries at once, and the refusal past that.

Every chat request takes one place before anything else (quotas, the upstream) and gives it
back when it is settled, however it ends. Past `max_inflight` a request is answered 503
`overloaded` with `Retry-After` at once: the gateway's own limit, never a silent wait and
never blamed on an upstream. The limit is what keeps memory bounded under any load (a stream
costs about 55 KiB while idle, bench/): upstream connection pools are unbounded by default.
"""

from __future__ import annotations

from quart_llm.errors import Overloaded


class Capacity:
    """A count of requests in flight, and its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def take(self) -> None:
        """Take a place; Overloaded when none is left."""
        if self.in_flight >= self.limit:
            raise Overloaded(
                f"The gateway is at capacity ({self.limit} requests in flight); retry shortly.",
            )
        self.in_flight += 1

    def give_back(self) -> None:
        """Give a place back (once per `take`)."""
        self.in_flight -= 1
