"""Messages buyers send us, stored once per wa_message_id."""

__all__: list[str] = []
