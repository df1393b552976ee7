"""Inventory and orders: raffles, numbered tickets, orders, payment proofs, their history,
the services that change them, the API and the back office."""
