"""Captured webhook POSTs (raw body and headers) kept for replay."""

__all__: list[str] = []
