"""Schema history of the inventory."""
