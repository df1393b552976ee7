"""Sweeping the outbox, replaying webhooks, re-driving inbound messages, pruning captures."""
