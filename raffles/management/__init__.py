"""Management commands of the inventory (see `commands/`)."""
