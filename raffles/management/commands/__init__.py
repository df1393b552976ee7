"""`manage.py expire_reservations` and `manage.py generate_tickets`."""
