"""How personal identifiers are stored: ciphertext, blind index, masked text.

Every writer (single edits, imports, the demo generator) goes through these, so the
purposes bound into ciphertexts and indexes are the same everywhere.
"""

from dataclasses import dataclass

from chaoyang import crypto

ID_PURPOSE = "person.id_number"
PHONE_PURPOSE = "phone"  # one purpose for every phone: a phone finds people and cases alike


@dataclass(frozen=True)
class ProtectedId:
    enc: bytes
    index: str
    masked: str
    head: str
    tail: str


@dataclass(frozen=True)
class ProtectedPhone:
    enc: bytes
    index: str
    masked: str


def id_index(number: str) -> str:
    """The blind index of a normalised (upper-case, 18-character) identity number."""
    return crypto.blind_index(number, purpose=ID_PURPOSE)


def protect_id_number(number: str) -> ProtectedId:
    return ProtectedId(
        enc=crypto.encrypt(number, purpose=ID_PURPOSE),
        index=id_index(number),
        masked=crypto.mask(number),
        head=number[:6],
        tail=number[-4:],
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
