"""Where every evaluation's figures go: ``build/eval/<name>.json`` for machines, an aligned table for people."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_DIR = ROOT / "build" / "eval"


def write_json(name: str, result: Mapping[str, Any], *, output_dir: Path = OUTPUT_DIR) -> Path:
    """Write ``result`` to ``<output_dir>/<name>.json`` (keys sorted, so two runs diff cleanly) and return the path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned, floats to three decimals."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) for row in rows) if rows else False for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])
