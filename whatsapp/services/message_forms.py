"""Free form or template: how a queued notice goes out, decided at delivery time.

Inside the 24-hour window a notice goes as its free-form message (the row's `payload`). Once the
window has closed only an APPROVED template gets through, so the notice is sent as the template
its kind maps to, in the buyer's language, filled with the notice's values. With no usable
template the message needs one (`NeedsTemplate`): delivery marks it and does not retry it. A
131047 from Meta (the window closed as far as Meta knows) turns a free-form notice into its
template on the spot. Plain bot replies (no notice kind) always go as they are.

`send(graph, outbound)` is the one call delivery makes in place of `graph.send(payload)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.utils import timezone

from whatsapp.client import GraphClient, PermanentGraphError, SendResult
from whatsapp.models import (
    CUSTOMER_SERVICE_WINDOW,
    Contact,
    MessageTemplate,
    NoticeTemplate,
    OutboundMessage,
    OutboundStatus,
)
from whatsapp.notices import BUYER_NAME

__all__ = [
    "RE_ENGAGEMENT_CODE",
    "Form",
    "NeedsTemplate",
    "choose_form",
    "language_preferences",
    "send",
    "template_payload",
    "window_open",
]

# Meta's "re-engagement message": a free-form send outside the 24-hour window.
RE_ENGAGEMENT_CODE = "131047"
# Meta's answers to a template send that only a change to the template can fix: parameter
# mismatch, missing template or translation, format mismatch, paused, disabled.
TEMPLATE_REFUSED_CODES = frozenset(
    {"132000", "132001", "132005", "132007", "132012", "132015", "132016"}
)
# The window is judged a little short: a message decided at 23h59 may reach Meta after 24h.
WINDOW_MARGIN = timedelta(minutes=5)
# Meta refuses a text parameter that is empty, has a newline or tab, or over 4 spaces in a row.
_PARAMETER_MAX = 1024


class NeedsTemplate(Exception):
    """No approved, well-fitting template carries this notice; `code` says which problem."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Form:
    kind: Literal["free_form", "template", "needs_template"]
    payload: dict[str, Any] | None = None
    template: MessageTemplate | None = None
    problem: NeedsTemplate | None = None


# --- the decision -----------------------------------------------------------------------------
def window_open(last_inbound_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a free-form message still gets through (the buyer wrote within 24 hours)."""
    if last_inbound_at is None:
        return False
    now = now or timezone.now()
    return now - last_inbound_at < CUSTOMER_SERVICE_WINDOW - WINDOW_MARGIN


def choose_form(*, outbound: OutboundMessage, now: datetime | None = None) -> Form:
    """Free form inside the window (or for a plain reply), else the notice's template."""
    if not outbound.notice_kind:
        return Form("free_form", payload=outbound.payload)
    contact = outbound.contact
    if window_open(contact.last_inbound_at, now=now):
        return Form("free_form", payload=outbound.payload)
    return template_form(outbound=outbound, contact=contact)


def template_form(*, outbound: OutboundMessage, contact: Contact) -> Form:
    try:
        template, payload = template_payload(
            notice_kind=outbound.notice_kind,
            values=_values(outbound, contact),
            to=str((outbound.payload or {}).get("to") or contact.wa_id),
            language=contact.language,
        )
    except NeedsTemplate as problem:
        return Form("needs_template", problem=problem)
    return Form("template", payload=payload, template=template)


def _values(outbound: OutboundMessage, contact: Contact) -> dict[str, str]:
    values = {str(k): str(v) for k, v in (outbound.template_params or {}).items()}
    # The buyer's name is known at delivery time, so a broadcast need not store one per row.
    values.setdefault(BUYER_NAME, contact.profile_name or "")
    return values


# --- sending ------------------------------------------------------------------------------------
def send(graph: GraphClient, outbound: OutboundMessage) -> SendResult:
    """Send the row in the form the window allows; raises NeedsTemplate or GraphError."""
    form = choose_form(outbound=outbound)
    if form.problem is not None:
        raise form.problem
    assert form.payload is not None
    try:
        result = _send_form(graph, form)
    except PermanentGraphError as error:
        if error.code != RE_ENGAGEMENT_CODE or form.kind != "free_form" or not outbound.notice_kind:
            raise
        # Meta says the window has closed (our last-inbound time disagreed): the template now,
        # in the same attempt, rather than a failed notice.
        form = template_form(outbound=outbound, contact=outbound.contact)
        if form.problem is not None:
            raise NeedsTemplate(
                f"{form.problem} (Meta answered {RE_ENGAGEMENT_CODE}: the 24-hour window is "
                "closed)",
                code=form.problem.code,
            ) from error
        assert form.payload is not None
        result = _send_form(graph, form)
    if form.template is not None:
        _note_template(outbound, form.template)
    return result


def _send_form(graph: GraphClient, form: Form) -> SendResult:
    assert form.payload is not None
    try:
        return graph.send(form.payload)
    except PermanentGraphError as error:
        if form.template is None or error.code not in TEMPLATE_REFUSED_CODES:
            raise
        # The registry was out of date (deleted, paused, changed at Meta): an operator fixes
        # the template and syncs; retrying as it is cannot help.
        raise NeedsTemplate(
            f"Meta refused template {form.template.name} ({form.template.language}): "
            f"{error.code} {error}",
            code="template_refused",
        ) from error


def _note_template(outbound: OutboundMessage, template: MessageTemplate) -> None:
    """Which template carried the row (shown in the admin); fenced like delivery's outcome."""
    OutboundMessage.objects.filter(
        pk=outbound.pk, status=OutboundStatus.SENDING, attempts=outbound.attempts
    ).update(template_name=template.name, template_language=template.language)
    outbound.template_name, outbound.template_language = template.name, template.language


# --- which template ---------------------------------------------------------------------------
def _normal(code: str) -> str:
    return code.strip().replace("-", "_").lower()


def language_preferences(language: str = "") -> list[str]:
    """Languages to try, best first: the buyer's ("es_mx", then "es"), then LANGUAGE_CODE's."""
    preferences: list[str] = []
    for code in (language, settings.LANGUAGE_CODE):
        if not code or not code.strip():
            continue
        exact = _normal(code)
        for candidate in (exact, exact.split("_")[0]):
            if candidate not in preferences:
                preferences.append(candidate)
    return preferences


@dataclass(frozen=True)
class _Mapping:
    template_name: str
    parameters: tuple[str, ...]


def notice_mappings(notice_kind: str) -> dict[str, _Mapping]:
    """Mappings by normalised language ("" for every language): settings, then admin rows."""
    mappings: dict[str, _Mapping] = {}
    default = settings.WHATSAPP_NOTICE_TEMPLATES.get(notice_kind)
    if default:
        mappings[""] = _Mapping(str(default["template"]), tuple(default.get("parameters") or ()))
    for row in NoticeTemplate.objects.filter(notice_kind=notice_kind):
        mappings[_normal(row.language)] = _Mapping(row.template_name, tuple(row.parameters or ()))
    return mappings


def _mapping_for(mappings: Mapping[str, _Mapping], language: str) -> _Mapping | None:
    code = _normal(language)
    return mappings.get(code) or mappings.get(code.split("_")[0]) or mappings.get("")


def _rank(template: MessageTemplate, preferences: Sequence[str]) -> int | None:
    """Position of the template's language among the preferences (None: not wanted)."""
    code = _normal(template.language)
    for position, wanted in enumerate(preferences):
        if code == wanted:
            return 2 * position
        if "_" not in wanted and code.split("_")[0] == wanted:
            return 2 * position + 1  # "es_MX" when "es" is wanted, after an exact "es"
    return None


def choose_template(
    *, notice_kind: str, language: str = ""
) -> tuple[MessageTemplate, tuple[str, ...]]:
    """The APPROVED template for a notice in the best language, with its parameter order."""
    mappings = notice_mappings(notice_kind)
    if not mappings:
        raise NeedsTemplate(
            f"no template is mapped for notice {notice_kind!r}", code="template_unmapped"
        )
    preferences = language_preferences(language)
    names = {mapping.template_name for mapping in mappings.values()}
    candidates = []
    for template in MessageTemplate.objects.filter(name__in=names):
        mapping = _mapping_for(mappings, template.language)
        rank = _rank(template, preferences)
        if mapping is not None and mapping.template_name == template.name and rank is not None:
            candidates.append((rank, template.language, template, mapping))
    candidates.sort(key=lambda item: (item[0], item[1]))
    for _, _, template, mapping in candidates:
        if template.approved:
            return template, mapping.parameters
    if candidates:
        unusable = ", ".join(f"{t.name} ({t.language}) is {t.status}" for _, _, t, _ in candidates)
        raise NeedsTemplate(
            f"no approved template for notice {notice_kind!r}: {unusable}",
            code="template_not_approved",
        )
    wanted = " or ".join(sorted(names))
    raise NeedsTemplate(
        f"no template {wanted} in {', '.join(preferences)} for notice {notice_kind!r} "
        "(create it in WhatsApp Manager, then sync the templates)",
        code="template_missing",
    )


def template_payload(
    *, notice_kind: str, values: Mapping[str, str], to: str, language: str = ""
) -> tuple[MessageTemplate, dict[str, Any]]:
    """Meta's template message body, its parameters checked against the registry first."""
    template, order = choose_template(notice_kind=notice_kind, language=language)
    parameters = _body_parameters(template, order, values)
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if parameters:
        body["components"] = [{"type": "body", "parameters": parameters}]
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": body,
    }
    return template, payload


def _body_parameters(
    template: MessageTemplate, order: Sequence[str], values: Mapping[str, str]
) -> list[dict[str, str]]:
    """Checked before sending: Meta would refuse the message (132000) after a round trip."""
    label = f"template {template.name} ({template.language})"
    if not template.components:
        raise NeedsTemplate(
            f"{label}: its components are unknown; sync the templates", code="template_params"
        )
    if template.other_placeholders:
        raise NeedsTemplate(
            f"{label} has variables outside its body (header or button), which notices do not fill",
            code="template_params",
        )
    placeholders = template.body_placeholders
    named = bool(placeholders) and not all(name.isdigit() for name in placeholders)
    if named:
        # Named parameters ({{order}}): the template's own names pick the notice's values.
        names = placeholders
    else:
        if len(order) != len(placeholders):
            raise NeedsTemplate(
                f"{label} has {len(placeholders)} body parameter(s); the mapping gives "
                f"{len(order)} ({', '.join(order) or 'none'})",
                code="template_params",
            )
        names = list(order)
    missing = [name for name in names if name not in values]
    if missing:
        raise NeedsTemplate(
            f"{label}: the notice has no value for {', '.join(missing)}", code="template_params"
        )
    parameters = []
    for name in names:
        parameter = {"type": "text", "text": _parameter_text(values[name])}
        if named:
            parameter["parameter_name"] = name
        parameters.append(parameter)
    return parameters


def _parameter_text(value: str) -> str:
    text = " ".join(str(value).split())  # no newlines, tabs or runs of spaces
    if len(text) > _PARAMETER_MAX:
        text = text[: _PARAMETER_MAX - 1] + "\u2026"
    return text or "-"
