"""`HostileUpstream`: a loopback HTTP server that answers with whatever a test scripts, however
hostile: gzip bombs, redirects, error bodies that echo keys.

A chat request (a POST with a JSON `model`) gets the reply its model names in `replies`;
anything else (health probes, model lists) gets `probe`. `gzip_bomb` builds a small gzip body
that inflates to a GiB of zeros without ever holding that GiB.
"""

import functools
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from .exchange import Exchange
from .scenarios import MIB
from .server import SimulatorServer

GIB = 1024 * MIB
JSON = (("Content-Type", "application/json"),)
SSE = (("Content-Type", "text/event-stream"),)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = JSON
    body: bytes = b'{"data": []}'


class HostileUpstream(SimulatorServer):
    def __init__(self, replies: Mapping[str, Reply], probe: Reply | None = None) -> None:
        super().__init__()
        self.replies = dict(replies)
        self.probe = probe or Reply()

    async def handle(self, exchange: Exchange) -> None:
        request = exchange.request
        model = request.json.get("model") if isinstance(request.json, dict) else None
        reply = self.replies[model] if request.method == "POST" and model else self.probe
        await exchange.respond(reply.status, reply.body, reply.headers)


@functools.cache
def gzip_bomb(inflated_bytes: int = GIB, unit: bytes = b"\0") -> bytes:
    """A gzip member whose content is `unit` repeated to `inflated_bytes` (a multiple of
    1 MiB): one compressed MiB, flushed to a byte boundary with the dictionary reset, is
    valid wherever it stands, so it is repeated instead of compressing the whole."""
    segment = unit * (MIB // len(unit))
    if len(segment) != MIB or inflated_bytes % MIB:
        raise ValueError("the unit must divide 1 MiB, and the size be whole MiBs")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(segment) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = inflated_bytes // MIB
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(segment, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, inflated_bytes & 0xFFFFFFFF)
    return header + block * count + compressor.flush(zlib.Z_FINISH) + trailer
