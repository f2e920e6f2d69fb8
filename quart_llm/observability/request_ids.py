"""Request ids: the client's `X-Request-ID` when it is sane, a fresh one otherwise."""

from __future__ import annotations

import re
from contextvars import ContextVar

from quart_llm.lib.random_ids import RandomIds

REQUEST_ID_HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def choose_request_id(offered: str | None, ids: RandomIds) -> str:
    """The client's id when it is sane, else a new one."""
    if offered is not None and _SANE.fullmatch(offered):
        return offered
    return "req_" + ids.hex(12)


current_request_id: ContextVar[str | None] = ContextVar("quart_llm_request_id", default=None)
"""The id of the request being served; tasks started for it inherit the value."""
