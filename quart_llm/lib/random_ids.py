"""Random hex ids (request, completion and lease ids) from the OS's CSPRNG, read in blocks.

`secrets.token_hex` makes one getrandom() system call per id; on the benchmark machine that
was 3.5% of a whole answer (three ids each). One read of 4 KiB serves a few hundred ids with
the same randomness. Each app owns its own source, made after any fork, so no two processes
share a block.
"""

from __future__ import annotations

import os

BLOCK_BYTES = 4096


class RandomIds:
    """A source of random hex ids, read from the OS in blocks."""

    __slots__ = ("_block", "_offset")

    def __init__(self) -> None:
        self._block = b""
        self._offset = 0

    def hex(self, nbytes: int) -> str:
        """`nbytes` random bytes as lowercase hex (never reused)."""
        if nbytes > BLOCK_BYTES:
            return os.urandom(nbytes).hex()
        end = self._offset + nbytes
        if end > len(self._block):
            self._block = os.urandom(BLOCK_BYTES)
            self._offset, end = 0, nbytes
        piece = self._block[self._offset : end]
        self._offset = end
        return piece.hex()
