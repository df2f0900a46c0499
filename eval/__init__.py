"""Quality figures on labelled data sets: ``make eval`` (classifier), ``make eval-retrieval``, ``make eval-pii``,
``make eval-guardrails``.

Layout: one folder per data set (``eval/<set>/`` with the data and a ``DATASHEET.md``: who wrote it, how it was
labelled, class balance) and one module per harness (``eval/<set>.py`` or ``eval/<set>/__main__.py``). Harnesses
share the arithmetic in ``eval.metrics`` and the output in ``eval.report`` (``build/eval/<name>.json`` plus a table
on stdout), so every figure is computed and printed the same way.
"""
