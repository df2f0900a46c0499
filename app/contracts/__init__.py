"""Contracts shared across the repo without pulling in any service code: metric catalogs, public schemas.

Infra (dashboards, alerts, autoscaler queries) imports these to check every metric name it uses against what
the engine and the services really export; the services and the engine simulator import them to export
exactly those names. Modules here depend on the standard library (and pydantic) only.
"""
