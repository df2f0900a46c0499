"""Password hashing (Argon2id via pwdlib), off the event loop and bounded in concurrency.

Parameters follow OWASP's Argon2id recommendation (19 MiB, 2 iterations, 1 lane): argon2-cffi's defaults
(64 MiB, 4 lanes) cost about a second of CPU per login on a 2-core pod, which is a denial-of-service lever.
A hash still costs tens of milliseconds: computed inline it would stall every other request, computed without
a bound a burst of logins would exhaust memory. Hashes record their parameters, so changing them later only
affects new hashes. A login for an unknown email still verifies against a
dummy hash, so response time does not reveal which emails exist.
"""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_ITERATIONS = 2
ARGON2_LANES = 1


class PasswordHasher:
    def __init__(self, *, concurrency: int) -> None:
        argon2 = Argon2Hasher(time_cost=ARGON2_ITERATIONS, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES)
        self._hasher = PasswordHash((argon2,))
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """True when ``password`` matches; with no stored hash, spends the same time and returns False."""
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash("not-a-real-password-just-equal-timing")
            await self._verify(password, self._dummy_hash)
            return False
        return await self._verify(password, password_hash)

    async def _verify(self, password: str, password_hash: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.verify, password, password_hash)
