"""What one answered message costs the database. Every statement of a webhook runs inside
SQLite's single write lock, and that lock bounds webhook throughput
(tests/bench/bench_webhook.py): a new query on this path should be a decision, not an accident.
"""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.signing import signed_post
from whatsapp.simulator import text_message_payload

BUYER = "5491100000001"
# Transaction bookkeeping is left out: the test runs inside a transaction of its own, so the
# webhook's BEGIN and COMMIT show up here as savepoints.
_BOOKKEEPING = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)')


def _post(client, text: str) -> list[str]:
    payload = text_message_payload(BUYER, text, name="Ana")
    with CaptureQueriesContext(connection) as queries:
        response = signed_post(client, payload)
    assert response.status_code == 200, response.content
    return [
        _label(sql)
        for sql in (q["sql"] for q in queries.captured_queries)
        if not sql.startswith(_BOOKKEEPING)
    ]


def _label(sql: str) -> str:
    """'SELECT whatsapp_contact', 'INSERT whatsapp_inboundmessage'... (or the SQL's start)."""
    table = _TABLE.search(sql)
    return f"{sql.split()[0]} {table.group(1)}" if table else sql[:60]


def test_a_returning_buyer_is_answered_in_ten_statements(client, bot_settings, raffle):
    # As in production (a database task backend): still, a reply writes no task row, the
    # delivery dispatcher is rung after commit instead (whatsapp.wakeup).
    bot_settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    _post(client, "hola")  # the first message creates the contact and the conversation

    statements = _post(client, "hola otra vez")

    # The contact (and its last-seen time, when it moved), the message, the conversation, what
    # the menu shows (a live order, the open raffles, the numbers left), the new state, the
    # reply, the capture.
    assert statements[0] == "SELECT whatsapp_contact"
    assert "INSERT whatsapp_inboundmessage" in statements
    assert "UPDATE conversation_conversation" in statements
    assert "INSERT whatsapp_outboundmessage" in statements
    assert "INSERT django_tasks_database_dbtaskresult" not in statements
    assert statements[-1] == "INSERT whatsapp_webhookcapture"
    assert len(statements) <= 10, statements
