"""Management commands for the whole system."""
