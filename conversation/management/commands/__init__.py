"""`manage.py chat` and `manage.py remind_pending_orders`."""
