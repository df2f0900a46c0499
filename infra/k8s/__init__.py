"""Pure builders for Kubernetes object fragments every component needs the same way.

Labels, the restricted security context, and NetworkPolicy shapes are decided once here so the platform,
serving and services components cannot drift apart (and the policy pack checks one definition).
"""
