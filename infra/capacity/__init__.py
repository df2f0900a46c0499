"""Sizing and cost of the serving tier: what a model needs on a GPU, how many replicas a traffic profile needs,
and what a GPU-hour costs. Pure functions of typed inputs, so the config validation, ``make capacity`` and the
tests share one arithmetic."""
