"""Connection URLs as the services read them (``HELPLINE_DATABASE_URL``, ``HELPLINE_REDIS_URL``): pure functions.

Postgres goes through SQLAlchemy's asyncpg dialect, which hands URL query parameters to ``asyncpg.connect``:
``ssl=<libpq sslmode>`` selects TLS, and for ``verify-ca``/``verify-full`` asyncpg reads the CA from
``PGSSLROOTCERT`` (a path; the URL cannot carry it). Redis goes through redis-py's ``from_url``: ``rediss://``
selects TLS, and unknown query parameters (``ssl_ca_certs``) become connection arguments.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote, urlencode

SslMode = Literal["disable", "require", "verify-ca", "verify-full"]
#: The environment variable asyncpg (like libpq) reads the trusted CA bundle from.
POSTGRES_CA_ENV = "PGSSLROOTCERT"


def postgres_url(*, user: str, password: str, host: str, port: int, database: str, ssl_mode: SslMode) -> str:
    """``postgresql+asyncpg://user:pass@host:port/db?ssl=require``; user and password are percent-encoded."""
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"postgresql+asyncpg://{credentials}@{host}:{port}/{quote(database, safe='')}?{urlencode({'ssl': ssl_mode})}"


def redis_url(*, password: str, host: str, port: int, tls: bool, ca_file: str | None = None, db: int = 0) -> str:
    """``redis://:pass@host:port/0``, or ``rediss://`` with the server's CA when it is not a public one.

    With a private per-instance CA (Memorystore) the chain check alone authenticates the server, and the
    certificate does not name the address clients connect to, so the host name check is off in that case only.
    """
    if ca_file is not None and not tls:
        raise ValueError("a CA file only makes sense with TLS")
    scheme = "rediss" if tls else "redis"
    query = f"?{urlencode({'ssl_ca_certs': ca_file, 'ssl_check_hostname': 'false'})}" if ca_file else ""
    return f"{scheme}://:{quote(password, safe='')}@{host}:{port}/{db}{query}"
