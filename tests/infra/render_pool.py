"""Run ``python -m <module> <argv>`` jobs in processes forked from one warm interpreter.

Most of a render's CPU goes to importing the Pulumi SDKs (pulumi_aws and pulumi_gcp are among the largest Python
packages) and compiling the program. So one server process (``python -m tests.infra.render_pool``, started by
``WarmPool``) imports all of that once, then forks one child per job: each child has the modules already loaded but
its own, untouched Pulumi runtime (the runtime is global to a process, so a child runs exactly one job and exits).
A child runs its module exactly as ``python -m`` would (``runpy``, ``__name__ == "__main__"``, ``sys.argv``), with
its stdout and stderr in files, so a job behaves as the command a developer would type.

Protocol: the client writes one JSON job per line on the server's stdin and reads one JSON result per line from its
stdout; the server forks up to ``--workers`` children at a time and exits once stdin is closed and every child has
been reaped. Nothing outlives the session: the client closes the server at session end and kills its process group
if it does not stop.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import os
import runpy
import selectors
import subprocess
import sys
import threading
import traceback
import types
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

ROOT = Path(__file__).resolve().parents[2]
#: Imported by the server before it forks anything: the program and what the render CLI imports (not the CLI module
#: itself: ``runpy`` runs it afresh in each child).
WARM_MODULES = ("stacks.program", "stacks.render.artifacts", "stacks.render.runner", "stacks.render.stack_files")
#: Packages whose submodules load lazily on first attribute access (``aws.ec2.Vpc``).
LAZY_SDKS = frozenset({"pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random", "pulumi_tls"})


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class Job:
    id: int
    module: str
    argv: list[str]
    stdout: str
    stderr: str


@dataclass(frozen=True)
class JobResult:
    """How a job ended; its output stays in files so a failing render can be read in full."""

    returncode: int
    stdout_path: Path
    stderr_path: Path

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def checked(self, what: str) -> JobResult:
        """This result, or a RuntimeError carrying the end of the job's stderr when it failed."""
        if self.returncode != 0:
            raise RuntimeError(f"{what} failed ({self.returncode}):\n{self.stderr[-8000:]}")
        return self

    def last_json_line(self, what: str) -> Any:
        """What a harness printed last, as JSON (after checking that it succeeded)."""
        return json.loads(self.checked(what).stdout.strip().splitlines()[-1])


# --- warm-up (server side) ---------------------------------------------------------------------------------------
def sdk_attribute_paths(source: str) -> set[tuple[str, tuple[str, ...]]]:
    """Attribute chains rooted at an imported lazy SDK: ``import pulumi_aws as aws; aws.ec2.Vpc`` -> ("pulumi_aws",
    ("ec2", "Vpc"))."""
    tree = ast.parse(source)
    aliases = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name in LAZY_SDKS
    }
    paths: set[tuple[str, tuple[str, ...]]] = set()
    for node in ast.walk(tree):
        chain: list[str] = []
        base = node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if chain and isinstance(base, ast.Name) and base.id in aliases:
            paths.add((aliases[base.id], tuple(reversed(chain))))
    return paths


def _load_path(package: str, path: tuple[str, ...]) -> None:
    """Follow ``path`` from ``package`` while it names modules: each attribute access loads a lazy submodule."""
    value: Any = importlib.import_module(package)
    for name in path:
        if not isinstance(value, types.ModuleType):
            return
        value = getattr(value, name, None)


def _project_modules() -> Iterator[Path]:
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).is_relative_to(ROOT) and not Path(file).is_relative_to(ROOT / ".venv"):
            yield Path(file)


def warm_up() -> None:
    """Import what every job needs. Best effort: a failure only makes jobs slower, and each job then reports it."""
    try:
        for module in WARM_MODULES:
            importlib.import_module(module)
        for file in _project_modules():
            for package, path in sdk_attribute_paths(file.read_text()):
                _load_path(package, path)
    except Exception:  # reported; each job then re-raises it with its own traceback
        print("render pool: warm-up failed, jobs start cold:\n" + traceback.format_exc(), file=sys.stderr)


# --- the server ----------------------------------------------------------------------------------------------------
def _run_in_child(job: Job, inherited: Iterable[int]) -> NoReturn:
    """Become ``python -m job.module *job.argv`` with its own stdin, stdout and stderr, then exit."""
    for fd in inherited:
        os.close(fd)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(job.stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.dup2(os.open(job.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    sys.argv = [job.module, *job.argv]
    code = 0
    try:
        runpy.run_module(job.module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        if isinstance(exit_.code, int) or exit_.code is None:
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:  # the job's failure is its exit status and traceback
        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


class _Server:
    def __init__(self, workers: int, results: IO[str]) -> None:
        self.workers = workers
        self.results = results
        self.pending: deque[Job] = deque()
        self.running: dict[int, tuple[int, Job]] = {}  # exit-pipe read end -> (pid, job)
        self.selector = selectors.DefaultSelector()

    def serve(self, jobs: int) -> None:
        """Read jobs from the ``jobs`` file descriptor until it closes; return once every child has been reaped."""
        self.selector.register(jobs, selectors.EVENT_READ)
        unread = b""
        reading = True
        while reading or self.pending or self.running:
            self._start_pending(jobs)
            for key, _ in self.selector.select():
                if key.fd != jobs:
                    self._reap(key.fd)
                    continue
                # Raw reads: a buffered reader would keep lines the selector no longer reports as readable.
                chunk = os.read(jobs, 65536)
                if not chunk:
                    self.selector.unregister(jobs)
                    reading = False
                *lines, unread = (unread + chunk).split(b"\n")
                self.pending.extend(Job(**json.loads(line)) for line in lines if line.strip())

    def _start_pending(self, jobs: int) -> None:
        while self.pending and len(self.running) < self.workers:
            job = self.pending.popleft()
            # The child holds the pipe's write end until it exits: end-of-file on the read end means "reap me".
            exit_read, exit_write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(exit_read)
                _run_in_child(job, [jobs, self.results.fileno(), *self.running])
            os.close(exit_write)
            self.running[exit_read] = (pid, job)
            self.selector.register(exit_read, selectors.EVENT_READ)

    def _reap(self, exit_read: int) -> None:
        self.selector.unregister(exit_read)
        os.close(exit_read)
        pid, job = self.running.pop(exit_read)
        _, status = os.waitpid(pid, 0)
        self.results.write(json.dumps({"id": job.id, "returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        self.results.flush()


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="python -m tests.infra.render_pool", description=__doc__)
    parser.add_argument("--workers", type=int, default=usable_cpus())
    args = parser.parse_args(argv)
    # Results go to the original stdout only; anything else printed here (warnings) goes to stderr.
    results = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    warm_up()
    _Server(max(1, args.workers), results).serve(sys.stdin.fileno())
    results.close()
    sys.stderr.flush()
    os._exit(0)  # skip tearing down thousands of modules one by one: nothing is left to flush


# --- the client ----------------------------------------------------------------------------------------------------
class WarmPool:
    """Client of one server process: ``run`` returns a future of the job's result; ``close`` stops the server."""

    def __init__(self, workdir: Path, workers: int | None = None) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._server_log = workdir / "server.log"
        command = [sys.executable, "-m", "tests.infra.render_pool", "--workers", str(workers or usable_cpus())]
        with self._server_log.open("w") as log:
            self._process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,  # its own process group: close() can stop every child at once
            )
        self._lock = threading.Lock()
        self._futures: dict[int, Future[JobResult]] = {}
        self._jobs: dict[int, Job] = {}
        self._reader = threading.Thread(target=self._read_results, name="render-pool-results", daemon=True)
        self._reader.start()

    def run(self, name: str, module: str, argv: list[str]) -> Future[JobResult]:
        """Run ``python -m module *argv`` in a warm child; ``name`` names its output files in the workdir."""
        future: Future[JobResult] = Future()
        with self._lock:
            job_id = len(self._jobs)
            job = Job(job_id, module, argv, str(self.workdir / f"{name}.out"), str(self.workdir / f"{name}.err"))
            self._jobs[job_id], self._futures[job_id] = job, future
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(asdict(job)) + "\n")
            self._process.stdin.flush()
        return future

    def _read_results(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            result = json.loads(line)
            job = self._jobs[result["id"]]
            outcome = JobResult(result["returncode"], Path(job.stdout), Path(job.stderr))
            self._futures.pop(result["id"]).set_result(outcome)
        with self._lock:
            for future in self._futures.values():
                future.set_exception(RuntimeError(f"render pool server stopped:\n{self._server_log.read_text()}"))
            self._futures.clear()

    def close(self, timeout: float = 30) -> None:
        """Let running jobs finish, then stop the server; kill its process group if it does not stop in time."""
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, 9)
            self._process.wait()
        self._reader.join(timeout)


if __name__ == "__main__":
    main()
