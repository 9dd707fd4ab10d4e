"""Personal identifiers at rest: AES-GCM with rotating keys, plus an HMAC blind index.

Ciphertexts carry the id of the key that made them, so keys can rotate: new values use
the first key, old ones stay readable while their key is still listed. Lookups never
decrypt: an exact-match search or a de-duplication compares the blind index, an HMAC
under a separate key, so one leaked key gives neither the values nor the index.
"""

import base64
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_VERSION = b"\x01"


@lru_cache(maxsize=1)
def _keys() -> tuple[str, dict[str, bytes]]:
    """(current key id, all keys by id) from FIELD_ENCRYPTION_KEYS = "kid:base64,kid:base64"."""
    spec: str = settings.FIELD_ENCRYPTION_KEYS
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kid, _, b64 = part.partition(":")
        key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if not kid or len(kid) > 16 or len(key) not in (16, 24, 32):
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS entries must be 'kid:base64key' with a 128/192/256-bit key"
            )
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return order[0], keys


@lru_cache(maxsize=1)
def _index_key() -> bytes:
    b64: str = settings.BLIND_INDEX_KEY
    key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    if len(key) < 16:
        raise ImproperlyConfigured("BLIND_INDEX_KEY must be at least 128 bits (base64)")
    return key


@lru_cache(maxsize=16)
def _cipher(key: bytes) -> AESGCM:
    """One cipher object per key: building it is a measurable share of a bulk import."""
    return AESGCM(key)


def reset_key_cache() -> None:
    """For tests that change the keys."""
    _keys.cache_clear()
    _index_key.cache_clear()
    _cipher.cache_clear()


def encrypt(value: str, *, purpose: str) -> bytes:
    """Encrypt under the current key. `purpose` (e.g. "person.id_number") is bound as
    associated data, so a ciphertext copied into another column does not decrypt."""
    kid, keys = _keys()
    nonce = os.urandom(12)
    sealed = _cipher(keys[kid]).encrypt(nonce, value.encode(), purpose.encode())
    kid_b = kid.encode()
    return _VERSION + bytes([len(kid_b)]) + kid_b + nonce + sealed


def decrypt(blob: bytes, *, purpose: str) -> str:
    blob = bytes(blob)
    if blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    n = blob[1]
    kid = blob[2 : 2 + n].decode()
    nonce = blob[2 + n : 14 + n]
    _, keys = _keys()
    if kid not in keys:
        raise ImproperlyConfigured(f"ciphertext made with key {kid!r}, which is not configured")
    return _cipher(keys[kid]).decrypt(nonce, blob[14 + n :], purpose.encode()).decode()


def key_id(blob: bytes) -> str:
    blob = bytes(blob)
    return blob[2 : 2 + blob[1]].decode()


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed, deterministic digest for exact lookups; the caller normalises the value."""
    digest = hmac.digest(_index_key(), purpose.encode() + b"\x00" + value.encode(), "sha256")
    return digest.hex()[:32]


def mask(value: str, *, head: int = 6, tail: int = 4) -> str:
    """First `head` and last `tail` characters, the rest as asterisks.

    110105199001011234 → 110105********1234
    """
    if len(value) <= head + tail:
        return value[: max(1, len(value) // 3)] + "*" * (len(value) - max(1, len(value) // 3))
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_phone(value: str) -> str:
    """Phones keep the first 3 and last 4 digits (138****5678), as Chinese services show them."""
    return mask(value, head=3, tail=4)
