"""Resource options shared by the components of this package."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


def child_options(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, *, depends_on: Sequence[pulumi.Resource] = ()
) -> pulumi.ResourceOptions:
    """Options for a component's children: parented to it and waiting for what it waits for.

    Pulumi does not hand a component's ``depends_on`` down to its children, so without this a child (say the VPC)
    would be created before the API it needs is enabled.
    """
    inherited = opts.depends_on if opts is not None and isinstance(opts.depends_on, list) else []
    return pulumi.ResourceOptions(parent=parent, depends_on=[*inherited, *depends_on])
