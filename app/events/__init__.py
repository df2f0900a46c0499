"""Lifecycle events for other systems: a transactional outbox, NATS JetStream, and signed per-tenant webhooks."""
