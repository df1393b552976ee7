"""Money and times said the local way, for the bot, the admin and the CSV export alike.

Babel holds the rules of each language (digit grouping, decimal mark, month and day names) so
nothing here is hand-made; the active Django language decides which rules apply.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

__all__ = ["list_separator", "local_deadline", "local_stamp", "money", "raffle_zone"]


def _locale() -> Locale:
    code = translation.get_language() or settings.LANGUAGE_CODE
    try:
        return Locale.parse(translation.to_locale(code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def money(amount: Decimal | int | str, currency: str) -> str:
    """`15,000.00 ARS` in English, `15.000,00 ARS` in Spanish: the language's digits, the code
    after the amount so buyers in countries that all write "$" know which dollars."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"{format_decimal(value, format='#,##0.00', locale=_locale())} {currency}"


def raffle_zone(raffle: object | None) -> zoneinfo.ZoneInfo:
    """The raffle's own time zone, or the site's when the raffle names none (or an unknown one)."""
    name = getattr(raffle, "time_zone", "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_deadline(
    moment: dt.datetime, *, zone: dt.tzinfo | None = None, now: dt.datetime | None = None
) -> str:
    """A deadline as people say it where the raffle runs: "14:29" today, "14:29 on Fri 4 Dec"
    (Spanish "14:29 del viernes 4 de diciembre") on another day. No zone name: buyers live in
    it. Sentences put it after "before" / "antes de las"."""
    zone = zone or timezone.get_current_timezone()
    local = moment.astimezone(zone)
    today = (now or timezone.now()).astimezone(zone).date()
    locale = _locale()
    clock = format_time(local, format="HH:mm", locale=locale)
    if local.date() == today:
        return clock
    # Translators: a Babel (CLDR) date pattern; Spanish "EEEE d 'de' MMMM".
    day = format_date(local.date(), format=_("EEE d MMM"), locale=locale)
    # Translators: a time on another day, read after "before"; Spanish "%(time)s del %(day)s".
    return _("%(time)s on %(day)s") % {"time": clock, "day": day}


def local_stamp(moment: dt.datetime | None, *, raffle: object | None = None) -> str:
    """A moment for a table or spreadsheet, in the raffle's time zone: `2026-12-04 14:29`."""
    if moment is None:
        return ""
    return moment.astimezone(raffle_zone(raffle)).strftime("%Y-%m-%d %H:%M")


def list_separator() -> str:
    """The column separator spreadsheets expect in this language: Excel in a language whose
    decimal mark is a comma (Spanish) splits CSV columns on ";"."""
    return ";" if _locale().number_symbols["latn"]["decimal"] == "," else ","
