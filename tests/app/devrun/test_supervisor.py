"""The supervisor on cheap stand-in children: order, readiness, output, failures, restarts, stop, orphans."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.devrun.output import Output
from app.devrun.plan import Plan, ProcessSpec
from app.devrun.supervisor import StartupError, Supervisor
from tests.app.harness import free_port

FAKE = str(Path(__file__).with_name("fake_service.py"))


def fake(name: str, port: int, *args: str, max_restarts: int = 0) -> ProcessSpec:
    return ProcessSpec(
        name,
        (sys.executable, FAKE, "--port", str(port), *args),
        ready_url=f"http://127.0.0.1:{port}/ready",
        max_restarts=max_restarts,
    )


def one_shot(name: str, code: str) -> ProcessSpec:
    return ProcessSpec(name, (sys.executable, "-c", code))


def output_for(names: Sequence[str]) -> tuple[Output, io.StringIO]:
    stream = io.StringIO()
    return Output(names, stream=stream, colour=False), stream


async def start_then_stop(supervisor: Supervisor) -> dict[str, list[str]]:
    try:
        return await supervisor.start()
    finally:
        await supervisor.stop()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_stages_start_in_order_each_ready_before_the_next() -> None:
    first, second = free_port(), free_port()
    plan = Plan(
        setup=(one_shot("setup", "print('migrated')"),),
        stages=(
            (fake("engine", first, "--ready-after", "0.5"),),
            # exits with status 3 if started before the engine answers 200 on /ready
            (fake("gateway", second, "--require", f"http://127.0.0.1:{first}/ready"),),
        ),
    )
    output, stream = output_for(["setup", "engine", "gateway"])
    outputs = await start_then_stop(Supervisor(plan, output, startup_timeout=20))
    assert outputs == {"setup": ["migrated"]}
    text = stream.getvalue()
    assert text.index("ready: engine") < text.index("ready: gateway")
    # prefixed, aligned, and the JSON log line rendered readably
    assert "setup   | migrated" in text
    assert f"gateway | info    listening port={second}" in text


WAIT_FOR_URL = """
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        print("saw the engine")
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit(5)
"""


async def test_setup_runs_alongside_the_stages_before_the_ones_that_need_it() -> None:
    engine, service = free_port(), free_port()
    # the setup command finishes only once the engine answers: it must run while the first stage starts
    setup = ProcessSpec("migrate", (sys.executable, "-c", WAIT_FOR_URL, f"http://127.0.0.1:{engine}/ready"))
    plan = Plan(setup=(setup,), stages=((fake("engine", engine),), (fake("service", service),)), setup_before=1)
    output, stream = output_for(["migrate", "engine", "service"])
    outputs = await start_then_stop(Supervisor(plan, output, startup_timeout=20))
    assert outputs == {"migrate": ["saw the engine"]}
    text = stream.getvalue()
    assert text.index("migrate | saw the engine") < text.index("ready: service")


async def test_a_failing_setup_command_stops_the_start_and_names_it() -> None:
    port = free_port()
    plan = Plan(
        setup=(one_shot("migrate", "import sys; print('no database'); sys.exit(4)"),),
        stages=((fake("engine", port),), (fake("gateway", free_port()),)),
    )
    output, stream = output_for(["migrate", "engine", "gateway"])
    supervisor = Supervisor(plan, output, startup_timeout=20)
    with pytest.raises(StartupError, match="migrate failed with status 4"):
        await start_then_stop(supervisor)
    assert "migrate | no database" in stream.getvalue()
    assert "gateway" not in supervisor.children  # the second stage never started


async def test_a_process_that_never_gets_ready_is_reported_with_its_last_answer() -> None:
    plan = Plan(setup=(), stages=((fake("slow", free_port(), "--ready-after", "60"),),))
    output, _ = output_for(["slow"])
    supervisor = Supervisor(plan, output, startup_timeout=1)
    with pytest.raises(StartupError, match=r"slow was not ready after 1 s \(.*/ready: 503"):
        await start_then_stop(supervisor)


async def test_a_process_exiting_during_start_fails_the_start() -> None:
    plan = Plan(setup=(), stages=((fake("broken", free_port(), "--require", "http://127.0.0.1:9/x"),),))
    output, _ = output_for(["broken"])
    supervisor = Supervisor(plan, output, startup_timeout=20)
    with pytest.raises(StartupError, match="broken exited with status 3 while starting"):
        await start_then_stop(supervisor)


async def test_an_unexpected_exit_ends_the_run_and_everything_else_is_stopped() -> None:
    plan = Plan(
        setup=(),
        stages=(
            (fake("engine", free_port()),),
            (fake("sessions", free_port(), "--exit-after", "0.5", "--status", "7"),),
        ),
    )
    output, _ = output_for(["engine", "sessions"])
    supervisor = Supervisor(plan, output, startup_timeout=20)
    try:
        await supervisor.start()
        engine_pid = supervisor.children["engine"].pid
        reason = await asyncio.wait_for(supervisor.wait(), 10)
    finally:
        await supervisor.stop()
    assert reason == "sessions exited unexpectedly with status 7"
    assert engine_pid is not None
    assert not pid_alive(engine_pid)


async def test_an_engine_is_restarted_within_its_budget_then_the_run_gives_up() -> None:
    port = free_port()
    plan = Plan(setup=(), stages=((fake("engine", port, "--exit-after", "0.3", max_restarts=2),),))
    output, stream = output_for(["engine"])
    supervisor = Supervisor(plan, output, startup_timeout=20)
    restarted: list[int | None] = []

    async def on_restart(child: object) -> None:
        restarted.append(supervisor.children["engine"].pid)

    supervisor.on_restart = on_restart
    try:
        await supervisor.start()
        reason = await asyncio.wait_for(supervisor.wait(), 20)
    finally:
        await supervisor.stop()
    text = stream.getvalue()
    assert "engine exited with status 1; restarting (1/2)" in text
    assert "engine exited with status 1; restarting (2/2)" in text
    assert reason == "engine exited unexpectedly with status 1"
    assert len(set(restarted)) == 2  # each restart is a new process, ready again before it counts


async def test_stop_terminates_gracefully_and_kills_what_ignores_sigterm() -> None:
    plan = Plan(
        setup=(),
        stages=((fake("polite", free_port()),), (fake("stubborn", free_port(), "--ignore-sigterm"),)),
    )
    output, stream = output_for(["polite", "stubborn"])
    supervisor = Supervisor(plan, output, startup_timeout=20, stop_timeout=0.5)
    await supervisor.start()
    children = dict(supervisor.children)
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started < 5
    assert children["polite"].process is not None
    assert children["polite"].process.returncode == 0
    assert children["stubborn"].process is not None
    assert children["stubborn"].process.returncode == -signal.SIGKILL
    assert "stubborn did not stop within 0.5 s: killed" in stream.getvalue()


async def test_a_requested_stop_ends_wait_without_a_failure() -> None:
    plan = Plan(setup=(), stages=((fake("engine", free_port()),),))
    output, _ = output_for(["engine"])
    supervisor = Supervisor(plan, output, startup_timeout=20)
    try:
        await supervisor.start()
        asyncio.get_running_loop().call_later(0.1, supervisor.request_stop)
        assert await asyncio.wait_for(supervisor.wait(), 5) is None
    finally:
        await supervisor.stop()


DRIVER = """
import asyncio, sys
from app.devrun.output import Output
from app.devrun.plan import Plan, ProcessSpec
from app.devrun.supervisor import Supervisor

async def main():
    spec = ProcessSpec("child", (sys.executable, sys.argv[1], "--port", sys.argv[2]), ready_url=sys.argv[3])
    supervisor = Supervisor(Plan(setup=(), stages=((spec,),)), Output(["child"]))
    await supervisor.start()
    print("CHILD", supervisor.children["child"].pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_children_do_not_outlive_a_killed_supervisor() -> None:
    port = free_port()
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, FAKE, str(port), f"http://127.0.0.1:{port}/ready"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert driver.stdout is not None
        child_pid = next(int(line.split()[1]) for line in driver.stdout if line.startswith("CHILD"))
        assert pid_alive(child_pid)
        driver.kill()  # no chance to clean up
        driver.wait(5)
        deadline = time.monotonic() + 10  # SIGTERM arrives at once; reaping the orphan may take a moment
        while pid_alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(child_pid)
    finally:
        driver.kill()
