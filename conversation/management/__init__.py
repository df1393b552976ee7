"""Management commands of the bot (see `commands/`)."""
