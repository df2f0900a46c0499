"""The AWS half of the GPU cluster: ``EksGpuCluster`` (infra/aws/cluster.py) and the modules it is built from.

Importing this package pulls in no Pulumi code, so the pure helpers (subnet maths, policy documents,
kubeconfig) stay importable from the config validation and from plain tests.
"""
