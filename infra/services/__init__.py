"""The Helpline services on Kubernetes: one typed spec per service (``catalog``), the objects each one needs
(``workload``, ``network``), declared by the ``Services`` component with their secrets and migrations."""
