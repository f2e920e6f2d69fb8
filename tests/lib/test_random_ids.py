from __future__ import annotations

import re

from quart_llm.lib.random_ids import BLOCK_BYTES, RandomIds


def test_ids_are_hex_of_the_asked_length_and_never_repeat_across_blocks() -> None:
    ids = RandomIds()
    made = [ids.hex(12) for _ in range(3 * BLOCK_BYTES // 12)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", value) for value in made)
    assert len(set(made)) == len(made)


def test_two_sources_do_not_share_bytes() -> None:
    assert RandomIds().hex(16) != RandomIds().hex(16)


def test_more_than_a_block_at_once() -> None:
    assert len(RandomIds().hex(BLOCK_BYTES + 1)) == 2 * (BLOCK_BYTES + 1)
