"""Replay webhook payloads (files, stdin, or captured POSTs) through the real pipeline or a server.

manage.py replay_webhook tests/fixtures/webhooks/text.json
manage.py replay_webhook tests/fixtures/webhooks/ --new-ids --as 5491100000001 --dry-run
manage.py replay_webhook --captured-since 2026-11-01 --contact 5491155550101
manage.py replay_webhook payloads.json --url http://127.0.0.1:8000/whatsapp/webhook/
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import httpx
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from whatsapp.models import WebhookCapture
from whatsapp.rendering import render_payload
from whatsapp.services.webhooks import WebhookResult, receive_webhook
from whatsapp.simulator import encode, new_message_id, signed_headers
from whatsapp.webhook import REPLAY_HEADER


@dataclass
class Payload:
    """One webhook body to replay and where it came from (for the report)."""

    source: str
    body: bytes
    data: Any = None  # parsed JSON when the body is JSON


class Command(BaseCommand):
    help = (
        "Replay WhatsApp webhook payloads through the same pipeline as a real POST "
        "(or POST them to a running server with --url)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths", nargs="*", help="JSON files, directories of JSON files, or - for stdin."
        )
        parser.add_argument(
            "--captured",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="A captured webhook by id (repeatable).",
        )
        parser.add_argument(
            "--captured-since", metavar="DATETIME", help="Captured webhooks received since then."
        )
        parser.add_argument(
            "--contact", metavar="WA_ID", help="Only captured webhooks from or about this buyer."
        )
        parser.add_argument(
            "--include-replays",
            action="store_true",
            help="With --captured*: also select captures that came from earlier replays.",
        )
        parser.add_argument("--url", help="POST to a running server instead of in-process.")
        parser.add_argument(
            "--no-sign", action="store_true", help="Send unsigned (to test rejection)."
        )
        parser.add_argument(
            "--new-ids",
            action="store_true",
            help="Give every message a fresh id and the current time: run it again as new traffic.",
        )
        parser.add_argument(
            "--as",
            dest="as_wa_id",
            metavar="WA_ID",
            help="Rewrite every sender to this WhatsApp id.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Roll everything back and print what the bot would have replied.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["dry_run"] and opts["url"]:
            raise CommandError("--dry-run runs in-process; it cannot be combined with --url")
        payloads = list(self._collect(opts))
        if not payloads:
            raise CommandError("nothing to replay: give paths, - or --captured*")
        if opts["new_ids"] or opts["as_wa_id"]:
            id_map: dict[str, str] = {}
            payloads = [
                _rewritten(p, new_ids=opts["new_ids"], as_wa_id=opts["as_wa_id"], id_map=id_map)
                for p in payloads
            ]
        if not opts["no_sign"] and not settings.WHATSAPP_APP_SECRET:
            self.stderr.write("WHATSAPP_APP_SECRET is not set: the payloads cannot be signed.")

        if opts["url"]:
            results = [self._post(p, opts["url"], sign_it=not opts["no_sign"]) for p in payloads]
        elif opts["dry_run"]:
            results = self._dry_run(payloads, sign_it=not opts["no_sign"])
        else:
            results = [self._in_process(p, sign_it=not opts["no_sign"]) for p in payloads]
        self._summarise(results)

    # --- sources -------------------------------------------------------------------------------
    def _collect(self, opts: dict[str, Any]) -> Iterator[Payload]:
        for raw_path in opts["paths"]:
            if raw_path == "-":
                yield from _payloads_in("stdin", sys.stdin.buffer.read())
                continue
            path = Path(raw_path)
            if path.is_dir():
                files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
                if not files:
                    raise CommandError(f"{path}: no .json files in this directory")
                for file in files:
                    yield from _payloads_in(str(file), file.read_bytes())
            elif path.is_file():
                yield from _payloads_in(str(path), path.read_bytes())
            else:
                raise CommandError(f"{path}: no such file or directory")
        if opts["captured"] or opts["captured_since"] or opts["contact"]:
            yield from self._captured(opts)

    def _captured(self, opts: dict[str, Any]) -> Iterator[Payload]:
        captures = WebhookCapture.objects.order_by("received_at", "pk")
        if opts["captured"]:
            captures = captures.filter(pk__in=opts["captured"])
            missing = set(opts["captured"]) - set(captures.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no captured webhook with id {', '.join(map(str, missing))}")
        if opts["captured_since"]:
            captures = captures.filter(received_at__gte=_parse_when(opts["captured_since"]))
        if not opts["include_replays"]:
            captures = captures.filter(replayed=False)
        for capture in captures.iterator():
            body = bytes(capture.body)
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if opts["contact"] and opts["contact"] not in set(_wa_ids(data)):
                continue
            yield Payload(source=f"capture {capture.pk}", body=body, data=data)

    # --- targets -------------------------------------------------------------------------------
    def _headers(self, body: bytes, *, sign_it: bool) -> dict[str, str]:
        if sign_it:
            return signed_headers(body, settings.WHATSAPP_APP_SECRET)
        return {"Content-Type": "application/json"}

    def _in_process(self, payload: Payload, *, sign_it: bool) -> tuple[Payload, WebhookResult]:
        result = receive_webhook(
            raw_body=payload.body,
            headers=self._headers(payload.body, sign_it=sign_it),
            replayed=True,
        )
        self.stdout.write(f"{payload.source}: {result.summary()}")
        return payload, result

    def _post(self, payload: Payload, url: str, *, sign_it: bool) -> tuple[Payload, WebhookResult]:
        headers = {**self._headers(payload.body, sign_it=sign_it), REPLAY_HEADER: "1"}
        try:
            response = httpx.post(url, content=payload.body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            result = WebhookResult(status_code=0, outcome="unreachable", detail=str(exc))
        else:
            try:
                counts = response.json()
            except ValueError:
                counts = {}
            result = WebhookResult(
                status_code=response.status_code,
                outcome=str(counts.get("status", "")),
                detail=str(counts.get("detail", "")),
                **{
                    k: int(counts.get(k) or 0)
                    for k in ("messages", "duplicates", "statuses", "errors", "failed")
                },
            )
        self.stdout.write(f"{payload.source}: {result.summary()}")
        return payload, result

    def _dry_run(
        self, payloads: list[Payload], *, sign_it: bool
    ) -> list[tuple[Payload, WebhookResult]]:
        results = []
        outbound = _outbound_model()
        with transaction.atomic():
            # Nothing commits, so no delivery is ever enqueued (they run on commit only).
            for payload in payloads:
                last = _last_pk(outbound)
                results.append(self._in_process(payload, sign_it=sign_it))
                if outbound is None:
                    continue
                for reply in outbound.objects.filter(pk__gt=last).order_by("pk"):
                    self.stdout.write(_render_reply(reply))
            transaction.set_rollback(True)
        if outbound is None:
            self.stdout.write("(no outbound messages model installed: replies not shown)")
        self.stdout.write("dry run: everything rolled back, nothing sent")
        return results

    def _summarise(self, results: list[tuple[Payload, WebhookResult]]) -> None:
        total = WebhookResult(status_code=200, outcome="")
        bad = []
        for payload, result in results:
            for key in ("messages", "duplicates", "statuses", "errors", "failed"):
                setattr(total, key, getattr(total, key) + getattr(result, key))
            if result.status_code != 200 or result.failed:
                bad.append(payload.source)
        self.stdout.write(
            f"replayed {len(results)} payloads: {total.messages} messages, "
            f"{total.duplicates} duplicates, {total.statuses} statuses, {total.errors} errors, "
            f"{total.failed} failed, {len(bad)} rejected or failed"
        )
        if bad:
            raise CommandError(f"{len(bad)} payloads rejected or failed: {', '.join(bad[:10])}")


def _payloads_in(name: str, content: bytes) -> Iterator[Payload]:
    """A file holds one payload or a list of payloads; anything else is a clear error."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise CommandError(f"{name}: not JSON ({exc})") from exc
    if isinstance(data, list):
        for i, item in enumerate(data):
            _check_payload(f"{name}[{i}]", item)
            yield Payload(source=f"{name}[{i}]", body=encode(item), data=item)
    else:
        _check_payload(name, data)
        yield Payload(source=name, body=content, data=data)


def _check_payload(name: str, data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise CommandError(
            f'{name}: not a webhook payload (expected an object with an "entry" list, '
            'as Meta sends: {"object": "whatsapp_business_account", "entry": [...]})'
        )


def _parse_when(value: str) -> datetime:
    when = parse_datetime(value)
    if when is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--captured-since: {value!r} is not a date or date-time")
        when = datetime.combine(day, dtime.min)
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def _values(data: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        return
    for entry in data["entry"]:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                yield value


def _dicts(items: Any) -> Iterable[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _wa_ids(data: Any) -> Iterator[str]:
    for value in _values(data):
        for contact in _dicts(value.get("contacts")):
            yield from (str(contact.get(k)) for k in ("wa_id", "user_id") if contact.get(k))
        for message in _dicts(value.get("messages")):
            yield from (str(message.get(k)) for k in ("from", "from_user_id") if message.get(k))
        for status in _dicts(value.get("statuses")):
            if status.get("recipient_id"):
                yield str(status["recipient_id"])


def _rewritten(
    payload: Payload, *, new_ids: bool, as_wa_id: str | None, id_map: dict[str, str]
) -> Payload:
    """Fresh message ids (the same old id always maps to the same new one) and/or one sender."""
    if payload.data is None:
        return payload
    data = copy.deepcopy(payload.data)
    now = str(int(time.time()))
    for value in _values(data):
        if as_wa_id:
            for contact in _dicts(value.get("contacts")):
                contact["wa_id"] = as_wa_id
                contact.pop("user_id", None)
        for message in _dicts(value.get("messages")):
            if as_wa_id:
                message["from"] = as_wa_id
                message.pop("from_user_id", None)
            if new_ids:
                message["id"] = id_map.setdefault(str(message.get("id")), new_message_id())
                message["timestamp"] = now
    return Payload(source=payload.source, body=encode(data), data=data)


def _outbound_model():
    try:
        return apps.get_model("whatsapp", "OutboundMessage")
    except LookupError:
        return None


def _last_pk(model) -> int:
    if model is None:
        return 0
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _render_reply(reply: Any) -> str:
    """What the bot would have said, readably, from the exact Graph request body."""
    payload = getattr(reply, "payload", None) or {}
    to = getattr(getattr(reply, "contact", None), "wa_id", "") or payload.get("to", "")
    text, _ = render_payload(payload, show_ids=True)
    if text is not None:
        return f"  -> {to}: " + text.replace("\n", "\n       ")
    if payload.get("status") == "read":
        return f"  -> {to}: (marks the message as read)"
    return f"  -> {to}: {json.dumps(payload, ensure_ascii=False)}"
