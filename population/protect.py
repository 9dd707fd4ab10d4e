"""How personal identifiers are stored and shown: ciphertext, blind indexes, masked text.

Every writer (single edits, imports, the demo generator, the migrations) goes through
these, so the purposes bound into ciphertexts and indexes are the same everywhere.

What stays in clear, and why that is safe
-----------------------------------------
A GB 11643 identity number is 6 digits of area, 8 of birth date (YYYYMMDD), a 3-digit
sequence (odd for men) and a check character. Of it, a person row keeps in clear only:

- the area code (`id_area`): statistics by origin, and fragment search by area;
- the birth year (`birth_year`): ages and age bands; pages show the age, never a date;
- the sex, which is the parity of the sequence's last digit;
- the masked number: the area code and the last TWO characters, `110105**********87`.

Whoever holds all of these together (a page, an export and a pg_dump side by side) still
lacks the day of birth within the year (365) and the first two sequence digits (100): of
those 36,500 completions about one in eleven has the shown check character, so some 3,300
numbers fit. Showing the last four would leave ~33, and a birth date beside a four-digit
mask leaves one: the whole number. The fragment search still takes the last four typed by
someone who knows them, through a keyed blind index of them (`id_tail_index`), never
stored in clear.

Phones keep the first three and last four digits (`138****5678`): 10,000 candidates.

`scrub` masks identity numbers and phones inside free text (reasons, file names, import
messages) before it is stored or shown.
"""

import base64
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured

from core import crypto

ID_PURPOSE = "person.id_number"
ID_TAIL_PURPOSE = "person.id_tail"
PHONE_PURPOSE = "phone"  # one purpose for every phone: a phone finds people and cases alike
QUERY_PURPOSE = "population.search_query"
ID_MASK_HEAD = 6  # the area code
ID_MASK_TAIL = 2  # the sex digit and the check character


@dataclass(frozen=True)
class ProtectedId:
    enc: bytes
    index: str
    masked: str
    area: str
    tail_index: str


@dataclass(frozen=True)
class ProtectedPhone:
    enc: bytes
    index: str
    masked: str


def id_index(number: str) -> str:
    """The blind index of a normalised (upper-case, 18-character) identity number."""
    return crypto.blind_index(number, purpose=ID_PURPOSE)


def id_tail_index(tail: str) -> str:
    """The blind index of the last four characters (upper-case), for fragment search."""
    return crypto.blind_index(tail, purpose=ID_TAIL_PURPOSE)


def mask_id_number(number: str) -> str:
    """110105199001011287 → 110105**********87 (see the module's reasoning)."""
    return crypto.mask(number, head=ID_MASK_HEAD, tail=ID_MASK_TAIL)


def protect_id_number(number: str) -> ProtectedId:
    return ProtectedId(
        enc=crypto.encrypt(number, purpose=ID_PURPOSE),
        index=id_index(number),
        masked=mask_id_number(number),
        area=number[:6],
        tail_index=id_tail_index(number[-4:]),
    )


def reveal_id_number(enc: bytes) -> str:
    return crypto.decrypt(enc, purpose=ID_PURPOSE)


def phone_index(phone: str) -> str:
    return crypto.blind_index(phone, purpose=PHONE_PURPOSE)


def protect_phone(phone: str) -> ProtectedPhone:
    return ProtectedPhone(
        enc=crypto.encrypt(phone, purpose=f"{PHONE_PURPOSE}.value"),
        index=phone_index(phone),
        masked=crypto.mask_phone(phone),
    )


def reveal_phone(enc: bytes) -> str:
    return crypto.decrypt(enc, purpose=f"{PHONE_PURPOSE}.value")


def seal_text(text: str) -> str:
    """A search entry kept for a moment (in the session, which lives in the database):
    encrypted, so a full number typed into the search box is not at rest in clear."""
    return base64.urlsafe_b64encode(crypto.encrypt(text, purpose=QUERY_PURPOSE)).decode()


def open_text(sealed: str) -> str:
    """The text `seal_text` sealed; '' for anything else (a stale or rotated-out key)."""
    try:
        return crypto.decrypt(base64.urlsafe_b64decode(sealed), purpose=QUERY_PURPOSE)
    except (ValueError, IndexError, InvalidTag, ImproperlyConfigured):
        return ""


# An 18-character identity number, alone or inside text (not part of a longer code).
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# A phone-like run: groups of three or more digits (138 1234 5678, 010-65001234, +86 …);
# a date's two-digit groups (2024-01-01) are not one.
_PHONE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:\+86[\s-]?)?\d{3,}(?:[\s-]\d{3,})*(?![0-9A-Za-z])")
_PHONE_MIN_DIGITS = 7


def _mask_run(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0).removeprefix("+86"))
    if len(digits) < _PHONE_MIN_DIGITS:
        return match.group(0)
    return crypto.mask_phone(digits)


def scrub(text: str) -> str:
    """Free text with every identity number and phone-like digit run masked."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0).upper()), text)
    return _PHONE_IN_TEXT.sub(_mask_run, text)
