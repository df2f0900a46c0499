"""A throwaway Postgres cluster a test may stop and restart: its own data directory and port, never the shared one.

``initdb`` + ``pg_ctl`` from the machine's Postgres (the Debian layout ``/usr/lib/postgresql/<version>/bin``, or
``pg_ctl`` on PATH). Postgres refuses to run as root, so as root (CI) the cluster belongs to the ``postgres``
user and the commands run through ``runuser``. Trust authentication on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.app.harness import bound_socket


def _bin_dir() -> Path:
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("no pg_ctl found (install the Debian package postgresql)")
    return versions[-1].parent


@dataclass
class OwnPostgres:
    data_dir: Path
    port: int
    _bin: Path
    _as_postgres: bool

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    def _run(self, *args: str) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data_dir}"
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-w", "-l", str(self.data_dir / "log"), "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: the crash-like stop (connections cut, no checkpoint), as a failover or OOM kill does."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    """A started cluster on a free port; stopped and deleted afterwards."""
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="helpline-pg-"))
    data_dir = root / "data"
    with bound_socket() as sock:
        port = sock.getsockname()[1]
    cluster = OwnPostgres(data_dir=data_dir, port=port, _bin=_bin_dir(), _as_postgres=as_postgres)
    try:
        if as_postgres:
            shutil.chown(root, "postgres", "postgres")
        cluster._run("initdb", "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        cluster.start()
        yield cluster
    finally:
        if (data_dir / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
