"""Entry point: ``python -m app.enginesim MODEL [vllm serve flags] [--sim-* flags]``."""

from app.enginesim.cli import main

main()
