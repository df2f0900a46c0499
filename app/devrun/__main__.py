"""``python -m app.devrun`` (what ``make run`` runs)."""

from __future__ import annotations

import sys

from app.devrun.cli import main

if __name__ == "__main__":
    sys.exit(main())
