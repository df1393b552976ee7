"""Messages we send buyers: the durable outbox and its delivery state."""

__all__: list[str] = []
