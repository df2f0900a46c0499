"""The GKE GPU cluster: network, encryption keys, node pools, storage and the model bucket, one module each.

``GkeGpuCluster`` (in ``cluster``) composes them and hands the rest of the program a ``ClusterInterface``. Modules
named after a concern hold that concern's resources; ``names``, ``principals``, ``ranges`` and ``kubeconfig`` are
pure helpers (they declare no resources) so they are tested as plain functions and reused by the config rules.
"""
