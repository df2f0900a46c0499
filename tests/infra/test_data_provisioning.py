"""The role-provisioning script against the real PostgreSQL on 127.0.0.1, as a non-superuser administrator.

The administrator here has exactly what RDS's master user, Cloud SQL's built-in user and the CloudNativePG owner
role have in common: LOGIN, CREATEROLE and ownership of the database; never SUPERUSER. The local server trusts
127.0.0.1, so a password check would prove nothing: instead the stored SCRAM verifier is checked against the
password, and the SCRAM arithmetic against the RFC 7677 example.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from infra.data.provision_roles import (
    Request,
    RoleGrant,
    provision,
    quote_identifier,
    read_roles,
    role_statements,
    run,
    scram_keys,
    scram_verifier,
)

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Sandbox:
    database: str
    admin: str
    suffix: str

    def role(self, service: str) -> str:
        return f"{service}_{self.suffix}"

    async def connect(self, user: str) -> asyncpg.Connection:
        return await asyncpg.connect(host="127.0.0.1", port=5432, user=user, database=self.database)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A database owned by a CREATEROLE (not superuser) administrator; roles and database dropped afterwards."""
    suffix = secrets.token_hex(4)
    box = Sandbox(database=f"helpline_provision_{suffix}", admin=f"admin_{suffix}", suffix=suffix)
    root = await asyncpg.connect(ADMIN_DSN)
    try:
        await root.execute(f'CREATE ROLE "{box.admin}" LOGIN CREATEROLE')
        await root.execute(f'CREATE DATABASE "{box.database}" OWNER "{box.admin}"')
        yield box
    finally:
        await root.execute(f'DROP DATABASE IF EXISTS "{box.database}" WITH (FORCE)')
        rows = await root.fetch("SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"%\\_{suffix}")
        for row in rows:
            await root.execute(f'DROP ROLE IF EXISTS "{row["rolname"]}"')
        await root.close()


async def run_provision(box: Sandbox, passwords: dict[str, str], limit: int = 20) -> dict[str, object]:
    admin = await box.connect(box.admin)
    try:
        grants = [RoleGrant(box.role(service), password, limit) for service, password in passwords.items()]
        return await provision(admin, box.database, grants)
    finally:
        await admin.close()


async def stored_verifier(role: str) -> str:
    root = await asyncpg.connect(ADMIN_DSN)
    try:
        return await root.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
    finally:
        await root.close()


def verifier_matches(verifier: str, password: str) -> bool:
    """Whether ``verifier`` (as PostgreSQL stores it) authenticates ``password``."""
    mechanism, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, server_key = keys.split(":")
    expected = scram_keys(password, base64.b64decode(salt), int(iterations))
    return mechanism == "SCRAM-SHA-256" and expected == (base64.b64decode(stored_key), base64.b64decode(server_key))


def test_scram_keys_reproduce_the_rfc_7677_example() -> None:
    """RFC 7677 section 3: user "user", password "pencil"; the proof and signature follow from our keys."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    stored_key, server_key = scram_keys("pencil", salt, 4096)
    auth_message = (
        b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    )
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert hashlib.sha256(client_key).digest() == stored_key
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, client_signature, strict=True))
    assert base64.b64encode(proof).decode() == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="


def test_the_password_never_appears_in_a_statement() -> None:
    password = "Secret123Password456Secret789Abc"
    statements = role_statements("helpline", RoleGrant("auth", password, 10), exists=False)
    assert statements[0] == 'CREATE ROLE "auth" LOGIN'
    assert all(password not in statement for statement in statements)
    assert "PASSWORD 'SCRAM-SHA-256$4096:" in statements[1]


@pytest.mark.parametrize("name", ['auth"; DROP ROLE admin; --', "Auth", "1auth", "", "a" * 64, "auth-x"])
def test_identifiers_are_refused_rather_than_escaped(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        quote_identifier(name)


def test_non_ascii_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        scram_verifier("pässwort-with-umlaut-000000000000")


def test_roles_are_read_from_a_mounted_secret(tmp_path: Path) -> None:
    (tmp_path / "auth").write_text("p1\n")
    (tmp_path / "chat").write_text("p2")
    (tmp_path / "..data").mkdir()  # kubelet's atomic-update directory
    assert read_roles(tmp_path, 5) == [RoleGrant("auth", "p1", 5), RoleGrant("chat", "p2", 5)]


async def test_each_service_gets_a_login_role_that_owns_only_its_schema(sandbox: Sandbox) -> None:
    passwords = {"auth": secrets.token_urlsafe(30), "sessions": secrets.token_urlsafe(30)}
    result = await run_provision(sandbox, passwords)
    assert result["created"] == [sandbox.role("auth"), sandbox.role("sessions")]

    for service, password in passwords.items():
        assert verifier_matches(await stored_verifier(sandbox.role(service)), password)

    auth_schema = sandbox.role("auth")
    auth = await sandbox.connect(sandbox.role("auth"))
    try:
        # what the service's migration does first, with the service's own role
        await auth.execute(f'CREATE SCHEMA IF NOT EXISTS "{auth_schema}"')
        await auth.execute(f'CREATE SCHEMA IF NOT EXISTS "{auth_schema}"')
        await auth.execute(f'CREATE TABLE "{auth_schema}".tenants (id int primary key)')
        await auth.execute(f'INSERT INTO "{auth_schema}".tenants VALUES (1)')
    finally:
        await auth.close()

    sessions = await sandbox.connect(sandbox.role("sessions"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await sessions.fetch(f'SELECT * FROM "{auth_schema}".tenants')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await sessions.execute("CREATE TABLE public.squatter (id int)")
    finally:
        await sessions.close()


async def test_roles_carry_no_elevated_attribute_and_public_cannot_connect(sandbox: Sandbox) -> None:
    await run_provision(sandbox, {"chat": secrets.token_urlsafe(30)}, limit=15)
    root = await asyncpg.connect(ADMIN_DSN)
    try:
        row = await root.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin, rolconnlimit "
            "FROM pg_roles WHERE rolname = $1",
            sandbox.role("chat"),
        )
        assert dict(row) == {
            "rolsuper": False,
            "rolcreatedb": False,
            "rolcreaterole": False,
            "rolreplication": False,
            "rolbypassrls": False,
            "rolcanlogin": True,
            "rolconnlimit": 15,
        }
        await root.execute(f'CREATE ROLE "outsider_{sandbox.suffix}" LOGIN')
    finally:
        await root.close()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await sandbox.connect(f"outsider_{sandbox.suffix}")


async def test_a_second_run_changes_nothing_but_the_password(sandbox: Sandbox) -> None:
    await run_provision(sandbox, {"auth": "first-password-0123456789abcdefghij"})
    result = await run_provision(sandbox, {"auth": "rotated-password-0123456789abcdefgh"})
    assert result["created"] == []
    verifier = await stored_verifier(sandbox.role("auth"))
    assert verifier_matches(verifier, "rotated-password-0123456789abcdefgh")
    assert not verifier_matches(verifier, "first-password-0123456789abcdefghij")


async def test_an_elevated_role_fails_the_run_and_changes_nothing(sandbox: Sandbox) -> None:
    await run_provision(sandbox, {"auth": "first-password-0123456789abcdefghij"})
    root = await asyncpg.connect(ADMIN_DSN)
    try:
        await root.execute(f'ALTER ROLE "{sandbox.role("auth")}" CREATEDB')
    finally:
        await root.close()
    with pytest.raises(RuntimeError, match="rolcreatedb"):
        await run_provision(sandbox, {"auth": "rotated-password-0123456789abcdefgh"})
    assert verifier_matches(await stored_verifier(sandbox.role("auth")), "first-password-0123456789abcdefghij")


async def test_the_job_entry_point_reads_libpq_variables_and_mounted_files(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the Job runs: ``PG*`` variables as libpq spells them, passwords from files, never argv."""
    roles = tmp_path / "roles"
    roles.mkdir()
    (roles / sandbox.role("sessions")).write_text("sessions-password-0123456789abcdefgh\n")
    admin_password = tmp_path / "admin-password"
    admin_password.write_text("unused-locally-the-server-trusts-127.0.0.1")
    environ = {
        "PGHOST": "127.0.0.1",
        "PGPORT": "5432",
        "PGUSER": sandbox.admin,
        "PGDATABASE": sandbox.database,
        "PGSSLMODE": "disable",
        "HELPLINE_ADMIN_PASSWORD_FILE": str(admin_password),
        "HELPLINE_ROLE_PASSWORDS_DIR": str(roles),
        "HELPLINE_ROLE_CONNECTION_LIMIT": "30",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    result = await run(Request.from_environment(environ))
    assert result == {
        "database": sandbox.database,
        "roles": [sandbox.role("sessions")],
        "created": [sandbox.role("sessions")],
    }
    verifier = await stored_verifier(sandbox.role("sessions"))
    assert verifier_matches(verifier, "sessions-password-0123456789abcdefgh")
