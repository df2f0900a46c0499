"""Redis clients for the services: a bounded pool that waits for a free connection instead of failing.

redis-py's default pool raises "Too many connections" the moment a burst exceeds it; a blocking pool queues
the request for up to ``pool_timeout`` instead. Socket timeouts keep a hung Redis from hanging requests: it
becomes a 503 like any other unavailable dependency.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def redis_client(
    url: str, *, max_connections: int = 100, pool_timeout: float = 2.0, socket_timeout: float = 2.0
) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_connect_timeout=socket_timeout,
        socket_timeout=socket_timeout,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)
