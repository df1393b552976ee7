"""Background work of the inventory (django.tasks)."""

from __future__ import annotations

from django.tasks import task

from raffles.models import Raffle
from raffles.services.generation import generate_tickets


@task()
def generate_raffle_tickets(raffle_id: int) -> int:
    """Generate a raffle's missing numbers; returns how many were created."""
    raffle = Raffle.objects.filter(pk=raffle_id).first()
    if raffle is None:  # deleted before the worker got to it
        return 0
    return generate_tickets(raffle=raffle).created
