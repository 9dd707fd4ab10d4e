"""Check digits and normalisation for the base databases.

GB 11643-1999: an 18-character identity number is a 6-digit area code, an 8-digit birth
date, a 3-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check
character ('X' for 10). GB 32100-2015: an 18-character unified social credit code from a
31-character alphabet with a MOD 31 check character.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul

from django.utils.translation import gettext as _

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class ValidationFailure(ValueError):
    """The value is not valid; the message says why in Chinese and English."""


@dataclass(frozen=True)
class IdentityInfo:
    number: str
    area_code: str
    birth_date: date
    sex: str  # "M" or "F"


_ID_FORM = re.compile(r"[0-9]{17}[0-9X]")  # not \d: it takes Arabic-Indic digits too
# The weighted sum over ASCII digits, minus what the '0' code points add: a bulk import
# checks a million numbers, and this is a third of the cost of int() per character.
_ID_ZERO_SUM = ord("0") * sum(_ID_WEIGHTS)


def id_check_char(first17: str) -> str:
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the first 17 characters must be digits")
    total = sum(map(mul, first17.encode(), _ID_WEIGHTS)) - _ID_ZERO_SUM
    return _ID_CHECK[total % 11]


def birth_date_of(number: str) -> date:
    """The birth date inside a (valid, revealed) identity number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def parse_identity_number(raw: str) -> IdentityInfo:
    number = normalise_text(raw).replace(" ", "").upper()
    if not _ID_FORM.fullmatch(number):
        raise ValidationFailure(_("身份证号应为 18 位"))
    try:
        born = birth_date_of(number)
    except ValueError as exc:
        raise ValidationFailure(_("身份证号中的出生日期无效")) from exc
    if born.year < 1850 or born > date.today():
        raise ValidationFailure(_("身份证号中的出生日期无效"))
    if id_check_char(number[:17]) != number[17]:
        raise ValidationFailure(_("身份证号校验位错误"))
    sex = "M" if int(number[16]) % 2 else "F"
    return IdentityInfo(number, number[:6], born, sex)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(raw: str) -> str:
    code = normalise_text(raw).replace(" ", "").upper()
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        raise ValidationFailure(_("统一社会信用代码应为 18 位(不含 I、O、S、V、Z)"))
    if credit_check_char(code[:17]) != code[17]:
        raise ValidationFailure(_("统一社会信用代码校验位错误"))
    return code


_SPACES = re.compile(r"\s+")


def normalise_text(raw: str) -> str:
    """Full-width to half-width (NFKC), trimmed, inner whitespace collapsed."""
    text = unicodedata.normalize("NFKC", raw or "")
    if text.isprintable() and "  " not in text:  # the usual cell: no tab, newline or run
        return text.strip()
    return _SPACES.sub(" ", text).strip()


_ADDRESS_RULES = (
    (re.compile(r"\s+"), ""),
    (re.compile(r"(\d+)号楼"), r"\1号"),
    (re.compile(r"(\d+)栋"), r"\1号"),
    (re.compile(r"(\d+)幢"), r"\1号"),
    (re.compile(r"(\d+)座"), r"\1号"),
    (re.compile(r"(\d+)楼(?=\d)"), r"\1号"),
    (re.compile(r"(\d+)单元"), r"\1单元"),
    (re.compile(r"(\d+)门"), r"\1单元"),
    (re.compile(r"(\d+)室$"), r"\1"),
    (re.compile(r"(\d+)号$"), r"\1"),
    (re.compile(r"[-—_]"), "-"),
    (re.compile(r"^北京市"), ""),
    (re.compile(r"^朝阳区"), ""),
)


def normalise_address(raw: str) -> str:
    """A key under which variants of one address coincide.

    朝阳区 建国路 ８８号楼 ２单元 ３０１室 and 建国路88号2单元301 normalise alike: NFKC folds
    full-width digits, spaces go, 号楼/栋/幢/座 become 号, 门 becomes 单元, a trailing 室 or
    号 goes, and the city and district prefixes are dropped.
    """
    text = normalise_text(raw)
    for pattern, repl in _ADDRESS_RULES:
        text = pattern.sub(repl, text)
    return text.lower()


_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_PHONE_FORM = re.compile(r"[0-9]{7,12}")


def normalise_phone(raw: str) -> str:
    digits = _PHONE_SEPARATORS.sub("", normalise_text(raw))
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _PHONE_FORM.fullmatch(digits):
        raise ValidationFailure(_("电话号码格式不正确"))
    return digits
