"""The inventory's services: every state change of raffles, tickets and orders happens here."""

from raffles.services.availability import Availability, availability, available_count
from raffles.services.buyers import buyer_with_wa_id
from raffles.services.expiry import ExpiryResult, expire_due, expire_orders
from raffles.services.generation import GenerationResult, generate_tickets
from raffles.services.orders import (
    cancel_order,
    confirm_payment,
    create_order_for_buyer,
    create_order_for_wa_id,
    submit_order,
)
from raffles.services.proof_storage import prune_orphan_proof_files
from raffles.services.proofs import (
    ProofFileProblem,
    attach_payment_proof,
    recognise_proof_file,
    refuse_proof_file,
    reject_proof,
    store_proof_file,
)
from raffles.services.repair import cancel_unfit_order
from raffles.services.reservations import reserve_random, reserve_specific
from raffles.services.setup import (
    activate_raffle,
    change_range,
    create_raffle,
    deactivate_raffle,
    delete_raffle,
    update_raffle,
)

__all__ = [
    "Availability",
    "ExpiryResult",
    "GenerationResult",
    "ProofFileProblem",
    "activate_raffle",
    "attach_payment_proof",
    "availability",
    "available_count",
    "buyer_with_wa_id",
    "cancel_order",
    "cancel_unfit_order",
    "change_range",
    "confirm_payment",
    "create_order_for_buyer",
    "create_order_for_wa_id",
    "create_raffle",
    "deactivate_raffle",
    "delete_raffle",
    "expire_due",
    "expire_orders",
    "generate_tickets",
    "prune_orphan_proof_files",
    "recognise_proof_file",
    "refuse_proof_file",
    "reject_proof",
    "reserve_random",
    "reserve_specific",
    "store_proof_file",
    "submit_order",
    "update_raffle",
]
