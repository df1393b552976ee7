"""Serving, periodic housekeeping, the OpenAPI export and database upkeep."""
