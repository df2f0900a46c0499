"""The Helpline microservices: gateway, auth, sessions, chat, router, and the vLLM-compatible engine simulator."""
