"""The KV cache as vLLM's block manager sees it: fixed-size blocks, reference counts, and automatic prefix caching.

A sequence holds one block per ``block_size`` tokens. A block that fills up gets a hash chained from its
predecessor's, so equal hashes mean equal token prefixes. When a sequence finishes, its blocks go back to the
free queue *with* their hashes: they are still a cache, evicted least-recently-freed first only when a new block
is needed. A request whose prompt starts with cached blocks reuses them and skips their prefill - which is why
session affinity (same replica for every turn of a conversation) shows up as cache hits and a lower TTFT.

Usage, as vLLM reports it in ``vllm:kv_cache_usage_perc``, is the share of blocks not in the free queue.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

BlockHash = bytes

_ROOT = b"enginesim-root"


def chain_block_hashes(
    tokens: Sequence[str], block_size: int, *, parent: BlockHash | None = None, start: int = 0
) -> list[BlockHash]:
    """Hashes of the full blocks of ``tokens`` from token index ``start`` (a block boundary) onwards.

    Each hash covers its block's tokens and the previous block's hash (``parent``), like vLLM's
    ``hash_block_tokens``: a block matches only if everything before it matches too.
    """
    if start % block_size:
        raise ValueError(f"start ({start}) must be a multiple of the block size ({block_size})")
    hashes: list[BlockHash] = []
    previous = parent or _ROOT
    for begin in range(start, len(tokens) - block_size + 1, block_size):
        digest = hashlib.sha256(previous)
        digest.update("\x1f".join(tokens[begin : begin + block_size]).encode())
        previous = digest.digest()
        hashes.append(previous)
    return hashes


@dataclass(frozen=True)
class Allocation:
    """Blocks granted to a sequence: the first ``cached_blocks`` came from the prefix cache."""

    blocks: list[int]
    cached_blocks: int


class BlockPool:
    """Fixed pool of KV blocks with reference counts and a hash index of cached (full) blocks."""

    def __init__(self, num_blocks: int, *, enable_caching: bool = True) -> None:
        if num_blocks < 1:
            raise ValueError(f"num_blocks must be >= 1, got {num_blocks}")
        self.num_blocks = num_blocks
        self.enable_caching = enable_caching
        self._refs = [0] * num_blocks
        self._hash_of: list[BlockHash | None] = [None] * num_blocks
        self._by_hash: dict[BlockHash, int] = {}
        #: Blocks nobody references, oldest-freed first; the head is evicted first.
        self._free: OrderedDict[int, None] = OrderedDict.fromkeys(range(num_blocks))

    @property
    def num_free(self) -> int:
        return len(self._free)

    @property
    def usage(self) -> float:
        """Share of blocks referenced by a running sequence (0 to 1), vLLM's ``kv_cache_usage_perc``."""
        return 1.0 - len(self._free) / self.num_blocks

    @property
    def num_cached(self) -> int:
        """Blocks whose content is indexed by hash (referenced or not)."""
        return len(self._by_hash)

    def cached_prefix(self, hashes: Sequence[BlockHash]) -> list[int]:
        """Block ids holding the longest prefix of ``hashes`` that is in the cache."""
        if not self.enable_caching:
            return []
        found: list[int] = []
        for block_hash in hashes:
            block = self._by_hash.get(block_hash)
            if block is None:
                break
            found.append(block)
        return found

    def allocate_for(self, hashes: Sequence[BlockHash], total_blocks: int) -> Allocation | None:
        """Give a sequence ``total_blocks`` blocks, reusing cached ones for the leading ``hashes``.

        Returns None, changing nothing, when the pool cannot supply the uncached remainder.
        """
        hits = self.cached_prefix(hashes)[:total_blocks]
        needed = total_blocks - len(hits)
        hits_in_free_queue = sum(1 for block in hits if block in self._free)
        if needed > len(self._free) - hits_in_free_queue:
            return None
        for block in hits:
            self._refs[block] += 1
            self._free.pop(block, None)
        fresh = self._take(needed)
        return Allocation(blocks=hits + fresh, cached_blocks=len(hits))

    def allocate(self, count: int) -> list[int] | None:
        """``count`` fresh blocks (evicting cached content if needed), or None when the pool is exhausted."""
        if count > len(self._free):
            return None
        return self._take(count)

    def commit(self, block: int, block_hash: BlockHash) -> None:
        """Index a block that just filled up, so later prompts with the same prefix can reuse it."""
        if not self.enable_caching or block_hash in self._by_hash:
            return
        self._hash_of[block] = block_hash
        self._by_hash[block_hash] = block

    def release(self, blocks: Sequence[int]) -> None:
        """Drop a sequence's references; unreferenced blocks join the free queue, tail block first.

        Freeing in reverse puts a sequence's last blocks nearer the head of the queue, so eviction eats a
        conversation from its end and the shared beginning (system prompt) survives longest, as in vLLM.
        """
        for block in reversed(blocks):
            self._refs[block] -= 1
            if self._refs[block] < 0:
                raise RuntimeError(f"block {block} released more often than it was taken")
            if self._refs[block] == 0:
                self._free[block] = None

    def _take(self, count: int) -> list[int]:
        taken: list[int] = []
        for _ in range(count):
            block, _ = self._free.popitem(last=False)
            evicted = self._hash_of[block]
            if evicted is not None:
                del self._by_hash[evicted]
                self._hash_of[block] = None
            self._refs[block] = 1
            taken.append(block)
        return taken
