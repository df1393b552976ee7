"""The draw's arithmetic, with no database: what anyone can recompute from the published values.

- The seed is 64 hex characters; its commitment is SHA-256 of those characters (ASCII).
- The sold list is every sold number, ascending, written with the raffle's width (leading
  zeros) and a newline after each; its hash is SHA-256 of that text.
- Random winners: block c = HMAC-SHA256(key = the seed's characters, message = "<sold list
  hash>:<c>") for c = 0, 1, 2...; read as a 256-bit unsigned big-endian integer x. With m
  numbers still in the list, a block is rejected when x >= 2^256 - (2^256 mod m) (so every
  index is equally likely: no modulo bias), else the winner is the list's entry at x mod m,
  which leaves the list. One winner per prize, in prize order; c goes up by one for every block.
- Official lottery: a result's winning number is its last k digits, k the width of the
  raffle's numbers (00-99 -> 2), leading zeros included.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "LotteryPick",
    "lottery_number",
    "lottery_picks",
    "new_seed",
    "pick_index",
    "random_winners",
    "seed_commitment",
    "sold_list_sha256",
    "sold_list_text",
]

_SPACE = 2**256


def new_seed() -> str:
    """A secret seed: 32 random bytes from the OS, as 64 lowercase hex characters."""
    return secrets.token_hex(32)


def seed_commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def sold_list_text(numbers: Iterable[int], *, width: int) -> str:
    """`"007\\n012\\n"`: what `sha256sum` of a file with one sold number per line hashes."""
    return "".join(f"{number:0{width}d}\n" for number in sorted(numbers))


def sold_list_sha256(numbers: Iterable[int], *, width: int) -> str:
    return hashlib.sha256(sold_list_text(numbers, width=width).encode("ascii")).hexdigest()


def random_winners(*, seed: str, sold: Sequence[int], sold_sha256: str, prizes: int) -> list[int]:
    """The winning numbers, one per prize in order, never repeated; fewer when fewer numbers
    were sold than there are prizes."""
    remaining = sorted(sold)
    key = seed.encode("ascii")
    winners: list[int] = []
    counter = 0
    while len(winners) < prizes and remaining:
        block = hmac.new(key, f"{sold_sha256}:{counter}".encode("ascii"), hashlib.sha256)
        counter += 1
        index = pick_index(int.from_bytes(block.digest(), "big"), len(remaining))
        if index is not None:
            winners.append(remaining.pop(index))
    return winners


def pick_index(x: int, m: int) -> int | None:
    """The index a 256-bit block picks among `m` numbers, or None when the block falls in the
    top sliver (x >= 2^256 - 2^256 mod m) that would favour low indexes: then draw again."""
    if x >= _SPACE - _SPACE % m:
        return None
    return x % m


def lottery_number(result: str, *, width: int) -> int:
    """The winning number a published result gives: its last `width` digits.

    Raises ValueError for a result that is not digits or is shorter than the raffle's numbers.
    """
    digits = result.strip().replace(" ", "")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{result!r} is not a number")
    if len(digits) < width:
        raise ValueError(f"{result!r} has fewer than {width} digits")
    return int(digits[-width:])


@dataclass(frozen=True)
class LotteryPick:
    """One result read for one prize: its number, and whether a sold number won it."""

    position: int  # the prize's position, 1-based
    result: str
    number: int
    won: bool
    # NEXT_RESULT policy: an unsold result is set aside and the prize waits for the next one.
    void: bool = False


def lottery_picks(
    *, results: Sequence[str], prizes: int, width: int, sold: set[int], next_result: bool
) -> list[LotteryPick]:
    """Read the results in order against the prizes in order.

    With `next_result` an unsold number is void and the same prize takes the next result;
    otherwise the house keeps that prize. Raises ValueError when a result is unreadable, when
    the results run out before every prize is decided, or when results are left over."""
    picks: list[LotteryPick] = []
    position = 1
    for result in results:
        if position > prizes:
            raise ValueError(f"more results than prizes need ({len(results)} given)")
        number = lottery_number(result, width=width)
        won = number in sold
        void = next_result and not won
        picks.append(LotteryPick(position, result.strip(), number, won, void))
        if not void:
            position += 1
    if position <= prizes:
        raise ValueError(
            f"prize {position} of {prizes} is not decided yet: type another published result"
        )
    return picks
