"""Helpline's CrossGuard policy pack: guardrails every stack is checked against on ``pulumi preview`` and ``up``.

The rules are plain functions over ``(resource type, inputs)`` (``infra.policy.model``, ``infra.policy.rules``), so
they are tested on the offline renders and on planted bad resources without the Pulumi CLI; ``infra.policy.pack``
adapts them to CrossGuard. Enforcement comes from the pack config: ``config/prod.json`` makes every rule mandatory,
``config/dev.json`` advisory (docs/delivery.md).
"""
