"""DRF compatibility layer at /api/: the original paths older n8n workflows call.

Same tokens, same services, same JSON as /api/v1/ (it dumps the Ninja schemas), DRF's paginated
envelope and token authentication.
"""
