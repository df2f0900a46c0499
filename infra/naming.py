"""Names every component derives from the stack, so they are predictable before anything exists.

Cloud IAM trusts Kubernetes service accounts by namespace and name, and network policies select namespaces
by name, so these are pure functions of the stack name, tested as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Concern = Literal["serving", "app", "data", "monitoring", "ingress", "platform"]
CONCERNS: tuple[Concern, ...] = ("serving", "app", "data", "monitoring", "ingress", "platform")

#: The service account (in the serving namespace) allowed to read the model bucket through workload identity.
MODEL_LOADER_SERVICE_ACCOUNT = "model-loader"

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Naming:
    """``Naming("dev").resource("vpc") == "helpline-dev-vpc"``; ``.namespace("app") == "helpline-dev-app"``."""

    stack: str
    project: str = "helpline"

    def __post_init__(self) -> None:
        if not _DNS_LABEL.match(self.stack) or len(self.stack) > 20:
            raise ValueError(
                f"stack name {self.stack!r} must be a DNS label of at most 20 characters (lower-case letters, "
                "digits, '-'), because it becomes part of cloud resource and namespace names"
            )

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"

    def resource(self, suffix: str) -> str:
        """Name for a cloud resource; at most 63 characters (the tightest limit among those we create)."""
        name = f"{self.prefix}-{suffix}"
        if len(name) > 63:
            raise ValueError(f"resource name {name!r} is longer than 63 characters")
        return name

    def namespace(self, concern: Concern) -> str:
        return f"{self.prefix}-{concern}"
