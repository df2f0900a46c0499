"""Create or update one login role per service in the Helpline database, with least privilege.

This file is shipped verbatim in a ConfigMap and run by the data tier's role-provisioning Job in the app image
(which carries ``asyncpg``). It imports only the standard library at module level so the Pulumi program and the
tests can load it without a database driver.

It connects as the database's administrator (RDS master user, Cloud SQL built-in user, or the CloudNativePG
owner role: never a superuser, only CREATEROLE) and, idempotently:

- takes every privilege on the database and on schema ``public`` away from PUBLIC, so a role can do nothing it is
  not granted;
- creates each service role when missing (``CREATE ROLE`` defaults: no superuser, no CREATEDB, no CREATEROLE, no
  replication, no BYPASSRLS) and sets its password and connection limit;
- grants it CONNECT and CREATE on the database: CREATE because each service's migration creates its own schema
  (``CREATE SCHEMA IF NOT EXISTS``, which PostgreSQL checks against the database even when the schema exists).
  The schema is then owned by the service's role, and no other role gets USAGE on it: services cannot read each
  other's data;
- refuses to finish when a role carries an elevated attribute (someone granted it by hand).

Passwords never reach the server in clear: the script sends a SCRAM-SHA-256 verifier (RFC 5802/7677), so
statement logging on the server cannot leak them. They are read from files (a mounted Secret), never argv.

Environment: ``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER`` and ``PGSSLMODE`` (+ ``PGSSLROOTCERT``) as libpq
spells them; ``HELPLINE_ADMIN_PASSWORD_FILE``; ``HELPLINE_ROLE_PASSWORDS_DIR`` (one file per role, named after
it); ``HELPLINE_ROLE_CONNECTION_LIMIT``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

LOG = logging.getLogger("provision-roles")
SCRAM_ITERATIONS = 4096
SCRAM_SALT_BYTES = 16
#: Role and database names we create are plain lower-case identifiers; anything else is a configuration error.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: How long to wait for the database to accept connections (a fresh RDS or CloudNativePG cluster may still boot).
CONNECT_DEADLINE_SECONDS = 300
CONNECT_RETRY_SECONDS = 5
ELEVATED_ATTRIBUTES = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls")


class Connection(Protocol):
    """The part of ``asyncpg.Connection`` this script uses (tests drive it with a real one)."""

    async def execute(self, query: str, *args: Any) -> str: ...
    async def fetchrow(self, query: str, *args: Any) -> Any: ...


@dataclass(frozen=True)
class RoleGrant:
    """One service role: its name, its password, and how many connections it may hold."""

    name: str
    password: str
    connection_limit: int


def quote_identifier(name: str) -> str:
    """``auth`` -> ``"auth"``; refuses anything that is not a plain identifier rather than escaping it."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
    return f'"{name}"'


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(StoredKey, ServerKey) of RFC 5802 for ``password``.

    SASLprep is the identity for the printable ASCII passwords we generate; others are refused.
    """
    if not password or not all(" " < char <= "~" for char in password):
        raise ValueError("passwords must be non-empty printable ASCII without spaces (SASLprep is not implemented)")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The string PostgreSQL stores for a SCRAM-SHA-256 password; accepted verbatim by ``ALTER ROLE ... PASSWORD``."""
    salt = salt if salt is not None else secrets.token_bytes(SCRAM_SALT_BYTES)
    stored_key, server_key = scram_keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def database_statements(database: str) -> list[str]:
    """Nothing is granted to PUBLIC: not the database (CONNECT, TEMPORARY), not schema ``public``."""
    db = quote_identifier(database)
    return [f"REVOKE ALL ON DATABASE {db} FROM PUBLIC", "REVOKE ALL ON SCHEMA public FROM PUBLIC"]


def role_statements(database: str, role: RoleGrant, *, exists: bool, salt: bytes | None = None) -> list[str]:
    """What makes ``role`` exist with its password and exactly CONNECT + CREATE on ``database``."""
    name, db = quote_identifier(role.name), quote_identifier(database)
    verifier = scram_verifier(role.password, salt)
    if role.connection_limit < -1:
        raise ValueError(f"connection limit of {role.name} must be -1 (none) or positive")
    statements = [] if exists else [f"CREATE ROLE {name} LOGIN"]
    statements += [
        f"ALTER ROLE {name} WITH LOGIN CONNECTION LIMIT {role.connection_limit} PASSWORD '{verifier}'",
        f"GRANT CONNECT, CREATE ON DATABASE {db} TO {name}",
    ]
    return statements


async def provision(connection: Connection, database: str, roles: Sequence[RoleGrant]) -> dict[str, Any]:
    """Apply every statement in one transaction: either all roles are right afterwards, or nothing changed."""
    created: list[str] = []
    await connection.execute("BEGIN")
    try:
        for statement in database_statements(database):
            await connection.execute(statement)
        for role in roles:
            exists = await connection.fetchrow("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", role.name)
            for statement in role_statements(database, role, exists=exists is not None):
                await connection.execute(statement)
            if exists is None:
                created.append(role.name)
            await _refuse_elevated(connection, role.name)
        await connection.execute("COMMIT")
    except BaseException:
        await connection.execute("ROLLBACK")
        raise
    return {"database": database, "roles": [role.name for role in roles], "created": created}


async def _refuse_elevated(connection: Connection, role: str) -> None:
    row = await connection.fetchrow(
        f"SELECT {', '.join(ELEVATED_ATTRIBUTES)} FROM pg_catalog.pg_roles WHERE rolname = $1",  # noqa: S608  (constant columns)
        role,
    )
    elevated = [attribute for attribute in ELEVATED_ATTRIBUTES if row[attribute]]
    if elevated:
        raise RuntimeError(f"role {role} carries {', '.join(elevated)}; remove them by hand, services never need them")


def read_roles(directory: Path, connection_limit: int) -> list[RoleGrant]:
    """One role per file in ``directory`` (a mounted Secret: file name = role, content = password)."""
    files = sorted(path for path in directory.iterdir() if path.is_file() and not path.name.startswith("."))
    if not files:
        raise ValueError(f"no role password files in {directory}")
    return [RoleGrant(path.name, path.read_text().strip(), connection_limit) for path in files]


async def connect_with_retry(
    connect: Any, retry_on: tuple[type[BaseException], ...], deadline_seconds: float, **kwargs: Any
) -> Any:
    """Connect, retrying ``retry_on`` errors until the deadline.

    A fresh database refuses connections, is still starting up, or (CloudNativePG) has not reconciled the
    administrator's password yet: all of these pass within minutes, so the Job waits instead of failing.
    """
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            return await connect(**kwargs)
        except retry_on as exc:
            if time.monotonic() >= deadline:
                raise
            LOG.warning("database not reachable yet (%s); retrying in %ss", exc, CONNECT_RETRY_SECONDS)
            await asyncio.sleep(CONNECT_RETRY_SECONDS)


@dataclass(frozen=True)
class Request:
    """What one run provisions, read from the environment and the mounted Secrets before any I/O on the network."""

    database: str
    admin_password: str
    roles: tuple[RoleGrant, ...]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Request:
        limit = int(environ.get("HELPLINE_ROLE_CONNECTION_LIMIT", "-1"))
        return cls(
            database=environ["PGDATABASE"],
            admin_password=Path(environ["HELPLINE_ADMIN_PASSWORD_FILE"]).read_text().strip(),
            roles=tuple(read_roles(Path(environ["HELPLINE_ROLE_PASSWORDS_DIR"]), limit)),
        )


async def run(request: Request) -> dict[str, Any]:
    import asyncpg  # noqa: PLC0415  (only in the app image; the module stays importable without it)

    # asyncpg reads PGHOST, PGPORT, PGUSER, PGSSLMODE and PGSSLROOTCERT itself, as libpq does.
    transient = (OSError, asyncpg.CannotConnectNowError, asyncpg.InvalidPasswordError)
    connection = await connect_with_retry(
        asyncpg.connect,
        transient,
        CONNECT_DEADLINE_SECONDS,
        database=request.database,
        password=request.admin_password,
    )
    try:
        return await provision(connection, request.database, request.roles)
    finally:
        await connection.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format='{"level":"%(levelname)s","event":"%(message)s"}')
    result = asyncio.run(run(Request.from_environment(os.environ)))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
