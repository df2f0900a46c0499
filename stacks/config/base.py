"""Building blocks every config section uses: the field declaration, the section base, and the error type.

A stack's configuration lives in Pulumi config as flat, typed keys under the ``helpline:`` namespace
(Pulumi project config only types strings, integers, booleans and arrays). Each key is declared exactly once,
as a pydantic field whose alias is the Pulumi key. That one declaration drives validation, the ``config:``
block of ``Pulumi.yaml`` and the key table in the README, so the three cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NAMESPACE = "helpline"


def key(
    name: str,
    description: str,
    default: Any = ...,
    *,
    secret: bool = False,
    **constraints: Any,
) -> Any:
    """Declare one Pulumi config key: its name, what it means, its default and its constraints.

    ``secret=True`` marks keys that must be set with ``pulumi config set --secret``; such fields hold no value
    in the model (secrets travel as Pulumi Outputs, see ``stacks.config.secrets``), only whether they are set.
    """
    return Field(
        default,
        alias=name,
        description=description,
        json_schema_extra={"pulumi_secret": secret},
        **constraints,
    )


class ConfigSection(BaseModel):
    """Base of every section: unknown keys are refused, values are immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False, validate_default=True)


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with a stack's config, phrased so the user can fix it without reading code."""

    key: str
    value: Any
    problem: str

    def __str__(self) -> str:
        shown = "<unset>" if self.value is None else repr(self.value)
        return f"{NAMESPACE}:{self.key} = {shown}: {self.problem}"


class StackConfigError(Exception):
    """Raised before any resource is declared when a stack's config is invalid; lists every issue at once."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"invalid stack config ({len(issues)} issue(s)):\n{lines}")
