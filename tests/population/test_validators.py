"""GB 11643 identity numbers, GB 32100 credit codes, address normalisation."""

from datetime import date

import pytest

from population.validators import (
    ValidationFailure,
    credit_check_char,
    id_check_char,
    normalise_address,
    normalise_phone,
    parse_credit_code,
    parse_identity_number,
)

VALID_IDS = ["11010519491231002X", "110105198001010016", "440524188001010014"]
INVALID_IDS = [
    ("110105194912310021", "校验位"),  # wrong check digit
    ("11010519491331002X", "出生日期"),  # month 13
    ("1101051949123100", "18 位"),  # too short
    ("11010519491231002Y", "18 位"),  # bad character
]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_identity_numbers(number: str) -> None:
    info = parse_identity_number(number)
    assert info.number == number
    assert info.area_code == number[:6]
    assert info.sex == ("M" if int(number[16]) % 2 else "F")


def test_identity_number_fields_and_full_width_input() -> None:
    info = parse_identity_number("１１０１０５１９４９１２３１００２ｘ")
    assert info.number == "11010519491231002X"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"


@pytest.mark.parametrize(("number", "reason"), INVALID_IDS)
def test_invalid_identity_numbers(number: str, reason: str) -> None:
    with pytest.raises(ValidationFailure, match=reason):
        parse_identity_number(number)


def test_check_digit_algorithm_covers_x() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("11010519800101001") == "6"


@pytest.mark.parametrize(
    "first17",
    ["1101051949123100", "110105194912310021", "1101051949123100X", "11010519491231００2"],
)
def test_check_digit_needs_seventeen_ascii_digits(first17: str) -> None:
    with pytest.raises(ValueError):
        id_check_char(first17)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_valid_credit_codes(code: str) -> None:
    assert parse_credit_code(code.lower()) == code


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43"])
def test_invalid_credit_codes(code: str) -> None:
    with pytest.raises(ValidationFailure):
        parse_credit_code(code)


def test_credit_check_char() -> None:
    assert credit_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    "variant",
    [
        "北京市朝阳区 建国路 ８８号楼 ２单元 ３０１室",
        "建国路88号2单元301",
        "建国路88栋2单元301室",
        "朝阳区建国路88幢2门301",
    ],
)
def test_address_variants_normalise_alike(variant: str) -> None:
    assert normalise_address(variant) == "建国路88号2单元301"


def test_different_addresses_stay_different() -> None:
    assert normalise_address("建国路88号2单元301") != normalise_address("建国路88号2单元302")


def test_phone_normalisation() -> None:
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    with pytest.raises(ValidationFailure):
        normalise_phone("12ab")


def test_scrub_masks_identity_numbers_and_phones_in_free_text() -> None:
    from population.protect import scrub

    number = "11010519491231002X"
    assert scrub(f"核对{number}的户籍") == "核对110105**********2X的户籍"
    assert scrub(f"file-{number.lower()}.csv") == "file-110105**********2X.csv"
    for phone in ("13812345678", "138 1234 5678", "+86 138-1234-5678"):
        assert scrub(f"电话{phone}无人接") == "电话138****5678无人接", phone
    assert scrub("座机 010-65001234") == "座机 010****1234"
    # Dates, small counts, coordinates and credit codes stay as they are.
    kept = "2024-01-01 第 57 行 116.4603,39.9088 91110000600037341L"
    assert scrub(kept) == kept
