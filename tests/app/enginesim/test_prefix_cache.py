"""The block pool: reference counts, prefix hits, LRU eviction and the usage gauge."""

from __future__ import annotations

import pytest

from app.enginesim.prefix_cache import BlockPool, chain_block_hashes


def _tokens(n: int, prefix: str = "t") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_hashes_cover_full_blocks_and_chain() -> None:
    tokens = _tokens(40)
    hashes = chain_block_hashes(tokens, 16)
    assert len(hashes) == 2
    assert chain_block_hashes(tokens[16:32], 16, parent=hashes[0]) == [hashes[1]]
    other = chain_block_hashes(["x", *tokens[1:]], 16)
    assert other[0] != hashes[0]
    assert other[1] != hashes[1], "a block matches only if everything before it matches"
    with pytest.raises(ValueError, match="multiple of the block size"):
        chain_block_hashes(tokens, 16, start=3)


def test_released_blocks_stay_cached_and_are_reused() -> None:
    pool = BlockPool(8)
    hashes = chain_block_hashes(_tokens(48), 16)
    first = pool.allocate_for(hashes, 4)
    assert first is not None
    assert first.cached_blocks == 0
    for block, block_hash in zip(first.blocks, hashes, strict=False):
        pool.commit(block, block_hash)
    assert pool.usage == pytest.approx(4 / 8)
    pool.release(first.blocks)
    assert pool.usage == 0.0
    assert pool.num_cached == 3

    again = pool.allocate_for(hashes, 4)
    assert again is not None
    assert again.cached_blocks == 3
    assert again.blocks[:3] == first.blocks[:3]


def test_concurrent_sequences_share_cached_blocks() -> None:
    pool = BlockPool(8)
    hashes = chain_block_hashes(_tokens(32), 16)
    first = pool.allocate_for(hashes, 3)
    assert first is not None
    for block, block_hash in zip(first.blocks, hashes, strict=False):
        pool.commit(block, block_hash)
    second = pool.allocate_for(hashes, 3)
    assert second is not None
    assert second.cached_blocks == 2
    assert pool.num_free == 8 - 4, "two shared blocks plus one private block each"
    pool.release(first.blocks)
    assert pool.num_free == 8 - 3, "shared blocks stay referenced by the second sequence"


def test_eviction_takes_least_recently_freed_and_tail_blocks_first() -> None:
    pool = BlockPool(4)
    old = chain_block_hashes(_tokens(32, "old"), 16)
    new = chain_block_hashes(_tokens(32, "new"), 16)
    for hashes in (old, new):
        allocation = pool.allocate_for(hashes, 2)
        assert allocation is not None
        for block, block_hash in zip(allocation.blocks, hashes, strict=True):
            pool.commit(block, block_hash)
        pool.release(allocation.blocks)
    assert pool.num_cached == 4
    assert pool.allocate(1) is not None
    assert len(pool.cached_prefix(old)) == 1, "the old conversation lost its last block first"
    assert len(pool.cached_prefix(new)) == 2


def test_allocation_fails_without_side_effects_when_full() -> None:
    pool = BlockPool(2)
    assert pool.allocate_for([], 2) is not None
    assert pool.allocate_for([], 1) is None
    assert pool.allocate(1) is None
    assert pool.usage == 1.0


def test_disabled_caching_never_hits() -> None:
    pool = BlockPool(4, enable_caching=False)
    hashes = chain_block_hashes(_tokens(32), 16)
    allocation = pool.allocate_for(hashes, 2)
    assert allocation is not None
    pool.commit(allocation.blocks[0], hashes[0])
    pool.release(allocation.blocks)
    assert pool.cached_prefix(hashes) == []


def test_double_release_is_a_bug() -> None:
    pool = BlockPool(2)
    blocks = pool.allocate(1)
    assert blocks is not None
    pool.release(blocks)
    with pytest.raises(RuntimeError, match="released more often"):
        pool.release(blocks)
