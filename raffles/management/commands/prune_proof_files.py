"""Delete files in the payment proofs folder that no proof refers to (run daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from raffles.services import prune_orphan_proof_files


class Command(BaseCommand):
    help = "Delete stored proof files that belong to no payment proof."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = prune_orphan_proof_files()
        self.stdout.write(f"deleted {len(deleted)} proof file(s) that belong to no proof")
