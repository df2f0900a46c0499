"""The data tier: Postgres and Redis per stack (in the cluster in dev, the cloud's managed services in prod), one
least-privilege database role per service, and the Secrets through which connection details reach the services."""
