"""The actors the benchmarks sign with: a tenderee, an operator and bidders, each with a key
of its own, registered in one append by the ledger as registrar."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.evidence.envelope import LEDGER_ACTOR, actor_stream
from ledger.evidence.keys import SigningKey, encode_public_key
from ledger.evidence.signer import ActorSigner


def register_cast(ledger, bidders: int, *, digits: int = 2, suffix: str = ""
                  ) -> tuple[ActorSigner, ActorSigner, list[ActorSigner]]:
    """(tenderee, operator, bidders), registered with their keys on `ledger`; ids such as
    bench-bidder-07 (`digits` wide, `suffix` after the tenderee's and operator's)."""
    registrar = ActorSigner(LEDGER_ACTOR, ledger.key)
    tenderee = ActorSigner(f"bench-tenderee{suffix}", SigningKey.generate())
    operator = ActorSigner(f"bench-operator{suffix}", SigningKey.generate())
    cast = [ActorSigner(f"bench-bidder-{i:0{digits}d}", SigningKey.generate())
            for i in range(bidders)]
    setup = []
    for signer, role in [(tenderee, "tenderee"), (operator, "operator")] + [
            (b, "bidder") for b in cast]:
        stream = actor_stream(signer.actor)
        now = datetime.now(UTC)
        setup += [registrar.sign(stream, "actor.registered/v1", {
            "name": f"Bench {signer.actor}", "roles": [role],
            "organisation": f"Bench organisation of {signer.actor}"},
            expected_version=0, signed_at=now),
            registrar.sign(stream, "actor.key-added/v1", {
                "key_id": signer.key.key_id,
                "public_key": encode_public_key(signer.key.public_key)},
                expected_version=1, signed_at=now)]
    ledger.submit(*setup)
    return tenderee, operator, cast
