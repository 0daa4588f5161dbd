"""Commit–reveal of sealed bids, and whose failure a failed decryption is."""

from __future__ import annotations

import hashlib

import pytest

from ledger.procedures.sealed_bids import DecryptionFailed, open_sealed, seal

BID = {"bidder": "bidder-0001", "price": "83760800.00", "duration_days": 540}
KEY, NONCE = bytes(range(32)), bytes(24)


def test_a_sealed_bid_opens_with_its_key_and_matches_its_commitment():
    encrypted, commitment = seal(BID, KEY, NONCE)
    assert commitment == hashlib.sha256(encrypted).hexdigest()
    assert b"83760800.00" not in encrypted  # nothing readable before the opening
    opened = open_sealed(encrypted, KEY, commitment)
    assert opened.bid == BID
    assert opened.plaintext_hash == hashlib.sha256(
        b'{"bidder":"bidder-0001","duration_days":540,"price":"83760800.00"}').hexdigest()


@pytest.mark.parametrize("encrypted, key, cause", [
    ("swapped", KEY, "others"),       # the platform holds another file than was committed
    (None, KEY, "others"),            # the platform lost the file
    ("right", None, "bidder"),        # the bidder released no key
    ("right", bytes(32), "bidder"),   # the bidder released the wrong key
])
def test_a_failed_decryption_is_attributed(encrypted, key, cause):
    right, commitment = seal(BID, KEY, NONCE)
    other, _ = seal({**BID, "price": "1.00"}, KEY, NONCE)
    data = {"right": right, "swapped": other, None: None}[encrypted]
    with pytest.raises(DecryptionFailed) as failed:
        open_sealed(data, key, commitment)
    assert failed.value.cause == cause
