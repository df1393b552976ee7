"""Signals other apps (the bot) subscribe to. They carry facts, never business rules."""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: order (Order), old (str | None), new (str), source (ChangeSource), note (str).
# Sent inside the transaction that made the change, so a receiver's writes commit with it.
# A rejected proof re-opens the wait for payment: it is sent with old == new == PENDING_PAYMENT,
# source OPERATOR and the reason as note (the buyer must be asked for a new proof).
order_status_changed = Signal()

# kwargs: orders (a sequence of Order, loaded from the database on first use), order_ids
# (list[int]). Every expiry (the sweep, in batches of up to 5,000, and the lazy one inside a
# reservation) is reported here once per batch, so notifying many buyers is one bulk insert.
orders_expired = Signal()

# kwargs: proof (PaymentProof), order (Order), reason (str), and `problem` (str, a
# `ProofFileProblem` value) when the proof was rejected automatically because its file could
# not be used (the deadline then keeps running). An operator's rejection reopens the wait and is
# also announced through `order_status_changed`.
proof_rejected = Signal()

# kwargs: proof (PaymentProof; its order is `proof.order_id`). Sent once per proof, when it
# can be looked at: as it is recorded when its file came with it, else when its file is first
# stored (a photo sent on WhatsApp is downloaded after the message). A proof whose file never
# arrives is not announced here.
proof_received = Signal()

# kwargs: raffle (Raffle). Every number of the raffle is SOLD (sent once, in the transaction of
# the payment that sold the last one: a sold number never returns to sale).
raffle_sold_out = Signal()

# kwargs: raffle (Raffle), draw (Draw, with `results`), winners (list of (Prize, Order)) and
# paid_contact_ids (list[int]: every buyer with a PAID order in the raffle, once each). Sent once,
# in the transaction of the draw: the bot tells the buyers, the events app tells n8n.
raffle_drawn = Signal()
