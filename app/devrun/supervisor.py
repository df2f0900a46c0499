"""A small process supervisor: ordered start with readiness waits, prefixed output, restarts, graceful stop.

Why our own and not a Procfile runner: honcho and foreman start everything at once and have no notion of
readiness, so the gateway would come up before auth and the first requests would fail. This one:

- runs the plan's one-shot commands (migrations, seeding) alongside the first stages, and starts each stage only
  when every process of the previous one answers its readiness URL (and the one-shot commands are done, for
  the stages that need them);
- prefixes every output line with the process's name (``Output``);
- restarts a process that may restart (an engine, as a kubelet would) and gives up after its budget; any other
  unexpected exit, a failed one-shot command or a stage that is not ready in time stops the whole run with a
  non-zero status;
- stops on SIGINT/SIGTERM in reverse start order: SIGTERM (the services drain their streams), SIGKILL after a
  timeout; a second Ctrl-C kills at once.

Children run in their own session, so a terminal's Ctrl-C reaches only the supervisor, which then stops them in
order; on Linux each child also gets SIGTERM if the supervisor itself dies (``PR_SET_PDEATHSIG``), so a killed
supervisor leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import httpx

from app.devrun.output import Output
from app.devrun.plan import ROOT, Plan, ProcessSpec

#: Longest output line read at once; longer lines (a huge traceback) are split, never an error.
LINE_LIMIT_BYTES = 1 << 20
READY_POLL_SECONDS = 0.1
RESTART_BACKOFF_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1

T = TypeVar("T")


class StartupError(RuntimeError):
    """A process or command failed while the run was starting; the message says which and why."""


class StopRequestedError(Exception):
    """SIGINT/SIGTERM arrived while starting."""


def _pdeathsig_setter() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies (None elsewhere).

    Linux sends it when the *thread* that started the child exits: start children from a long-lived thread
    (the event loop's, the main one), never from a worker thread."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now: preexec_fn must not load libraries
    except (OSError, AttributeError):
        return None

    def set_pdeathsig() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_pdeathsig


DIE_WITH_PARENT = _pdeathsig_setter()


async def _spawn(spec: ProcessSpec) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *spec.argv,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **spec.env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # the terminal's Ctrl-C goes to the supervisor only; it stops children in order
        preexec_fn=DIE_WITH_PARENT,  # prctl only: nothing that could deadlock between fork and exec
        limit=LINE_LIMIT_BYTES,
    )


async def _pump(name: str, stream: asyncio.StreamReader, output: Output, keep: list[str] | None = None) -> None:
    """Copy a child's output to ``output`` line by line until it closes (``keep`` collects the lines too)."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line beyond LINE_LIMIT_BYTES: take what is buffered as one line
            raw = await stream.read(LINE_LIMIT_BYTES)
        if not raw:
            return
        text = raw.decode(errors="replace").rstrip("\n")
        if keep is not None:
            keep.append(text)
        output.line(name, text)


async def run_once(spec: ProcessSpec, output: Output) -> list[str]:
    """Run a one-shot command to completion; its output lines, or ``StartupError`` when it fails."""
    process = await _spawn(spec)
    assert process.stdout is not None
    lines: list[str] = []
    try:
        await _pump(spec.name, process.stdout, output, keep=lines)
        status = await process.wait()
    except asyncio.CancelledError:
        await _terminate(process, grace_seconds=5)
        raise
    if status != 0:
        raise StartupError(f"{spec.name} failed with status {status} (its output is above)")
    return lines


async def _terminate(process: asyncio.subprocess.Process, grace_seconds: float) -> bool:
    """SIGTERM, then SIGKILL after ``grace_seconds``; True when it stopped by itself."""
    if process.returncode is not None:
        return True
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace_seconds)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return False
    return True


class Child:
    """One long-running process: started, watched (restarted within its budget), stopped."""

    def __init__(self, spec: ProcessSpec, output: Output, on_failure: Callable[[str], None]) -> None:
        self.spec = spec
        self.output = output
        self.on_failure = on_failure
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.stopping = False
        self.ready = False
        self._pump: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self.on_restart: Callable[[Child], Awaitable[None]] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        await self._start_process()
        self._watch = asyncio.create_task(self._watch_exits(), name=f"watch-{self.name}")

    async def _start_process(self) -> None:
        self.process = await _spawn(self.spec)
        assert self.process.stdout is not None
        self._pump = asyncio.create_task(_pump(self.name, self.process.stdout, self.output), name=f"pump-{self.name}")

    async def wait_ready(self, http: httpx.AsyncClient, within_seconds: float) -> None:
        """Poll the readiness URL until it answers 200; ``StartupError`` if the process exits or time runs out."""
        if self.spec.ready_url is None:
            self.ready = True
            return
        self.ready = False
        deadline = time.monotonic() + within_seconds
        last = "no answer"
        while True:
            if self.process is None or self.process.returncode is not None:
                raise StartupError(self.exit_reason(None if self.process is None else self.process.returncode))
            try:
                response = await http.get(self.spec.ready_url, timeout=2.0)
                if response.status_code == 200:
                    self.ready = True
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.TransportError as exc:
                last = type(exc).__name__
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{self.name} was not ready after {within_seconds:g} s ({self.spec.ready_url}: {last})"
                )
            await asyncio.sleep(READY_POLL_SECONDS)

    def exit_reason(self, status: int | None) -> str:
        if self.ready:
            return f"{self.name} exited unexpectedly with status {status}"
        return f"{self.name} exited with status {status} while starting (its output is above)"

    async def _watch_exits(self) -> None:
        while True:
            assert self.process is not None
            status = await self.process.wait()
            if self._pump is not None:
                await self._pump
            if self.stopping:
                return
            if self.restarts >= self.spec.max_restarts:
                self.on_failure(self.exit_reason(status))
                return
            self.restarts += 1
            self.output.notice(
                f"{self.name} exited with status {status}; restarting ({self.restarts}/{self.spec.max_restarts})"
            )
            await asyncio.sleep(RESTART_BACKOFF_SECONDS)
            if self.stopping:
                return
            await self._start_process()
            if self.stopping:  # stop() came while the new process was being spawned: it must not outlive us
                await _terminate(self.process, grace_seconds=5)
                return
            if self.on_restart is not None:
                await self.on_restart(self)

    async def stop(self, grace_seconds: float) -> None:
        self.stopping = True
        if self.process is not None and not await _terminate(self.process, grace_seconds):
            self.output.notice(f"{self.name} did not stop within {grace_seconds:g} s: killed")
        for task in (self._watch, self._pump):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def kill(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


class Supervisor:
    """Starts a ``Plan``, watches it, stops it. ``start`` -> ``wait`` -> ``stop`` (always call ``stop``)."""

    def __init__(
        self,
        plan: Plan,
        output: Output,
        *,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.plan = plan
        self.output = output
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.children: dict[str, Child] = {}
        self._started_stages: list[list[Child]] = []
        self._stop_requested = asyncio.Event()
        self._failure: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._signals = 0
        self._http = httpx.AsyncClient()
        self.on_restart: Callable[[Child], Awaitable[None]] | None = None

    # --- signals ---------------------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals == 1:
            self.output.notice(f"{signal.Signals(signum).name}: stopping (again to kill at once)")
            self._stop_requested.set()
            return
        self.output.notice("killing every process now")
        for child in self.children.values():
            child.kill()

    def request_stop(self) -> None:
        self._stop_requested.set()

    def _fail(self, reason: str) -> None:
        if not self._failure.done():
            self._failure.set_result(reason)

    # --- start -----------------------------------------------------------------------------------------------
    async def start(self) -> dict[str, list[str]]:
        """Run the plan up to every process ready; the one-shot commands' output lines by name."""
        setup = asyncio.gather(*(run_once(spec, self.output) for spec in self.plan.setup))
        results: list[list[str]] = []
        try:
            for index, stage in enumerate(self.plan.stages):
                if index == self.plan.setup_before:
                    results = await self._guard(setup)
                await self._guard(self._start_stage(stage))
            if self.plan.setup_before >= len(self.plan.stages):
                results = await self._guard(setup)
        finally:
            if not setup.done():
                setup.cancel()
                with contextlib.suppress(BaseException):
                    await setup
        return {spec.name: lines for spec, lines in zip(self.plan.setup, results, strict=True)}

    async def _start_stage(self, stage: Sequence[ProcessSpec]) -> None:
        if not stage:
            return
        children = [Child(spec, self.output, self._fail) for spec in stage]
        self._started_stages.append(children)
        for child in children:
            child.on_restart = self._restarted
            self.children[child.name] = child
            await child.start()
        await asyncio.gather(*(child.wait_ready(self._http, self.startup_timeout) for child in children))
        self.output.notice("ready: " + ", ".join(child.name for child in children))

    async def _restarted(self, child: Child) -> None:
        try:
            await child.wait_ready(self._http, self.startup_timeout)
        except StartupError as exc:
            if not child.stopping:
                self.output.notice(str(exc))
            return
        self.output.notice(f"{child.name} is ready again")
        if self.on_restart is not None:
            await self.on_restart(child)

    async def _guard(self, work: Awaitable[T]) -> T:
        """Await ``work`` unless a stop is requested or a process fails first."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._stop_requested.wait())
        try:
            done, _ = await asyncio.wait({task, stop, self._failure}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if self._failure.done():
            raise StartupError(self._failure.result())
        raise StopRequestedError

    async def guard(self, work: Coroutine[Any, Any, T]) -> T:
        """Run more start-up work (seeding) under the same rules as the stages."""
        return await self._guard(work)

    # --- run and stop ----------------------------------------------------------------------------------------
    async def wait(self) -> str | None:
        """Until a stop is requested (None) or a process fails (the reason)."""
        stop = asyncio.ensure_future(self._stop_requested.wait())
        try:
            await asyncio.wait({stop, self._failure}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        return self._failure.result() if self._failure.done() else None

    async def stop(self) -> None:
        """Stop every started process, last stage first; each stage's processes in parallel."""
        for children in reversed(self._started_stages):
            await asyncio.gather(*(child.stop(self.stop_timeout) for child in children))
        self._started_stages.clear()
        await self._http.aclose()
