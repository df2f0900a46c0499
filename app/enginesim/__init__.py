"""A vLLM-compatible engine simulator: vLLM's HTTP API, metrics and failure modes, without a GPU.

It stands in for vLLM in tests, in ``make run``/``make bench``, and in clusters deployed with
``engine: simulator``. See docs/enginesim.md for the model it implements and its command line.
"""
