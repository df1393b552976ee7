"""Tally what a bulk action did to each order, for one clear message to the operator."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from raffles.errors import RaffleError


@dataclass
class Outcomes:
    """`3 confirmed, 1 skipped: already cancelled (#12)` — never a server error."""

    verb: str
    done: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def refuse(self, order_id: int, error: RaffleError) -> None:
        self.refused[error.message].append(order_id)

    def summary(self) -> str:
        verb = str(self.verb)
        parts = [f"{len(self.done)} {verb}"]
        if self.unchanged:
            parts.append(
                _("%(count)s already %(verb)s (%(ids)s)")
                % {"count": len(self.unchanged), "verb": verb, "ids": _ids(self.unchanged)}
            )
        for reason, ids in self.refused.items():
            parts.append(
                _("%(count)s skipped: %(reason)s (%(ids)s)")
                % {"count": len(ids), "reason": reason, "ids": _ids(ids)}
            )
        return ", ".join(parts) + "."

    @property
    def any_refused(self) -> bool:
        return bool(self.refused)


def _ids(ids: list[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)
