"""Benchmarks (``make bench``): measurements, not tests. Results go to ``build/bench/``."""
