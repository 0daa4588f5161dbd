"""Signed notes, checkpoints and cosignatures, byte for byte against other implementations'
published vectors (tests/vectors/c2sp.json: Go's sumdb/note, sum.golang.org, sigsum-go,
torchwood; each entry names its source)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from ledger.errors import BadNote
from ledger.evidence.keys import SigningKey
from ledger.log import merkle
from ledger.log.checkpoints import Checkpoint, open_checkpoint, parse_checkpoint
from ledger.log.notes import (
    COSIGNATURE_V1, ED25519, cosign, cosignature_time, open_note, parse_verifier_key, sign_note,
    split_note, verifier_key,
)

V = json.loads((Path(__file__).parent / "vectors" / "c2sp.json").read_text())


def go_signer_seed(skey: str) -> bytes:
    """The seed inside a Go signer key (PRIVATE+KEY+name+hash+base64(0x01 ‖ seed))."""
    return base64.b64decode(skey.split("+", 4)[4])[1:]


def test_go_note_is_signed_byte_for_byte():
    go = V["go_note"]
    key = SigningKey(go_signer_seed(go["skey"]))
    assert verifier_key("PeterNeumann", key.public_key) == go["vkey"]
    assert sign_note(go["text"], "PeterNeumann", key) == go["signed"]
    assert open_note(go["signed"], parse_verifier_key(go["vkey"])) == go["text"]


def test_a_second_signature_by_an_unknown_key_is_ignored_and_a_known_one_verifies():
    go = V["go_note"]
    both = go["signed"] + go["enoch_line"]
    assert open_note(both, parse_verifier_key(go["vkey"])) == go["text"]
    assert open_note(both, parse_verifier_key(go["enoch_vkey"])) == go["text"]


@pytest.mark.parametrize("mangle", [
    lambda n: n.replace("problem,", "problem;"),  # the text changed
    lambda n: n[:-5] + "AAAA\n",  # the signature changed
])
def test_a_changed_note_does_not_verify(mangle):
    go = V["go_note"]
    with pytest.raises(BadNote):
        open_note(mangle(go["signed"]), parse_verifier_key(go["vkey"]))


@pytest.mark.parametrize("note", [
    "text\n",
    "text\n\n",
    "text\n\n\u2014 PeterNeumann x08go/ZJku",  # no final newline
    "\x01text\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/Sff=\n",
    "text\n\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQ==\n",
    "text\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==\nUnexpected line.\n",
    "text\n\n" + "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQ==\n" * 101,
])
def test_malformed_notes_are_refused(note):
    with pytest.raises(BadNote):
        split_note(note)


def test_bad_verifier_keys_are_refused():
    for text in V["go_note"]["bad_vkeys"]:
        with pytest.raises(BadNote):
            parse_verifier_key(text)
    vkey = V["go_note"]["vkey"]
    for cut in range(1, len(vkey)):
        with pytest.raises(BadNote):
            parse_verifier_key(vkey[:cut])


def test_real_checkpoints_of_other_logs_open_and_parse():
    golang = V["sum_golang_org"]
    text = open_note(golang["note"], parse_verifier_key(golang["vkey"]))
    assert parse_checkpoint(text).size == 30055305
    sigsum = V["sigsum_checkpoint"]
    key = SigningKey(bytes.fromhex(sigsum["seed"]))
    assert sign_note(Checkpoint(sigsum["origin"], 10, bytes.fromhex("1c0e47") + bytes(29)).text(),
                     sigsum["origin"], key) == sigsum["signed"]
    verifier = parse_verifier_key(verifier_key(sigsum["origin"], key.public_key))
    assert open_checkpoint(sigsum["signed"], verifier).size == 10


def test_checkpoint_body_matches_go_format_tree():
    tree = V["format_tree"]
    record = hashlib.sha256(b"\x00" + tree["record"].encode()).digest()
    assert Checkpoint(tree["origin"], tree["size"], record).text() == tree["text"]
    assert parse_checkpoint(tree["text"]) == Checkpoint(tree["origin"], tree["size"], record)


@pytest.mark.parametrize("text", [
    "Log\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",  # leading zero
    "Log\n-34\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
    "Log\n123\nYmFuYW5hcw==\n",  # not 32 bytes
    "Log\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",  # no final newline
    "\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",  # no origin
    "Log\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\nextension\n",  # we sign none
])
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(BadNote):
        parse_checkpoint(text)


def test_the_empty_tree_checkpoint_has_the_empty_string_hash():
    assert Checkpoint("o", 0, merkle.EMPTY_ROOT).text() == \
        "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


def test_cosignature_v1_matches_sigsum_go_byte_for_byte():
    c = V["cosignature"]
    key = SigningKey(bytes.fromhex(c["seed"]))
    assert cosign(c["text"], c["name"], key, c["time"]) == c["line"]
    witness = parse_verifier_key(verifier_key(c["name"], key.public_key, COSIGNATURE_V1))
    assert cosignature_time(c["text"], c["line"], witness) == 1234
    with pytest.raises(BadNote):  # over another checkpoint
        cosignature_time(c["text"].replace("10", "11"), c["line"], witness)
    with pytest.raises(BadNote):  # a note key (0x01) is not a cosignature key
        cosignature_time(c["text"], c["line"],
                         parse_verifier_key(verifier_key(c["name"], key.public_key, ED25519)))
