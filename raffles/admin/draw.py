"""The draw in the raffle admin: prizes (inline), the draw's proof on the raffle page, and
"Run the draw" with a confirmation page listing the orders to settle first.

Running it needs `raffles.run_draw` (Cashiers don't have it); it calls the draw service like
the API and the command do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from raffles.errors import RaffleError
from raffles.models import ChangeSource, Draw, DrawMethod, Prize, Raffle
from raffles.services.draw import orders_to_settle, run_draw

RUN_DRAW_PERMISSION = "raffles.run_draw"
# A mistyped paste must not become a 10,000-line form value.
_RESULTS_MAX = 100


class PrizeInline(admin.TabularInline):
    """A raffle's prizes, in order; fixed once the raffle is drawn."""

    model = Prize
    extra = 1
    fields = ["position", "title", "description", "outcome", "winner"]
    readonly_fields = ["outcome", "winner"]
    ordering = ["position"]

    @admin.display(description="Winner")
    def winner(self, prize: Prize) -> str:
        if prize.winning_order_id is None:
            return "—" if prize.winning_number is None else f"{prize.winning_number} (unsold)"
        return format_html(
            '{} — <a href="{}">order #{}</a>',
            prize.raffle.format_number(prize.winning_number),
            reverse("admin:raffles_order_change", args=[prize.winning_order_id]),
            prize.winning_order_id,
        )

    def _drawn(self, obj: Any) -> bool:
        return obj is not None and obj.drawn_at is not None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._drawn(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._drawn(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._drawn(obj) and super().has_delete_permission(request, obj)


def draw_proof(raffle: Raffle) -> str:
    """The raffle page's "Draw" box: what is published before, the result and proof after."""
    if raffle.pk is None:
        return "—"
    draw = Draw.objects.filter(raffle_id=raffle.pk).first()
    rows: list[tuple[str, str]] = [("Method", raffle.get_draw_method_display())]
    if raffle.draw_method == DrawMethod.LOTTERY:
        rows.append(("Lottery", f"{raffle.lottery_name}, {raffle.lottery_date or '—'}"))
        rows.append(("Unsold number", raffle.get_unsold_policy_display()))
    else:
        rows.append(("Seed commitment (SHA-256)", raffle.seed_commitment or "made when sales open"))
    rows.append(("Sales close", str(raffle.sales_close_at or "— (set the draw date)")))
    if raffle.sales_closed_at:
        rows.append(("Sales closed", str(raffle.sales_closed_at)))
        rows.append(
            (
                "Sold list at the close (SHA-256)",
                f"{raffle.closing_sold_sha256} ({raffle.closing_sold_count} numbers)",
            )
        )
    if draw is not None:
        rows.append(("Drawn", f"{draw.drawn_at} by {draw.drawn_by or draw.get_source_display()}"))
        if draw.seed:
            rows.append(("Revealed seed", draw.seed))
        rows.append(("Sold list drawn (SHA-256)", f"{draw.sold_sha256} ({draw.sold_count})"))
        if draw.lottery_results:
            rows.append(("Lottery results", ", ".join(draw.lottery_results)))
        for entry in draw.results:
            who = f"order #{entry['order_id']}" if entry["order_id"] else "the house keeps it"
            rows.append(
                (f"{entry['position']}. {entry['title']}", f"{entry['number'] or '—'}, {who}")
            )
        if draw.cancelled_order_ids:
            rows.append(("Unpaid orders cancelled", ", ".join(map(str, draw.cancelled_order_ids))))
    table = format_html_join("", "<tr><th>{}</th><td><code>{}</code></td></tr>", rows)
    link = ""
    if draw is None:
        link = format_html(
            '<a class="btn btn-sm btn-outline-primary" href="{}">Run the draw…</a>',
            reverse("admin:raffles_raffle_run_draw", args=[raffle.pk]),
        )
    return format_html('<table class="table table-sm raffle-draw">{}</table>{}', table, link)


class DrawForm(forms.Form):
    lottery_results = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Official lottery: each published result on its own line, in prize order.",
    )
    cancel_unpaid = forms.BooleanField(
        required=False,
        label="Cancel the orders still unpaid (their buyers are told)",
    )

    def clean_lottery_results(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["lottery_results"].splitlines()]
        results = [line for line in lines if line]
        if len(results) > _RESULTS_MAX:
            raise forms.ValidationError(f"At most {_RESULTS_MAX} results.")
        for result in results:
            if not result.isascii() or not result.isdigit() or len(result) > 32:
                raise forms.ValidationError(f"{result[:40]!r} is not a lottery result (digits).")
        return results


def run_draw_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, raffle_id: int
) -> HttpResponse:
    """GET: the confirmation page. POST: run the draw, then back to the raffle."""
    if not request.user.has_perm(RUN_DRAW_PERMISSION):
        raise PermissionDenied
    raffle = get_object_or_404(Raffle, pk=raffle_id)
    change_url = reverse("admin:raffles_raffle_change", args=[raffle.pk])
    form = DrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            run_draw(
                raffle=raffle,
                lottery_results=form.cleaned_data["lottery_results"],
                cancel_unpaid=form.cleaned_data["cancel_unpaid"],
                by=request.user,
                source=ChangeSource.OPERATOR,
            )
        except RaffleError as error:
            model_admin.message_user(request, f"Not drawn: {error.message}", messages.ERROR)
        else:
            model_admin.message_user(request, "The raffle was drawn.", messages.SUCCESS)
            return HttpResponseRedirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Run the draw of {raffle.title}",
        "raffle": raffle,
        "opts": Raffle._meta,
        "form": form,
        "proof": draw_proof(raffle),
        "prizes": list(raffle.prizes.order_by("position")),
        "unpaid": orders_to_settle(raffle=raffle) if raffle.drawn_at is None else [],
        "lottery": raffle.draw_method == DrawMethod.LOTTERY,
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/raffles/raffle/run_draw.html", context)
