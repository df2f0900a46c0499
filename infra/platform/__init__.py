"""The cluster platform every workload stands on: namespaces and their isolation, the TLS edge, GPU plumbing.

Monitoring, logs and traces live beside it (``monitoring*``, ``logging*``, ``tracing*``) and build on the namespaces
created here.
"""
