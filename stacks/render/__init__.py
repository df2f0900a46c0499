"""Offline render: evaluate a stack with Pulumi's mocks runtime and write what it would create.

``python -m stacks.render --stack dev [--cloud gcp]`` (``make render``) writes ``build/render/<stack>[-<cloud>]/``:
``manifests/<namespace>/<kind>-<name>.yaml`` (every Kubernetes object), ``helm/<release>.yaml`` (every Helm
release with its pinned chart and values) and ``inventory.json`` (every resource: type token, name, parent,
provider, dependencies, inputs; secrets masked).
"""
