"""The local run: one supervisor starting the engine simulators and every service, as ``make run`` does.

``python -m app.devrun`` plans the processes from the environment (``config``, ``plan``), starts them in order
with readiness waits (``supervisor``), seeds a demo tenant and prints how to reach it (``demo``). The end-to-end
and browser tests and the benchmark start exactly this command.
"""
