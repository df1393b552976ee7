"""Schema history of the bot's memory (conversations)."""
