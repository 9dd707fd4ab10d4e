"""Encryption at rest with rotating keys, the blind index, masking."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from django.test import override_settings

from core import crypto


@pytest.fixture(autouse=True)
def _fresh_keys() -> object:
    crypto.reset_key_cache()
    yield
    crypto.reset_key_cache()


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_and_fresh_nonce() -> None:
    a = crypto.encrypt("110105199001011234", purpose="person.id_number")
    b = crypto.encrypt("110105199001011234", purpose="person.id_number")
    assert a != b  # a random nonce each time: equal values don't show as equal ciphertexts
    assert b"110105199001011234" not in a
    assert crypto.decrypt(a, purpose="person.id_number") == "110105199001011234"


def test_ciphertext_is_bound_to_its_purpose() -> None:
    blob = crypto.encrypt("13800138000", purpose="person.phone")
    with pytest.raises(InvalidTag):
        crypto.decrypt(blob, purpose="person.id_number")


def test_rotation_keeps_old_values_readable() -> None:
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k1:{old}"):
        crypto.reset_key_cache()
        blob = crypto.encrypt("secret", purpose="p")
        assert crypto.key_id(blob) == "k1"
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{new},k1:{old}"):
        crypto.reset_key_cache()
        assert crypto.decrypt(blob, purpose="p") == "secret"
        assert crypto.key_id(crypto.encrypt("x", purpose="p")) == "k2"
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{new}"):
        crypto.reset_key_cache()
        with pytest.raises(Exception, match="k1"):
            crypto.decrypt(blob, purpose="p")


def test_blind_index_is_deterministic_keyed_and_purpose_separated() -> None:
    a = crypto.blind_index("13800138000", purpose="phone")
    assert a == crypto.blind_index("13800138000", purpose="phone")
    assert a != crypto.blind_index("13800138000", purpose="id_number")
    with override_settings(BLIND_INDEX_KEY=_key()):
        crypto.reset_key_cache()
        assert a != crypto.blind_index("13800138000", purpose="phone")


def test_masks() -> None:
    assert crypto.mask("110105199001011234") == "110105********1234"
    assert crypto.mask_phone("13800138000") == "138****8000"
    assert "1234" not in crypto.mask("1234")[1:]


def test_bad_key_configuration_is_refused() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(FIELD_ENCRYPTION_KEYS="nokey"):
        crypto.reset_key_cache()
        with pytest.raises(ImproperlyConfigured):
            crypto.encrypt("x", purpose="p")
