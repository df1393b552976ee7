"""Simulated buyers, the operator and the bad traffic, all asyncio + httpx against 127.0.0.1.

A buyer posts signed webhooks built with `whatsapp.simulator` and answers whatever the bot last
sent it, as a person would: it reads the bot's messages from the fake Graph API's log (one
watcher polls it and hands each message to the buyer it was sent `to`), taps the buttons and
list rows by their ids, types numbers, confirms or cancels, lets some reservations lapse and
sends payment proofs (media the fake Graph API then serves to the system).

Like Meta, the webhook sender re-delivers a share of messages (the same body: concurrently or a
moment later) and retries a POST that failed (connection dropped, 5xx) with the same body.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from whatsapp import simulator

POPULAR = [7, 13, 21, 77, 100, 111]  # everybody's lucky numbers
GREETINGS = ["hi", "Hola", "hello", "buenas", "menu"]


@dataclass
class Stats:
    """What the harness saw from outside."""

    latencies: list[float] = field(default_factory=list)  # seconds, every buyer webhook POST
    statuses: Counter = field(default_factory=Counter)  # HTTP status of every webhook POST
    connection_errors: int = 0
    accepted_wamids: set[str] = field(default_factory=set)  # answered 200
    rejected_wamids: set[str] = field(default_factory=set)  # bad signature: must not be stored
    bad_traffic: Counter = field(default_factory=Counter)  # kind -> expected status seen
    bad_traffic_unexpected: list[str] = field(default_factory=list)
    duplicates_sent: int = 0
    messages_sent: int = 0  # distinct buyer messages
    replies_seen: int = 0
    reply_waits: list[float] = field(default_factory=list)  # message sent -> a bot message seen
    unanswered: int = 0
    actions: Counter = field(default_factory=Counter)
    operator_confirmed: int = 0
    operator_errors: Counter = field(default_factory=Counter)
    five_xx: list[str] = field(default_factory=list)
    loop_lags: list[float] = field(default_factory=list)  # the harness's own scheduling delay


@dataclass
class LoadConfig:
    buyers: int = 40
    duration: float = 40.0
    think: tuple[float, float] = (1.0, 3.0)
    ramp: float = 5.0  # buyers start spread over this many seconds
    duplicate_share: float = 0.10
    reply_timeout: float = 45.0
    seed: int = 1
    bad_traffic_every: float = 1.5
    abandon_share: float = 0.12  # buyers who walk away from their first reservation


class Webhooks:
    """Posts signed bodies to the webhook like Meta: retries, re-deliveries, latency recorded."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        secret: str,
        stats: Stats,
        *,
        duplicate_share: float = 0.1,
    ) -> None:
        self.client, self.url, self.secret, self.stats = client, url, secret, stats
        self.duplicate_share = duplicate_share  # half of them race, half come a moment later
        self.background: set[asyncio.Task] = set()

    async def post_once(self, body: bytes, headers: dict[str, str]) -> int | None:
        started = time.perf_counter()
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError:
            self.stats.connection_errors += 1
            return None
        self.stats.latencies.append(time.perf_counter() - started)
        self.stats.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.stats.five_xx.append(f"{response.status_code} {response.text[:200]}")
        return response.status_code

    async def deliver(self, payload: dict[str, Any], rng: random.Random) -> bool:
        """Deliver one message until it is accepted (200), as Meta keeps retrying."""
        body = simulator.encode(payload)
        headers = simulator.signed_headers(body, self.secret)
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        duplicate = rng.random() < self.duplicate_share
        racing = duplicate and rng.random() < 0.5
        for attempt in range(8):
            if racing and attempt == 0:
                # Two deliveries racing each other.
                self.stats.duplicates_sent += 1
                codes = await asyncio.gather(
                    self.post_once(body, headers), self.post_once(body, headers)
                )
                status = 200 if 200 in codes else next((c for c in codes if c), None)
            else:
                status = await self.post_once(body, headers)
                if duplicate and attempt == 0 and status == 200:
                    self.stats.duplicates_sent += 1
                    self._later(body, headers, delay=rng.uniform(0.2, 3.0))
            if status == 200:
                self.stats.accepted_wamids.add(wamid)
                return True
            await asyncio.sleep(0.5 * (attempt + 1))
        return False

    def _later(self, body: bytes, headers: dict[str, str], *, delay: float) -> None:
        async def again() -> None:
            await asyncio.sleep(delay)
            await self.post_once(body, headers)

        task = asyncio.create_task(again())
        self.background.add(task)
        task.add_done_callback(self.background.discard)


class GraphWatcher:
    """Polls the fake Graph API's log and hands each message to the buyer it was sent to."""

    def __init__(self, client: httpx.AsyncClient, control_url: str) -> None:
        self.client, self.control_url = client, control_url
        self.inboxes: dict[str, asyncio.Queue] = {}
        self.log: list[dict[str, Any]] = []
        self.cursor = 0
        self.errors = 0

    def inbox(self, wa_id: str) -> asyncio.Queue:
        return self.inboxes.setdefault(wa_id, asyncio.Queue())

    async def poll_once(self) -> int:
        try:
            response = await self.client.get(
                f"{self.control_url}/log", params={"since": self.cursor}, timeout=10
            )
            data = response.json()
        except (httpx.HTTPError, ValueError):
            self.errors += 1
            return 0
        self.cursor = data["next"]
        for item in data["items"]:
            self.log.append(item)
            body = item.get("body") or {}
            if item.get("status") == 200 and body.get("to"):
                self.inbox(str(body["to"])).put_nowait(body)
        return len(data["items"])

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll_once()
            await asyncio.sleep(0.1)
        await self.poll_once()


def describe(body: dict[str, Any]) -> dict[str, Any]:
    """A bot message reduced to what a person sees: its text and the ids they can tap."""
    kind = body.get("type")
    if kind == "text":
        return {"kind": "text", "text": body["text"]["body"], "options": []}
    if kind == "interactive":
        inter = body["interactive"]
        text = (inter.get("body") or {}).get("text", "")
        if inter.get("type") == "button":
            options = [(b["reply"]["id"], b["reply"]["title"]) for b in inter["action"]["buttons"]]
            return {"kind": "buttons", "text": text, "options": options}
        rows = [
            (row["id"], row["title"])
            for section in inter["action"].get("sections", [])
            for row in section.get("rows", [])
        ]
        return {"kind": "list", "text": text, "options": rows}
    return {"kind": str(kind), "text": "", "options": []}


class Buyer:
    def __init__(
        self,
        n: int,
        *,
        webhooks: Webhooks,
        watcher: GraphWatcher,
        control: httpx.AsyncClient,
        control_url: str,
        raffles: list[dict[str, Any]],
        config: LoadConfig,
        stats: Stats,
        deadline: float,
    ) -> None:
        self.wa_id = f"5491100{n:06d}"
        self.name = f"Buyer {n}"
        self.rng = random.Random(config.seed * 100_003 + n)
        self.webhooks, self.watcher, self.stats = webhooks, watcher, stats
        self.control, self.control_url = control, control_url
        self.raffles = raffles
        self.config = config
        self.deadline = deadline
        self.inbox = watcher.inbox(self.wa_id)
        self.last_order: str | None = None
        self.pick_attempts = 0
        self.confusions = 0
        self.replied_to_last = False  # the buyer's last move was a message (a reply is due)
        # Some people walk away from a reservation and let it lapse.
        self.abandoner = self.rng.random() < config.abandon_share

    # --- talking -------------------------------------------------------------------------------
    async def send(self, payload: dict[str, Any], action: str) -> None:
        self.replied_to_last = True
        self.stats.actions[action] += 1
        self.stats.messages_sent += 1
        await self.webhooks.deliver(payload, self.rng)

    async def text(self, text: str, action: str = "text") -> None:
        await self.send(simulator.text_message_payload(self.wa_id, text, name=self.name), action)

    async def tap(self, message: dict[str, Any], reply_id: str, action: str) -> None:
        title = dict(message["options"]).get(reply_id, reply_id)
        if message["kind"] == "list":
            payload = simulator.list_reply_payload(self.wa_id, reply_id, title, name=self.name)
        else:
            payload = simulator.button_reply_payload(self.wa_id, reply_id, title, name=self.name)
        await self.send(payload, action)

    async def proof(self) -> None:
        if self.rng.random() < 0.6:
            content = b"\xff\xd8\xff\xe0" + os.urandom(1500)
            mime = "image/jpeg"
        else:
            content = b"%PDF-1.4\n" + os.urandom(1500)
            mime = "application/pdf"
        response = await self.control.post(
            f"{self.control_url}/media", content=content, headers={"Content-Type": mime}
        )
        media_id = response.json()["id"]
        if mime == "image/jpeg":
            payload = simulator.image_payload(
                self.wa_id, media_id=media_id, content=content, mime_type=mime, name=self.name
            )
        else:
            payload = simulator.document_payload(
                self.wa_id, media_id=media_id, content=content, mime_type=mime, name=self.name
            )
        await self.send(payload, "proof")

    async def next_messages(self, timeout: float, *, reply: bool = True) -> list[dict[str, Any]]:
        """Wait for the bot, then read everything it sent meanwhile (a person reads them all).

        `reply`: waiting for the answer to what the buyer just sent (timed), not for news.
        """
        started = time.monotonic()
        try:
            first = await asyncio.wait_for(self.inbox.get(), timeout=timeout)
        except TimeoutError:
            return []
        if reply:
            self.stats.reply_waits.append(time.monotonic() - started)
        messages = [first]
        while not self.inbox.empty():
            messages.append(self.inbox.get_nowait())
        self.stats.replies_seen += len(messages)
        return [describe(m) for m in messages]

    async def think(self) -> None:
        low, high = self.config.think
        await asyncio.sleep(self.rng.uniform(low, high))

    # --- the person ----------------------------------------------------------------------------
    async def run(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.config.ramp))
        await self.text(self.rng.choice(GREETINGS), "greet")
        while time.monotonic() < self.deadline:
            wait, reply = self.config.reply_timeout, self.replied_to_last
            if self.abandoner and self.last_order == "abandoned":
                wait, reply = 90.0, False  # waiting for the expiry notice
            timeout = min(wait, self.deadline - time.monotonic() + 1)
            messages = await self.next_messages(timeout, reply=reply)
            if not messages:
                if time.monotonic() >= self.deadline:
                    return
                if self.last_order != "abandoned":
                    self.stats.unanswered += 1
                await self.text("menu", "menu-after-silence")
                continue
            await self.think()
            if time.monotonic() >= self.deadline:
                return
            while not self.inbox.empty():  # what arrived while thinking
                messages.append(describe(self.inbox.get_nowait()))
            self.replied_to_last = False
            await self.react(messages)

    async def react(self, messages: list[dict[str, Any]]) -> None:
        # The newest message with something to tap wins; else the newest text.
        actionable = [m for m in messages if m["options"]]
        message = actionable[-1] if actionable else messages[-1]
        texts = " ".join(m["text"] for m in messages)
        if "Payment confirmed" in texts:
            self.stats.actions["paid-notice"] += 1
        ids = [option for option, _ in message["options"]]

        if message["kind"] == "list":
            raffle_rows = [i for i in ids if i.startswith("raffle:")]
            if raffle_rows:
                # Most go for the big raffle's list row; some for the small one.
                row = raffle_rows[0] if self.rng.random() < 0.65 else self.rng.choice(raffle_rows)
                await self.tap(message, row, "choose-raffle")
                return
        if any(i.startswith("mode:") for i in ids):
            mode = "mode:pick" if self.rng.random() < 0.55 else "mode:random"
            choice = next(i for i in ids if i.startswith(mode))
            await self.tap(message, choice, mode.replace(":", "-"))
            return
        if any(i.startswith("qty:") for i in ids):
            if self.rng.random() < 0.8:
                await self.tap(message, self.rng.choice(ids), "qty-tap")
            else:
                await self.text(str(self.rng.randint(1, 4)), "qty-typed")
            return
        confirm = next((i for i in ids if i.startswith("confirm:")), None)
        if confirm:
            roll = self.rng.random()
            if self.abandoner and self.last_order != "abandoned":
                self.last_order = "abandoned"
                self.stats.actions["abandon-draft"] += 1
                return  # walk away: the reservation lapses
            if roll < 0.68:
                await self.tap(message, confirm, "confirm")
            elif roll < 0.78:
                await self.text("yes", "confirm-typed")
            else:
                await self.tap(message, next(i for i in ids if i.startswith("cancel:")), "cancel")
            return
        cont = next((i for i in ids if i.startswith("continue:")), None)
        if cont:
            if self.rng.random() < 0.8:
                await self.tap(message, cont, "continue")
            else:
                await self.tap(message, next(i for i in ids if i.startswith("cancel:")), "cancel")
            return

        text = texts
        if "Which numbers would you like" in text or "Please send the numbers you want" in text:
            await self.pick_numbers(message["text"])
            return
        # "We await your payment until 14:29: send a photo or PDF ..." after confirming.
        if "send a photo or pdf" in text.lower() or "waiting for a photo or PDF" in text:
            roll = self.rng.random()
            if self.abandoner and self.last_order != "abandoned":
                self.last_order = "abandoned"
                self.stats.actions["abandon-payment"] += 1
                return
            if roll < 0.92:
                await self.proof()
            else:
                await self.text("cancel", "cancel-typed")
            return
        if "received your payment proof" in text or "being reviewed" in text:
            self.last_order = "waiting-review"
            return await self.wait_quietly()
        if "expired" in text:
            self.stats.actions["saw-expiry"] += 1
            self.last_order = None
            self.abandoner = self.rng.random() < 0.05
            await self.text("menu", "menu-after-expiry")
            return
        if "Payment confirmed" in text:
            self.last_order = None
            if self.rng.random() < 0.5:
                await self.text("menu", "buy-again")
            else:
                await self.wait_quietly()
            return
        if "sold out" in text:
            self.stats.actions["saw-sold-out"] += 1
            await self.text("menu", "menu-after-sold-out")
            return
        self.confusions += 1
        self.stats.actions["confused"] += 1
        await self.text("menu" if self.confusions < 6 else "help", "menu-confused")

    async def pick_numbers(self, prompt: str) -> None:
        raffle = self._raffle_in(prompt)
        self.pick_attempts += 1
        suggestions = re.findall(r"for example: ([\d, ]+)\.", prompt)
        if suggestions and self.rng.random() < 0.5:
            numbers = [int(n) for n in suggestions[0].split(",") if n.strip()][:2]
        else:
            count = self.rng.choice([1, 1, 2, 3])
            numbers = set()
            while len(numbers) < count:
                if self.rng.random() < 0.5:
                    candidates = [n for n in POPULAR if raffle["min"] <= n <= raffle["max"]]
                    numbers.add(self.rng.choice(candidates or [raffle["min"]]))
                else:
                    numbers.add(self.rng.randint(raffle["min"], raffle["max"]))
            numbers = sorted(numbers)
        if self.pick_attempts > 4:
            self.pick_attempts = 0
            await self.text("menu", "give-up-picking")
            return
        await self.text(", ".join(str(n) for n in numbers), "type-numbers")

    def _raffle_in(self, prompt: str) -> dict[str, Any]:
        # "From 000 to 999" names the range; fall back to the big raffle.
        match = re.search(r"From (\d+) to (\d+)", prompt)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            for raffle in self.raffles:
                if raffle["min"] == low and raffle["max"] == high:
                    return raffle
        return self.raffles[0]

    async def wait_quietly(self) -> None:
        """Nothing to say: wait for the bot's next news (the operator's confirmation)."""
        self.stats.actions["wait"] += 1
        messages = await self.next_messages(max(0.1, self.deadline - time.monotonic()), reply=False)
        if messages:
            await self.think()
            await self.react(messages)


async def operator_loop(
    client: httpx.AsyncClient, base_url: str, token: str, stats: Stats, stop: asyncio.Event
) -> bool:
    """Confirm every order with a proof through the internal API. False: the API is missing."""
    headers = {"Authorization": f"Bearer {token}"}
    while not stop.is_set():
        try:
            response = await client.get(
                f"{base_url}/api/v1/orders",
                params={"status": "PENDING_PAYMENT", "has_proof": "true", "page_size": 100},
                headers=headers,
            )
        except httpx.HTTPError:
            stats.operator_errors["list-connection"] += 1
            await asyncio.sleep(1)
            continue
        if response.status_code == 404:
            return False
        if response.status_code >= 500:
            stats.five_xx.append(f"operator list {response.status_code}")
        if response.status_code != 200:
            stats.operator_errors[f"list-{response.status_code}"] += 1
            await asyncio.sleep(1)
            continue
        for order in response.json()["results"]:
            try:
                confirm = await client.post(
                    f"{base_url}/api/v1/orders/{order['id']}/confirm-payment",
                    json={"note": "checked by the e2e operator"},
                    headers=headers,
                )
            except httpx.HTTPError:
                stats.operator_errors["confirm-connection"] += 1
                continue
            if confirm.status_code == 200:
                stats.operator_confirmed += 1
            else:
                if confirm.status_code >= 500:
                    stats.five_xx.append(f"operator confirm {confirm.status_code}")
                stats.operator_errors[f"confirm-{confirm.status_code}"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.5)
    return True


async def bad_traffic(webhooks: Webhooks, stats: Stats, every: float, stop: asyncio.Event) -> None:
    """Wrong signatures and garbage mixed into the stream: each must be refused, nothing stored."""
    rng = random.Random(7)
    kinds = ["wrong-signature", "no-signature", "garbage-signed", "garbage-unsigned", "truncated"]
    expected = {
        "wrong-signature": 403,
        "no-signature": 401,
        "garbage-signed": 400,
        "garbage-unsigned": 401,
        "truncated": 400,
    }
    n = 0
    while not stop.is_set():
        n += 1
        kind = kinds[n % len(kinds)]
        payload = simulator.text_message_payload(f"5491199{n:06d}", "I am not from Meta")
        body = simulator.encode(payload)
        wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        headers = {"Content-Type": "application/json"}
        if kind == "wrong-signature":
            headers.update(simulator.signed_headers(body, "not-the-app-secret"))
            stats.rejected_wamids.add(wamid)
        elif kind == "no-signature":
            stats.rejected_wamids.add(wamid)
        elif kind == "garbage-signed":
            body = os.urandom(rng.randint(1, 300)).replace(b"{", b"x")
            headers.update(simulator.signed_headers(body, webhooks.secret))
        elif kind == "garbage-unsigned":
            body = b"<xml>not json</xml>"
        else:
            # A body cut short in transit, correctly signed over what arrived.
            body = body[: len(body) // 2]
            headers.update(simulator.signed_headers(body, webhooks.secret))
            stats.rejected_wamids.add(wamid)
        try:
            response = await webhooks.client.post(webhooks.url, content=body, headers=headers)
        except httpx.HTTPError:
            stats.bad_traffic_unexpected.append(f"{kind}: connection error")
        else:
            if response.status_code == expected[kind]:
                stats.bad_traffic[kind] += 1
            else:
                stats.bad_traffic_unexpected.append(f"{kind}: {response.status_code}")
                if response.status_code >= 500:
                    stats.five_xx.append(f"bad traffic {kind} {response.status_code}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
