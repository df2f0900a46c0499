"""Reusable typed Pulumi ComponentResources, one concern per module."""
