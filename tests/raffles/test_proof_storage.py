"""Housekeeping of stored proof files: a file no payment proof refers to is deleted once it has
settled; every proof keeps its file."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from raffles.models import Order
from raffles.services import attach_payment_proof, reserve_specific, store_proof_file

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0 a transfer"


def aged(name: str, hours: float) -> str:
    moment = time.time() - hours * 3600
    os.utime(default_storage.path(name), (moment, moment))
    return name


def test_files_that_belong_to_no_proof_are_pruned_and_proofs_keep_theirs(raffle, buyer):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    proof = store_proof_file(
        proof=attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg"),
        content=JPEG,
    )
    aged(proof.file.name, 48)
    orphan = aged(
        default_storage.save(f"payment_proofs/{order.pk}/proof-999.jpg", ContentFile(JPEG)), 2
    )
    of_a_deleted_order = aged(
        default_storage.save("payment_proofs/424242/proof-1.pdf", ContentFile(b"%PDF-")), 48
    )
    being_saved = default_storage.save(
        f"payment_proofs/{order.pk}/proof-1000.jpg", ContentFile(JPEG)
    )

    call_command("prune_proof_files")

    assert default_storage.exists(proof.file.name)
    assert not default_storage.exists(orphan)
    assert not default_storage.exists(of_a_deleted_order)
    assert default_storage.exists(being_saved)  # younger than an hour: its row may be coming


def test_a_replaced_file_is_deleted_once_the_new_one_is_committed(
    raffle, buyer, django_capture_on_commit_callbacks
):
    order = reserve_specific(raffle=raffle, numbers=[1], contact=buyer)
    proof = attach_payment_proof(order=order, media_id="m1", mime_type="image/jpeg")
    first = store_proof_file(proof=proof, content=JPEG).file.name

    with django_capture_on_commit_callbacks(execute=True):
        second = store_proof_file(proof=proof, content=b"%PDF-1.4 better").file.name

    assert second.endswith(".pdf") and default_storage.exists(second)
    assert not default_storage.exists(first)
    assert Order.objects.get(pk=order.pk).proofs.get().file.name == second
