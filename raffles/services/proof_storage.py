"""Housekeeping of the payment proofs folder: files no proof refers to are deleted.

They appear when a save is interrupted (the file is written before its row commits) or an
order's proofs go with it; they hold buyers' bank details and serve no one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.storage import Storage
from django.utils import timezone

from raffles.models import PROOF_FILES_DIR, PaymentProof

__all__ = ["prune_orphan_proof_files"]

# A file younger than this may belong to a save whose row has not committed yet.
SETTLING_TIME = timedelta(hours=1)


def prune_orphan_proof_files(*, now: datetime | None = None) -> list[str]:
    """Delete the files under the proofs folder that no `PaymentProof.file` names and that are
    older than `SETTLING_TIME`; returns their names."""
    storage = PaymentProof._meta.get_field("file").storage
    cutoff = (now or timezone.now()) - SETTLING_TIME
    deleted = []
    for name in _files_under(storage, PROOF_FILES_DIR):
        if storage.get_modified_time(name) > cutoff:
            continue
        if PaymentProof.objects.filter(file=name).exists():
            continue
        storage.delete(name)
        deleted.append(name)
    return deleted


def _files_under(storage: Storage, folder: str) -> Iterator[str]:
    if not storage.exists(folder):
        return
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _files_under(storage, f"{folder}/{sub}")
