"""Pulumi entry point (``main: __main__.py`` in Pulumi.yaml): the program lives in ``stacks.program``."""

from stacks.program import main

main()
