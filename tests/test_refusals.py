"""Every refusal of the write path: a clear, typed error, and nothing written."""

from __future__ import annotations

from dataclasses import replace

import pytest

from datetime import timedelta

from conftest import INTAKE, bid
from ledger import errors
from ledger.evidence.canonical import format_time
from ledger.evidence.envelope import SignedAction
from ledger.evidence.keys import SigningKey
from ledger.evidence.signer import ActorSigner
from ledger.ledger import MAX_PAYLOAD_BYTES


def refused(world, signed, error_type, *, message: str = ""):
    before = world.raw.counts()
    with pytest.raises(error_type) as caught:
        world.ledger.submit(*signed) if isinstance(signed, list) else world.ledger.submit(signed)
    assert world.raw.counts() == before, "a refused append wrote something"
    assert message in caught.value.message
    assert caught.value.code == error_type.code
    return caught.value


STREAM = "project:ZZ-2025-002"


def test_unknown_actor(world):
    ghost = ActorSigner("ghost-7", SigningKey.derived(b"t", "ghost"))
    refused(world, world.sign(ghost, STREAM, "project.intake/v1", INTAKE), errors.UnknownActor,
            message="'ghost-7' is not registered")


def test_unknown_key(world):
    impostor = ActorSigner("bidder-1", SigningKey.derived(b"t", "other key"))
    refused(world, world.sign(impostor, STREAM, "project.intake/v1", INTAKE), errors.UnknownKey,
            message="has no registered key")


def test_revoked_key(world):
    bidder = world.actors["bidder-1"]
    world.submit(world.registrar, "actor:bidder-1", "actor.key-revoked/v1",
                 {"key_id": bidder.key.key_id, "reason": "lost USB key (CA 锁丢失)"})
    refused(world, world.sign(bidder, STREAM, "project.intake/v1", INTAKE), errors.KeyRevoked,
            message="was revoked at")


def test_an_actor_may_revoke_its_own_key_but_not_anothers(world):
    b1, b2 = world.actors["bidder-1"], world.actors["bidder-2"]
    refused(world, world.sign(b2, "actor:bidder-1", "actor.key-revoked/v1",
                              {"key_id": b1.key.key_id, "reason": "spite"}), errors.NotPermitted)
    world.submit(b1, "actor:bidder-1", "actor.key-revoked/v1",
                 {"key_id": b1.key.key_id, "reason": "compromised"})
    assert world.ledger.stream("actor:bidder-1").actor.keys[b1.key.key_id].revoked_at


def test_rotated_key_replaces_the_old_one(world):
    old = world.actors["bidder-1"]
    new = SigningKey.derived(b"t", "bidder-1 new")
    from ledger.evidence.keys import encode_public_key

    world.submit(old, "actor:bidder-1", "actor.key-rotated/v1",
                 {"old_key_id": old.key.key_id, "key_id": new.key_id,
                  "public_key": encode_public_key(new.public_key)})
    world.open_project(STREAM)
    refused(world, world.sign(old, STREAM, "project.bid-submitted/v1", bid("bidder-1")),
            errors.KeyRevoked)
    world.submit(ActorSigner("bidder-1", new), STREAM, "project.bid-submitted/v1", bid("bidder-1"))


def test_expired_key(world):
    late = world.register("bidder-9", not_after="2025-03-04T00:00:00.000000Z")
    world.open_project(STREAM)
    world.submit(late, STREAM, "project.bid-submitted/v1", bid("bidder-9", 1))  # still valid
    world.clock.advance(days=2)
    refused(world, world.sign(late, STREAM, "project.bid-submitted/v1", bid("bidder-9")),
            errors.KeyNotValid, message="expired at 2025-03-04T00:00:00Z")


def test_bad_signature(world):
    signed = world.sign(world.actors["bidder-1"], STREAM, "project.intake/v1", INTAKE)
    tampered = SignedAction(replace(signed.action, payload={**INTAKE, "title": "改过的标题"}),
                            signed.signature)
    refused(world, tampered, errors.BadSignature, message="does not verify")


def test_reused_nonce(world):
    bidder = world.actors["bidder-1"]
    world.open_project(STREAM)
    first = world.sign(bidder, STREAM, "project.bid-submitted/v1", bid("bidder-1"))
    world.ledger.submit(first)
    again = replace(first.action, payload=bid("bidder-1", 2))
    refused(world, SignedAction(again, bidder.key.sign(again.signing_bytes())),
            errors.NonceReused, message="nonce")


def test_reused_nonce_within_one_append(world):
    bidder = world.actors["bidder-1"]
    world.open_project(STREAM)
    first = world.sign(bidder, STREAM, "project.bid-submitted/v1", bid("bidder-1"))
    second = replace(first.action, payload=bid("bidder-1", 2))
    refused(world, [first, SignedAction(second, bidder.key.sign(second.signing_bytes()))],
            errors.NonceReused)


def test_stale_version(world, project):
    refused(world, world.sign(world.actors["tenderee-1"], project,
                              "project.clarification-issued/v1",
                              {"document_hash": "c" * 64, "affects_bids": False}, version=3),
            errors.StaleVersion, message="is at version 10, the action expected 3")


@pytest.mark.parametrize("type_, payload, version, message", [
    ("project.bid-submitted/v1", bid("bidder-1", 99), 10, "expected_version must be null"),
    ("project.documents-obtained/v1", {"bidder": "bidder-1", "document_hash": "d" * 64}, 0,
     "expected_version must be null"),
    ("project.clarification-issued/v1", {"document_hash": "c" * 64, "affects_bids": False},
     None, "expected_version is not a non-negative integer"),
])
def test_a_version_is_named_by_exactly_the_actions_that_must_name_one(world, project, type_,
                                                                     payload, version, message):
    """evidence-format §6: a bidder's sealed-stage action names no version (null), every
    other action names one; either the other way round is malformed, signature and all."""
    signer = world.actors["bidder-1" if type_ != "project.clarification-issued/v1" else "tenderee-1"]
    action = replace(world.sign(signer, project, type_, payload).action, expected_version=version)
    refused(world, SignedAction(action, signer.key.sign(action.signing_bytes())),
            errors.MalformedAction, message=message)


@pytest.mark.parametrize("payload, message", [
    ({**INTAKE, "control_price": 167014800.5}, "floats are not allowed"),
    ({**INTAKE, "control_price": "167014800.5"}, "payload.control_price is not a valid money"),
    ({**INTAKE, "deadline": "soon"}, "payload.deadline is not a field"),
    ({k: v for k, v in INTAKE.items() if k != "title"}, "payload.title is missing"),
    ({**INTAKE, "big": 2**60}, "integer outside"),
    ({**INTAKE, "category": "lottery"}, "payload.category is not a valid category"),
])
def test_malformed_payload(world, payload, message):
    """Checked before the signature: a client that skipped its own checks gets the reason."""
    signed = world.sign(world.actors["tenderee-1"], STREAM, "project.intake/v1", INTAKE)
    refused(world, SignedAction(replace(signed.action, payload=payload), signed.signature),
            errors.MalformedAction, message=message)


def test_unknown_type_and_wrong_stream(world):
    t = world.actors["tenderee-1"]
    refused(world, world.sign(t, STREAM, "project.lottery/v1", {}), errors.MalformedAction,
            message="not a known event type")
    refused(world, world.sign(t, "actor:bidder-1", "project.intake/v1", INTAKE),
            errors.MalformedAction, message="belongs in a project stream")
    refused(world, world.sign(t, STREAM, "project.bid-submitted/v1", bid("x")),
            errors.MalformedAction, message="must start with its opening event")


def test_oversized_payload(world):
    payload = {**INTAKE, **{f"f{i}": "x" * 1000 for i in range(70)}}  # ~70 KB
    error = refused(world, world.sign(world.actors["bidder-1"], STREAM, "project.intake/v1",
                                      payload), errors.OversizedPayload)
    assert error.details["limit"] == MAX_PAYLOAD_BYTES


def test_only_a_registrar_registers_actors(world):
    refused(world, world.sign(world.actors["bidder-1"], "actor:mallory", "actor.registered/v1",
                              {"name": "M", "roles": ["registrar"], "organisation": "X"}),
            errors.NotPermitted, message="only a registrar")


def test_one_bad_action_refuses_the_whole_append(world):
    t = world.actors["tenderee-1"]
    good = world.sign(t, STREAM, "project.intake/v1", INTAKE)
    second = world.actors["operator-1"].sign(STREAM, "project.intake-accepted/v1", {},
                                             expected_version=5, signed_at=world.clock.now())
    refused(world, [good, second], errors.StaleVersion)
    assert world.ledger.stream_version(STREAM) == 0


def test_several_events_in_one_append_chain_and_share_a_transaction(world):
    t, o, b = world.actors["tenderee-1"], world.actors["operator-1"], world.actors["bidder-1"]
    now = world.clock.now()
    opening = [
        (t, "project.intake/v1", INTAKE), (o, "project.intake-accepted/v1", {}),
        (t, "project.announced/v1", {"documents_from": format_time(now),
                                     "documents_until": format_time(now + timedelta(days=7)),
                                     "bid_deadline": format_time(now + timedelta(days=25))}),
        (t, "project.documents-issued/v1", {"document_hash": "d" * 64, "edition": 1})]
    batch = [signer.sign(STREAM, type_, payload, expected_version=n, signed_at=now)
             for n, (signer, type_, payload) in enumerate(opening)] + [
        b.sign(STREAM, "project.bid-submitted/v1", bid("bidder-1", n), expected_version=n + 4,
               signed_at=now) for n in range(96)]
    receipts = world.ledger.submit(*batch)
    assert [r.version for r in receipts] == list(range(1, 101))
    assert len({r.position for r in receipts}) == 100
    assert world.ledger.stream(STREAM, fresh=True).head == receipts[-1].event_hash


@pytest.mark.parametrize("change, message", [
    ({"control_price": "1.00\n"}, "payload.control_price is not a valid money"),
    ({"tenderee": "tenderee-1\n"}, "payload.tenderee is not a valid id"),
])
def test_values_must_match_their_format_exactly(world, change, message):
    refused(world, world.sign(world.actors["tenderee-1"], STREAM, "project.intake/v1",
                              {**INTAKE, **change}), errors.MalformedAction, message=message)


def test_text_that_is_not_unicode_is_refused_by_client_and_ledger(world):
    from ledger.evidence.canonical import NotLedgerJSON

    t = world.actors["tenderee-1"]
    with pytest.raises(NotLedgerJSON, match="lone surrogate"):  # the client cannot sign it
        world.sign(t, STREAM, "project.intake/v1", {**INTAKE, "title": "\ud800"})
    signed = world.sign(t, STREAM, "project.intake/v1", INTAKE)  # nor smuggle it in after
    forged = SignedAction(replace(signed.action, payload={**INTAKE, "title": "\ud800"}),
                          signed.signature)
    refused(world, forged, errors.MalformedAction, message="lone surrogate")


def test_a_stream_name_with_a_trailing_newline_is_refused(world):
    refused(world, world.sign(world.actors["tenderee-1"], STREAM + "\n", "project.intake/v1",
                              INTAKE), errors.MalformedAction, message="is not 'project:<id>'")


def test_times_take_ascii_digits_only(world):
    t = world.actors["tenderee-1"]
    world.submit(t, STREAM, "project.intake/v1", INTAKE)
    refused(world, world.sign(t, STREAM, "project.announced/v1",
                              {"bid_deadline": "２０２５-03-24T01:00:00.000000Z"}),
            errors.MalformedAction, message="payload.bid_deadline is not a valid time")
