"""The auth service: tenants, users and roles, API keys, and the access tokens the gateway verifies."""
