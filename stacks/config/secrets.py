"""Secret config values, as Pulumi secret Outputs only.

The validated ``StackConfig`` records whether a secret key is set, never its value; code that needs the value
asks here and gets an ``Output`` that Pulumi keeps encrypted in state and masks in previews and renders.
"""

from __future__ import annotations

import pulumi

from stacks.config.base import NAMESPACE


def optional_secret(key: str) -> pulumi.Output[str] | None:
    """The secret ``helpline:<key>``, or None when the stack does not set it."""
    return pulumi.Config(NAMESPACE).get_secret(key)


def required_secret(key: str) -> pulumi.Output[str]:
    """The secret ``helpline:<key>``; the config rules have already reported it when missing."""
    return pulumi.Config(NAMESPACE).require_secret(key)
