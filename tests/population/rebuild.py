"""What an onlooker could rebuild: how many identity numbers fit everything shown.

A GB 11643 number is area (6) + birth date (8) + sequence (3, the last digit odd for men)
+ check character. Given the area code, the birth year, the sex and a masked number
(`*` for hidden characters), `candidates` counts the valid numbers that agree with all of
them: every date of that year (up to today), every sequence of the right parity, the
characters the mask shows, and a check character that is right. The tests require at
least MIN_CANDIDATES for every person, whatever they can see together.
"""

from datetime import date, timedelta
from functools import cache

from population.validators import id_check_char

MIN_CANDIDATES = 1000
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def _agrees(text: str, masked: str, start: int) -> bool:
    """Whether `text`, placed at `start`, matches every character the mask shows there."""
    return all(m in ("*", c) for c, m in zip(text, masked[start : start + len(text)], strict=True))


def _weighted(text: str, start: int) -> int:
    return sum(int(c) * w for c, w in zip(text, _WEIGHTS[start:], strict=False))


def _dates(year: int) -> list[str]:
    day, end = date(year, 1, 1), min(date(year, 12, 31), date.today())
    out = []
    while day <= end:
        out.append(f"{day:%Y%m%d}")
        day += timedelta(days=1)
    return out


@cache
def candidates(*, area: str, birth_year: int, sex: str, masked: str) -> int:
    """The count, by sums modulo 11: a date's part and a sequence's part of the check
    sum are independent, so their residues are counted separately and combined."""
    assert len(masked) == 18 and len(area) == 6, masked
    if not _agrees(area, masked, 0):
        return 0
    by_date = [0] * 11
    for d in _dates(birth_year):
        if _agrees(d, masked, 6):
            by_date[_weighted(d, 6) % 11] += 1
    by_seq = [0] * 11
    for n in range(1000):
        seq = f"{n:03d}"
        if (n % 2 == 1) == (sex == "M") and _agrees(seq, masked, 14):
            by_seq[_weighted(seq, 14) % 11] += 1
    head = _weighted(area, 0)
    total = 0
    for x, dates in enumerate(by_date):
        for y, seqs in enumerate(by_seq):
            if _agrees(_CHECK[(head + x + y) % 11], masked, 17):
                total += dates * seqs
    return total


def candidates_by_brute_force(*, area: str, birth_year: int, sex: str, masked: str) -> int:
    """The same count, number by number: slow, for checking `candidates` itself."""
    total = 0
    for d in _dates(birth_year):
        for n in range(1 if sex == "M" else 0, 1000, 2):
            first17 = f"{area}{d}{n:03d}"
            if _agrees(first17 + id_check_char(first17), masked, 0):
                total += 1
    return total
