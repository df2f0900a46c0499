"""Entry point the Pulumi CLI runs for ``--policy-pack infra/policy`` (PulumiPolicy.yaml is beside it).

The CLI starts this file from the pack folder; the repository root goes on ``sys.path`` so the rules import as the
tests import them (``infra.policy...``), from the repository's own virtualenv.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infra.policy.pack import serve  # imported after the path is set

serve()
