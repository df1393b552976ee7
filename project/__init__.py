"""Wiring that belongs to no single app: settings, URLs, the API, errors, serving."""
